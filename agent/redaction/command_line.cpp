#include "redaction/command_line.h"

#include <algorithm>
#include <array>
#include <utility>
#include <vector>

#include "redaction/secrets.h"

namespace shadowmeter::redaction {
namespace {

// Coding agents and chat tools that take the prompt as a positional argument.
constexpr std::array<std::string_view, 24> kAiClis{
    "claude",  "codex",   "gemini", "crush",  "opencode", "aider", "llm",          "ollama",
    "sgpt",    "aichat",  "mods",   "fabric", "goose",    "amp",   "cursor-agent", "qwen",
    "copilot", "chatgpt", "tgpt",   "kiro",   "cline",    "q",     "shell-gpt",    "openai"};

bool alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool name_char(char c) { return alpha(c) || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'; }
bool space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// "claude" for /usr/local/bin/claude, .../claude-code/cli.js is not recognised (the shebang's
// argv carries the link name: node /usr/local/bin/claude).
std::string_view program_name(std::string_view path) {
  path = path.substr(path.rfind('/') == std::string_view::npos ? 0 : path.rfind('/') + 1);
  for (std::string_view ext : {".js", ".mjs", ".cjs", ".py", ".ts"}) {
    if (path.size() > ext.size() && path.ends_with(ext)) return path.substr(0, path.size() - ext.size());
  }
  return path;
}

bool ai_cli(std::string_view arg) {
  const std::string_view n = program_name(arg);
  return std::find(kAiClis.begin(), kAiClis.end(), n) != kAiClis.end();
}

bool flag_like(std::string_view a) { return a.size() >= 2 && a[0] == '-'; }

std::string_view flag_name(std::string_view a) {
  while (!a.empty() && a.front() == '-') a.remove_prefix(1);
  return a.substr(0, a.find('='));
}

// Flags whose value is a request body or a prompt (curl, wget, httpie-likes, AI CLIs).
bool body_flag(std::string_view name) {
  return name == "d" || name == "p" || name.starts_with("data") || name == "json" || name == "message" ||
         name == "msg" || name == "body" || name.find("prompt") != std::string_view::npos;
}

bool free_text(std::string_view v) {
  if (std::any_of(v.begin(), v.end(), space)) return true;
  return !v.empty() && (v.front() == '{' || v.front() == '[');
}

std::size_t utf8_chars(std::string_view v) {
  return static_cast<std::size_t>(std::count_if(
      v.begin(), v.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

bool long_free_text(std::string_view v) { return utf8_chars(v) > kShortArgument && free_text(v); }

void append_length(std::string& out, std::string_view v) {
  out += '<';
  out += std::to_string(utf8_chars(v));
  out += " chars>";
}

// Where the value of "NAME=value", "--flag=value" or "Header-Name: value" starts; 0 when the
// argument has no such shape.
std::size_t value_start(std::string_view a) {
  std::size_t i = 0;
  while (i < a.size() && (name_char(a[i]) || (i < 2 && a[i] == '-'))) ++i;
  if (i == 0 || i >= a.size()) return 0;
  if (a[i] == '=') return i + 1;
  if (a[i] != ':' || (i + 1 < a.size() && a[i + 1] == '/')) return 0;
  ++i;
  while (i < a.size() && space(a[i])) ++i;
  return i;
}

void cut_utf8(std::string& s, std::size_t n) {
  while (n > 0 && n < s.size() && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  s.resize(n);
}

class Formatter {
 public:
  Formatter(std::string_view raw, CommandLineMode mode) : mode_(mode) {
    scan_.aws_key_id_seen = has_aws_key_id(raw);
  }

  void secret_redacted(std::string_view a) {
    ranges_.clear();
    find_secrets(a, scan_, ranges_);
    append_with_ranges_redacted(out_, a, ranges_);
  }

  // One argument; `index` counts from argv[0].
  void argument(std::string_view a, std::size_t index) {
    const Pending pending = std::exchange(pending_, Pending::none);
    if (pending == Pending::secret && !a.empty() && a.front() != '-') {
      out_.append(kRedacted);  // the value of "--api-key X"
      return;
    }
    if (pending == Pending::body) {
      append_length(out_, a);
      return;
    }
    if (index == 0) cli_at_ = ai_cli(a) ? 0 : kNone;
    if (index == 1 && cli_at_ == kNone && !flag_like(a) && ai_cli(a)) cli_at_ = 1;  // node /usr/bin/claude

    const bool flag = flag_like(a);
    if (flag && a.find('=') == std::string_view::npos && a.find(':') == std::string_view::npos) {
      if (secret_name(a))
        pending_ = Pending::secret;
      else if (mode_ == CommandLineMode::redacted && body_flag(flag_name(a)))
        pending_ = Pending::body;
    }
    if (mode_ == CommandLineMode::full || index == 0) {
      secret_redacted(a);
      return;
    }
    // redacted: the executable and flag names stay, free text goes.
    if (flag && a[1] != '-' && a.size() > 2 && (a[1] == 'd' || a[1] == 'p') && !alpha(a[2])) {
      out_.append(a.substr(0, 2));  // curl's -d{"messages":...} / -d@body.json
      append_length(out_, a.substr(2));
      return;
    }
    if (const std::size_t v = value_start(a); v != 0) {
      const std::string_view value = a.substr(v);
      // A secret-named header or variable keeps its name and scheme ("Authorization: Bearer ***").
      const bool secret = secret_name(a.substr(0, v));
      if (!secret && ((flag && body_flag(flag_name(a))) || long_free_text(value))) {
        secret_redacted(a.substr(0, v));
        append_length(out_, value);
      } else {
        secret_redacted(a);  // a short value: "x-api-key: ..." still loses its key here
      }
      return;
    }
    const bool prompt_position = cli_at_ != kNone && index > cli_at_ && !flag && free_text(a);
    if (!flag && (long_free_text(a) || prompt_position)) {
      append_length(out_, a);
      return;
    }
    secret_redacted(a);
  }

  std::string& out() { return out_; }

 private:
  enum class Pending : unsigned char { none, secret, body };
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);

  CommandLineMode mode_;
  SecretScan scan_;
  std::vector<Range> ranges_;
  std::string out_;
  Pending pending_ = Pending::none;
  std::size_t cli_at_ = kNone;  // argv index of a known AI CLI's name
};

}  // namespace

std::optional<CommandLineMode> parse_command_line_mode(std::string_view s) {
  if (s == "full") return CommandLineMode::full;
  if (s == "redacted") return CommandLineMode::redacted;
  if (s == "executable") return CommandLineMode::executable;
  return std::nullopt;
}

const char* to_string(CommandLineMode m) {
  switch (m) {
    case CommandLineMode::full:
      return "full";
    case CommandLineMode::redacted:
      return "redacted";
    case CommandLineMode::executable:
      return "executable";
  }
  return "redacted";
}

std::string format_command_line(std::string_view raw, CommandLineMode mode, std::size_t max_len,
                                bool argv_cut) {
  Formatter f(raw, mode);
  std::string& out = f.out();
  for (std::size_t index = 0; !raw.empty() && out.size() <= max_len; ++index) {
    if (index == 1 && mode == CommandLineMode::executable) break;
    const auto nul = raw.find('\0');
    const std::string_view arg = raw.substr(0, nul);
    raw = nul == std::string_view::npos ? std::string_view{} : raw.substr(nul + 1);
    if (index > 0) out.push_back(' ');
    if (argv_cut && raw.empty()) {
      out.append("...");
      break;
    }
    f.argument(arg, index);
  }
  if (out.size() > max_len) {
    constexpr std::string_view kEllipsis = "...";
    if (max_len < kEllipsis.size()) {
      cut_utf8(out, max_len);
    } else {
      cut_utf8(out, max_len - kEllipsis.size());
      out.append(kEllipsis);
    }
  }
  return std::move(out);
}

}  // namespace shadowmeter::redaction
