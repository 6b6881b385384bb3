#include "common/log.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace shadowmeter::log {
namespace {
std::atomic<int> g_level{static_cast<int>(Level::info)};

// sd-daemon(3) priority prefixes: journald stores them as the entry's priority (and strips them).
const char* journal_prefix(Level l) {
  switch (l) {
    case Level::debug: return "<7>";
    case Level::info: return "<6>";
    case Level::warn: return "<4>";
    case Level::error: return "<3>";
  }
  return "";
}

// Elsewhere (terminal, file, container runtime) the level is written out.
const char* text_prefix(Level l) {
  switch (l) {
    case Level::debug: return "debug: ";
    case Level::info: return "info: ";
    case Level::warn: return "warning: ";
    case Level::error: return "error: ";
  }
  return "";
}

bool detect_journal() {
  const char* env = std::getenv("JOURNAL_STREAM");
  struct stat st {};
  if (!env || ::fstat(STDERR_FILENO, &st) != 0) return false;
  return journal_stream_matches(env, static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino));
}

// Decided once: stderr does not change its destination while we run.
bool to_journal() {
  static const bool journal = detect_journal();
  return journal;
}
}  // namespace

bool journal_stream_matches(std::string_view journal_stream, std::uint64_t dev, std::uint64_t ino) {
  // systemd.exec(5): "DEVICE:INODE" in decimal, of the stream it connected stdout/stderr to.
  const auto colon = journal_stream.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == journal_stream.size()) return false;
  auto parse = [](std::string_view digits, std::uint64_t& out) {
    if (digits.size() > 20) return false;
    out = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return false;
      const std::uint64_t next = out * 10 + static_cast<std::uint64_t>(c - '0');
      if (next / 10 != out) return false;  // overflow
      out = next;
    }
    return true;
  };
  std::uint64_t d = 0, i = 0;
  return parse(journal_stream.substr(0, colon), d) && parse(journal_stream.substr(colon + 1), i) && d == dev &&
         i == ino;
}

std::string format_line(Level l, std::string_view msg, bool journal) {
  std::string line = journal ? journal_prefix(l) : text_prefix(l);
  if (!journal) {
    line.append(msg);
  } else {
    // journald makes an entry of each line: every line of a multi-line message carries the priority.
    for (char c : msg) {
      line.push_back(c);
      if (c == '\n') line += journal_prefix(l);
    }
  }
  line.push_back('\n');
  return line;
}

void set_level(Level l) { g_level.store(static_cast<int>(l)); }

bool parse_level(std::string_view s, Level& out) {
  if (s == "debug") out = Level::debug;
  else if (s == "info") out = Level::info;
  else if (s == "warn" || s == "warning") out = Level::warn;
  else if (s == "error") out = Level::error;
  else return false;
  return true;
}

bool enabled(Level l) { return static_cast<int>(l) >= g_level.load(); }

void write(Level l, std::string_view msg) {
  if (!enabled(l)) return;
  const std::string line = format_line(l, msg, to_journal());
  // One write(2) per line so lines from several threads never interleave.
  [[maybe_unused]] auto n = ::write(STDERR_FILENO, line.data(), line.size());
}

void RateLimit::write(Level l, std::string_view msg) {
  auto now = std::chrono::steady_clock::now();
  if (now - window_start_ >= period_) {
    window_start_ = now;
    in_window_ = 0;
  }
  if (in_window_ >= burst_) {
    ++suppressed_;
    return;
  }
  ++in_window_;
  if (suppressed_ > 0) {
    log::write(l, std::string(msg) + " (" + std::to_string(suppressed_) + " similar messages suppressed)");
    suppressed_ = 0;
  } else {
    log::write(l, msg);
  }
}

}  // namespace shadowmeter::log
