#include "server/query_params.h"

#include <charconv>
#include <set>

namespace shadowmeter::collector {
namespace {

constexpr std::size_t kMaxLimit = 1000;

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string decode_component(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%') {
      const int hi = i + 2 < s.size() ? hex_digit(s[i + 1]) : -1;
      const int lo = i + 2 < s.size() ? hex_digit(s[i + 2]) : -1;
      if (hi < 0 || lo < 0) throw QueryError("bad %-escape in the query string");
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

// Fixed-width decimal field of an RFC 3339 time; -1 when not digits.
int field(std::string_view s, std::size_t pos, std::size_t width) {
  if (pos + width > s.size() || !all_digits(s.substr(pos, width))) return -1;
  int v = 0;
  for (std::size_t i = 0; i < width; ++i) v = v * 10 + (s[pos + i] - '0');
  return v;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

// A client-supplied name as it may appear in an error message.
std::string shown(const std::string& key) {
  std::string out = key.substr(0, 40);
  for (char& c : out)
    if (c < 0x20 || c >= 0x7f) c = '?';
  return out;
}

bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

std::uint64_t parse_rfc3339(std::string_view param, std::string_view v) {
  const auto bad = [&]() -> QueryError {
    return QueryError(std::string(param) +
                      ": expected unix nanoseconds or an RFC 3339 time such as 2026-08-01T12:00:00Z");
  };
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)
  if (v.size() < 20 || v[4] != '-' || v[7] != '-' || (v[10] != 'T' && v[10] != 't') || v[13] != ':' ||
      v[16] != ':')
    throw bad();
  const int year = field(v, 0, 4), month = field(v, 5, 2), day = field(v, 8, 2);
  const int hour = field(v, 11, 2), minute = field(v, 14, 2), second = field(v, 17, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59 ||
      second < 0 || second > 60)
    throw bad();
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const int month_days = kDays[month - 1] + (month == 2 && leap(year) ? 1 : 0);
  if (day > month_days) throw bad();
  std::size_t pos = 19;
  std::uint64_t frac_nanos = 0;
  if (pos < v.size() && v[pos] == '.') {
    ++pos;
    std::size_t digits = 0;
    while (pos < v.size() && v[pos] >= '0' && v[pos] <= '9') {
      if (digits < 9) frac_nanos = frac_nanos * 10 + static_cast<std::uint64_t>(v[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) throw bad();
    for (std::size_t i = digits; i < 9; ++i) frac_nanos *= 10;
  }
  std::int64_t offset_seconds = 0;
  if (pos < v.size() && (v[pos] == 'Z' || v[pos] == 'z')) {
    ++pos;
  } else if (pos < v.size() && (v[pos] == '+' || v[pos] == '-')) {
    const int oh = field(v, pos + 1, 2), om = field(v, pos + 4, 2);
    if (oh < 0 || oh > 23 || om < 0 || om > 59 || pos + 3 >= v.size() || v[pos + 3] != ':') throw bad();
    offset_seconds = (v[pos] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    pos += 6;
  } else {
    throw bad();
  }
  if (pos != v.size()) throw bad();
  // A leap second (:60) is read as the first second of the next minute.
  const std::int64_t secs =
      days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 + hour * 3600 +
      minute * 60 + second - offset_seconds;
  if (secs < 0) throw QueryError(std::string(param) + ": times before 1970 are not stored");
  // Year 9999 is far below 2^64 nanoseconds (year 2554), but check anyway.
  if (static_cast<std::uint64_t>(secs) > (UINT64_MAX - frac_nanos) / 1000000000ull)
    throw QueryError(std::string(param) + ": time out of range");
  return static_cast<std::uint64_t>(secs) * 1000000000ull + frac_nanos;
}

bool parse_bool(std::string_view param, std::string_view v) {
  if (v == "true") return true;
  if (v == "false") return false;
  throw QueryError(std::string(param) + ": must be true or false");
}

std::size_t parse_limit(std::string_view v) {
  std::size_t n = 0;
  const auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ec != std::errc() || ptr != v.data() + v.size() || n < 1 || n > kMaxLimit)
    throw QueryError("limit: must be a whole number from 1 to " + std::to_string(kMaxLimit));
  return n;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> parse_query_string(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    query.remove_prefix(amp == std::string_view::npos ? query.size() : amp + 1);
    if (part.empty()) continue;
    const auto eq = part.find('=');
    out.emplace_back(decode_component(part.substr(0, eq)),
                     eq == std::string_view::npos ? std::string() : decode_component(part.substr(eq + 1)));
  }
  return out;
}

std::uint64_t parse_time_param(std::string_view param, std::string_view value) {
  if (all_digits(value)) {
    std::uint64_t n = 0;
    const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || ptr != value.data() + value.size())
      throw QueryError(std::string(param) + ": number of nanoseconds out of range");
    return n;
  }
  return parse_rfc3339(param, value);
}

CallFilter parse_calls_query(std::string_view query) {
  CallFilter f;
  std::set<std::string> seen;
  for (const auto& [key, value] : parse_query_string(query)) {
    if (!seen.insert(key).second) throw QueryError(shown(key) + ": given more than once");
    if (key == "from") {
      f.from_unix_nano = parse_time_param(key, value);
    } else if (key == "to") {
      f.to_unix_nano = parse_time_param(key, value);
    } else if (key == "provider") {
      f.provider = value;
    } else if (key == "model") {
      f.model = value;
    } else if (key == "namespace") {
      f.k8s_namespace = value;
    } else if (key == "owner") {
      f.owner = value;
    } else if (key == "host") {
      f.host = value;
    } else if (key == "fingerprint") {
      f.api_key_fingerprint = value;
    } else if (key == "shadow") {
      f.shadow = parse_bool(key, value);
    } else if (key == "limit") {
      f.limit = parse_limit(value);
    } else if (key == "cursor") {
      f.cursor = value;
    } else {
      throw QueryError(
          "unknown parameter '" + shown(key) +
          "' (from, to, provider, model, namespace, owner, host, fingerprint, shadow, limit, cursor)");
    }
  }
  if (f.from_unix_nano && f.to_unix_nano && *f.from_unix_nano >= *f.to_unix_nano)
    throw QueryError("from: must be before to");
  return f;
}

}  // namespace shadowmeter::collector
