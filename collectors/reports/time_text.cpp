#include "reports/time_text.h"

#include <time.h>

#include <cctype>
#include <ctime>
#include <limits>
#include <stdexcept>

namespace shadowmeter::collector::reports {
namespace {

bool all_digits(const std::string& s, std::size_t from, std::size_t n) {
  if (from + n > s.size()) return false;
  for (std::size_t i = from; i < from + n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

int number(const std::string& s, std::size_t from, std::size_t n) { return std::stoi(s.substr(from, n)); }

// Seconds since the epoch of a UTC civil time, refusing fields out of range (timegm would normalise
// "2026-02-31" silently).
std::int64_t civil_seconds(int y, int mo, int d, int h, int mi, int s) {
  if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 60)
    throw std::invalid_argument("date or time out of range");
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (d > kDays[mo - 1] + (mo == 2 && leap ? 1 : 0)) throw std::invalid_argument("no such day");
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return static_cast<std::int64_t>(timegm(&tm));
}

std::uint64_t to_nano(std::int64_t seconds, std::uint64_t fraction_ns) {
  if (seconds < 0) throw std::invalid_argument("times before 1970 are not accepted");
  return static_cast<std::uint64_t>(seconds) * kSecondNs + fraction_ns;
}

std::string format(std::uint64_t unix_nano, const char* pattern) {
  const auto secs = static_cast<time_t>(unix_nano / kSecondNs);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof(buf), pattern, &tm);
  return buf;
}

}  // namespace

std::uint64_t parse_time_text(const std::string& t) {
  if (t.empty()) throw std::invalid_argument("empty time");
  if (all_digits(t, 0, t.size())) {
    if (t.size() > 19) throw std::invalid_argument("nanoseconds out of range");
    const unsigned long long v = std::stoull(t);
    if (v > static_cast<unsigned long long>(std::numeric_limits<std::int64_t>::max()))
      throw std::invalid_argument("nanoseconds out of range");
    return v;
  }
  const bool date_shape = t.size() >= 10 && all_digits(t, 0, 4) && t[4] == '-' && all_digits(t, 5, 2) &&
                          t[7] == '-' && all_digits(t, 8, 2);
  if (!date_shape) throw std::invalid_argument("expected RFC 3339, YYYY-MM-DD or nanoseconds");
  const int y = number(t, 0, 4), mo = number(t, 5, 2), d = number(t, 8, 2);
  if (t.size() == 10) return to_nano(civil_seconds(y, mo, d, 0, 0, 0), 0);
  if (t.size() < 20 || (t[10] != 'T' && t[10] != 't' && t[10] != ' ') || !all_digits(t, 11, 2) ||
      t[13] != ':' || !all_digits(t, 14, 2) || t[16] != ':' || !all_digits(t, 17, 2))
    throw std::invalid_argument("expected RFC 3339 (2026-11-01T00:00:00Z)");
  std::int64_t secs = civil_seconds(y, mo, d, number(t, 11, 2), number(t, 14, 2), number(t, 17, 2));
  std::size_t i = 19;
  std::uint64_t fraction = 0;
  if (t[i] == '.') {
    ++i;
    std::uint64_t scale = 100000000;
    const std::size_t digits_from = i;
    for (; i < t.size() && std::isdigit(static_cast<unsigned char>(t[i])); ++i) {
      fraction += static_cast<std::uint64_t>(t[i] - '0') * scale;
      scale /= 10;
    }
    if (i == digits_from || i - digits_from > 9) throw std::invalid_argument("bad fraction of a second");
  }
  const std::string zone = t.substr(i);
  if (zone == "Z" || zone == "z") return to_nano(secs, fraction);
  if (zone.size() != 6 || (zone[0] != '+' && zone[0] != '-') || !all_digits(zone, 1, 2) || zone[3] != ':' ||
      !all_digits(zone, 4, 2))
    throw std::invalid_argument("expected a zone: Z or +hh:mm");
  const int offset = number(zone, 1, 2) * 3600 + number(zone, 4, 2) * 60;
  if (number(zone, 1, 2) > 23 || number(zone, 4, 2) > 59) throw std::invalid_argument("bad zone offset");
  secs += zone[0] == '+' ? -offset : offset;
  return to_nano(secs, fraction);
}

std::string rfc3339(std::uint64_t unix_nano) { return format(unix_nano, "%Y-%m-%dT%H:%M:%SZ"); }
std::string utc_day(std::uint64_t unix_nano) { return format(unix_nano, "%Y-%m-%d"); }
std::uint64_t day_floor(std::uint64_t unix_nano) { return unix_nano - unix_nano % kDayNs; }
std::uint64_t day_ceil(std::uint64_t unix_nano) {
  return unix_nano % kDayNs == 0 ? unix_nano : day_floor(unix_nano) + kDayNs;
}

std::uint64_t day_start(const std::string& day) {
  if (day.size() != 10) throw std::invalid_argument("expected YYYY-MM-DD");
  return parse_time_text(day);
}

std::uint64_t month_start(std::uint64_t unix_nano) {
  const auto secs = static_cast<time_t>(unix_nano / kSecondNs);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return to_nano(civil_seconds(tm.tm_year + 1900, tm.tm_mon + 1, 1, 0, 0, 0), 0);
}

std::uint64_t next_month_start(std::uint64_t unix_nano) {
  const auto secs = static_cast<time_t>(unix_nano / kSecondNs);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  const int y = tm.tm_year + 1900 + (tm.tm_mon == 11 ? 1 : 0);
  const int m = tm.tm_mon == 11 ? 1 : tm.tm_mon + 2;
  return to_nano(civil_seconds(y, m, 1, 0, 0, 0), 0);
}

}  // namespace shadowmeter::collector::reports
