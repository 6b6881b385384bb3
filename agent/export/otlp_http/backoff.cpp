#include "export/otlp_http/backoff.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <ctime>

namespace shadowmeter::exporting::otlp_http {
namespace {

constexpr std::chrono::seconds kMaxRetryAfter{24 * 3600};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A fixed-width decimal field; false unless it is exactly `width` digits.
bool number(std::string_view s, std::size_t width, int& out) {
  if (s.size() != width || !all_digits(s)) return false;
  std::from_chars(s.data(), s.data() + s.size(), out);
  return true;
}

int month_index(std::string_view m) {
  static constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (std::size_t i = 0; i < kMonths.size(); ++i)
    if (kMonths[i] == m) return static_cast<int>(i);
  return -1;
}

bool is_day_name(std::string_view d, bool long_form) {
  static constexpr std::array<std::string_view, 7> kShort = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
  static constexpr std::array<std::string_view, 7> kLong = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                                            "Friday", "Saturday", "Sunday"};
  const auto& names = long_form ? kLong : kShort;
  return std::find(names.begin(), names.end(), d) != names.end();
}

// "08:49:37"
bool clock_time(std::string_view s, std::tm& tm) {
  return s.size() == 8 && s[2] == ':' && s[5] == ':' && number(s.substr(0, 2), 2, tm.tm_hour) &&
         number(s.substr(3, 2), 2, tm.tm_min) && number(s.substr(6, 2), 2, tm.tm_sec) && tm.tm_hour < 24 &&
         tm.tm_min < 60 && tm.tm_sec < 61;
}

std::optional<std::time_t> to_time(std::tm& tm) {
  if (tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_mon < 0) return std::nullopt;
  const std::time_t t = timegm(&tm);
  if (t == static_cast<std::time_t>(-1)) return std::nullopt;
  return t;
}

// "Sun, 06 Nov 1994 08:49:37 GMT" (IMF-fixdate)
std::optional<std::time_t> imf_fixdate(std::string_view s) {
  if (s.size() != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
      s[25] != ' ' || s.substr(26) != "GMT" || !is_day_name(s.substr(0, 3), false))
    return std::nullopt;
  std::tm tm{};
  int year = 0;
  tm.tm_mon = month_index(s.substr(8, 3));
  if (!number(s.substr(5, 2), 2, tm.tm_mday) || !number(s.substr(12, 4), 4, year) ||
      !clock_time(s.substr(17, 8), tm))
    return std::nullopt;
  tm.tm_year = year - 1900;
  return to_time(tm);
}

// "Sunday, 06-Nov-94 08:49:37 GMT" (RFC 850): a two-digit year that would be more than 50 years
// ahead of `now` is the most recent past year with those digits (RFC 9110 section 5.6.7).
std::optional<std::time_t> rfc850_date(std::string_view s, std::chrono::system_clock::time_point now) {
  const auto comma = s.find(',');
  if (comma == std::string_view::npos || !is_day_name(s.substr(0, comma), true)) return std::nullopt;
  s.remove_prefix(comma + 1);
  if (s.size() != 23 || s[0] != ' ' || s[3] != '-' || s[7] != '-' || s[10] != ' ' || s[19] != ' ' ||
      s.substr(20) != "GMT")
    return std::nullopt;
  std::tm tm{};
  int year = 0;
  tm.tm_mon = month_index(s.substr(4, 3));
  if (!number(s.substr(1, 2), 2, tm.tm_mday) || !number(s.substr(8, 2), 2, year) ||
      !clock_time(s.substr(11, 8), tm))
    return std::nullopt;
  const std::time_t now_t = std::chrono::system_clock::to_time_t(now);
  std::tm now_tm{};
  gmtime_r(&now_t, &now_tm);
  const int now_year = now_tm.tm_year + 1900;
  int full = now_year - now_year % 100 + year;
  if (full > now_year + 50) full -= 100;
  tm.tm_year = full - 1900;
  return to_time(tm);
}

// "Sun Nov  6 08:49:37 1994" (asctime)
std::optional<std::time_t> asctime_date(std::string_view s) {
  if (s.size() != 24 || s[3] != ' ' || s[7] != ' ' || s[10] != ' ' || s[19] != ' ' ||
      !is_day_name(s.substr(0, 3), false))
    return std::nullopt;
  std::tm tm{};
  int year = 0;
  tm.tm_mon = month_index(s.substr(4, 3));
  std::string_view day = s.substr(8, 2);
  if (day[0] == ' ') day.remove_prefix(1);
  if (!number(day, day.size(), tm.tm_mday) || !clock_time(s.substr(11, 8), tm) ||
      !number(s.substr(20, 4), 4, year))
    return std::nullopt;
  tm.tm_year = year - 1900;
  return to_time(tm);
}

std::uint64_t seed_from_device() {
  std::random_device rd;
  return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
}

}  // namespace

Backoff::Backoff(std::chrono::milliseconds min, std::chrono::milliseconds max)
    : Backoff(min, max, seed_from_device()) {}

Backoff::Backoff(std::chrono::milliseconds min, std::chrono::milliseconds max, std::uint64_t seed)
    : min_(std::max(min, std::chrono::milliseconds(1))), max_(std::max(max, min_)), rng_(seed) {}

std::chrono::milliseconds Backoff::ceiling(unsigned n) const {
  // Doubling past max is pointless: stop before the shift could overflow.
  std::chrono::milliseconds c = min_;
  for (unsigned i = 0; i < n && c < max_; ++i) c = c > max_ / 2 ? max_ : c * 2;
  return std::min(c, max_);
}

std::chrono::milliseconds Backoff::next() {
  const std::chrono::milliseconds c = ceiling(failures_);
  if (failures_ < 64) ++failures_;
  const std::chrono::milliseconds low = std::max(min_, c / 2);
  std::uniform_int_distribution<std::int64_t> pick(low.count(), c.count());
  return std::chrono::milliseconds(pick(rng_));
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::chrono::system_clock::time_point now) {
  value = trim(value);
  if (all_digits(value)) {
    // Many digits are still a valid (huge) delay: clamp rather than refuse.
    if (value.size() > 9) return kMaxRetryAfter;
    std::int64_t secs = 0;
    std::from_chars(value.data(), value.data() + value.size(), secs);
    return std::min(std::chrono::seconds(secs), kMaxRetryAfter);
  }
  std::optional<std::time_t> t = imf_fixdate(value);
  if (!t) t = rfc850_date(value, now);
  if (!t) t = asctime_date(value);
  if (!t) return std::nullopt;
  const auto at = std::chrono::system_clock::from_time_t(*t);
  if (at <= now) return std::chrono::seconds(0);
  // Round up: waiting a fraction too long is harmless, too short is a wasted request.
  const auto wait = std::chrono::ceil<std::chrono::seconds>(at - now);
  return std::min(wait, kMaxRetryAfter);
}

}  // namespace shadowmeter::exporting::otlp_http
