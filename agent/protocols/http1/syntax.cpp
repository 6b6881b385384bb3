#include "protocols/http1/syntax.h"

#include <algorithm>
#include <array>

namespace shadowmeter::http1::syntax {
namespace {

constexpr std::array<std::string_view, 9> kMethods = {"GET",     "POST",  "PUT",     "DELETE", "HEAD",
                                                      "OPTIONS", "PATCH", "CONNECT", "TRACE"};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// "HTTP/1.x" with a single digit minor version; fills version "1.x".
bool parse_version(std::string_view v, MessageHead& head) {
  if (v.size() != 8 || v.substr(0, 7) != "HTTP/1." || !is_digit(v[7])) return false;
  head.version.assign(v.substr(5));
  return true;
}

// Pattern of the first bytes of a status line: D is a digit.
constexpr std::string_view kStatusPattern = "HTTP/1.D DDD";

bool matches_status_pattern(std::string_view s) {
  for (std::size_t i = 0; i < s.size() && i < kStatusPattern.size(); ++i) {
    if (kStatusPattern[i] == 'D' ? !is_digit(s[i]) : s[i] != kStatusPattern[i]) return false;
  }
  return true;
}

}  // namespace

bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c)) return true;
  return c != '\0' && std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_known_method(std::string_view m) {
  for (auto k : kMethods) {
    if (m == k) return true;
  }
  return false;
}

bool parse_request_line(std::string_view line, MessageHead& head) {
  const auto sp1 = line.find(' ');
  if (sp1 == 0 || sp1 == std::string_view::npos) return false;
  const auto method = line.substr(0, sp1);
  for (char c : method) {
    if (!is_tchar(c)) return false;
  }
  const auto sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp2 == sp1 + 1) return false;
  const auto target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  for (char c : target) {
    // Request targets are visible ASCII (RFC 3986 plus what clients send unescaped).
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return false;
  }
  if (!parse_version(line.substr(sp2 + 1), head)) return false;
  head.is_request = true;
  head.method.assign(method);
  head.target.assign(target);
  return true;
}

bool parse_status_line(std::string_view line, MessageHead& head) {
  if (line.size() < 12 || !matches_status_pattern(line)) return false;
  if (line.size() > 12 && line[12] != ' ') return false;
  const auto reason = line.size() > 13 ? line.substr(13) : std::string_view();
  for (char c : reason) {
    if (c == '\0' || c == '\r') return false;
  }
  if (!parse_version(line.substr(0, 8), head)) return false;
  head.is_request = false;
  head.status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
  head.reason.assign(reason);
  return true;
}

bool parse_header_line(std::string_view line, Header& out) {
  const auto colon = line.find(':');
  // No colon, an empty name, or a name that is not a token; a leading SP or HTAB (obs-fold, a
  // request smuggling vector) and "name :" both fail here.
  if (colon == 0 || colon == std::string_view::npos) return false;
  const auto name = line.substr(0, colon);
  for (char c : name) {
    if (!is_tchar(c)) return false;
  }
  const auto value = trim_ows(line.substr(colon + 1));
  for (char c : value) {
    if (c == '\0' || c == '\r') return false;
  }
  out.name.resize(name.size());
  for (std::size_t i = 0; i < name.size(); ++i) out.name[i] = lower(name[i]);
  out.value.assign(value);
  return true;
}

std::optional<std::size_t> find_message_start(Role role, std::string_view line, std::size_t from,
                                              MessageHead& head) {
  if (from >= line.size()) return std::nullopt;
  if (role == Role::request) {
    // Anchored at the end: " HTTP/1.x", then the target back to the previous space, then a known
    // method right before that space. Linear in the line length.
    constexpr std::size_t kVersion = 9;  // " HTTP/1.x"
    if (line.size() < kVersion || line.substr(line.size() - kVersion, kVersion - 1) != " HTTP/1." ||
        !is_digit(line.back()))
      return std::nullopt;
    const std::size_t sp2 = line.size() - kVersion;
    if (sp2 == 0) return std::nullopt;
    const std::size_t sp1 = line.rfind(' ', sp2 - 1);
    if (sp1 == std::string_view::npos) return std::nullopt;
    for (auto m : kMethods) {
      if (sp1 < m.size() || line.substr(sp1 - m.size(), m.size()) != m) continue;
      const std::size_t start = sp1 - m.size();
      if (start < from || !parse_request_line(line.substr(start), head)) return std::nullopt;
      return start;
    }
    return std::nullopt;
  }
  // A reason phrase may hold anything but CR and NUL, so a start can only follow the last of those;
  // the first "HTTP/1.D DDD" after it is taken. Linear: the pattern test is constant time.
  const auto bad = line.find_last_of(std::string_view("\0\r", 2));
  std::size_t pos = std::max(from, bad == std::string_view::npos ? 0 : bad + 1);
  while ((pos = line.find("HTTP/1.", pos)) != std::string_view::npos) {
    const auto rest = line.substr(pos);
    if (rest.size() >= kStatusPattern.size() && matches_status_pattern(rest) &&
        (rest.size() == kStatusPattern.size() || rest[kStatusPattern.size()] == ' '))
      return parse_status_line(rest, head) ? std::optional<std::size_t>(pos) : std::nullopt;
    ++pos;
  }
  return std::nullopt;
}

std::optional<std::uint64_t> parse_content_length(std::string_view value) {
  std::optional<std::uint64_t> result;
  while (true) {
    const auto comma = value.find(',');
    const auto item = trim_ows(value.substr(0, comma));
    // 18 digits keep the value far from overflow and far above any real body.
    if (item.empty() || item.size() > 18) return std::nullopt;
    std::uint64_t n = 0;
    for (char c : item) {
      if (!is_digit(c)) return std::nullopt;
      n = n * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (result && *result != n) return std::nullopt;
    result = n;
    if (comma == std::string_view::npos) return result;
    value.remove_prefix(comma + 1);
  }
}

}  // namespace shadowmeter::http1::syntax
