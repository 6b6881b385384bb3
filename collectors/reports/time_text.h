// Times of the reports: parsed from the API's / CLI's text, written as RFC 3339 UTC and UTC days.
#pragma once

#include <cstdint>
#include <string>

namespace shadowmeter::collector::reports {

inline constexpr std::uint64_t kSecondNs = 1000000000ull;
inline constexpr std::uint64_t kDayNs = 86400ull * kSecondNs;

// RFC 3339 ("2026-11-01T00:00:00Z", "2026-11-01T02:00:00.5+02:00"), a date ("2026-11-01": UTC
// midnight) or nanoseconds since the epoch. nullopt-like failure: throws std::invalid_argument.
std::uint64_t parse_time_text(const std::string& text);

std::string rfc3339(std::uint64_t unix_nano);   // "2026-11-01T00:00:00Z" (whole seconds, UTC)
std::string utc_day(std::uint64_t unix_nano);   // "2026-11-01"
std::uint64_t day_floor(std::uint64_t unix_nano);  // UTC midnight at or before
std::uint64_t day_ceil(std::uint64_t unix_nano);   // UTC midnight at or after
// UTC midnight of "YYYY-MM-DD" (throws std::invalid_argument when malformed).
std::uint64_t day_start(const std::string& day);
// The first day of the month of `day` and of the following month, as unix nanoseconds.
std::uint64_t month_start(std::uint64_t unix_nano);
std::uint64_t next_month_start(std::uint64_t unix_nano);

}  // namespace shadowmeter::collector::reports
