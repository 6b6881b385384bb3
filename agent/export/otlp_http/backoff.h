// When to try again after a failed request: jittered exponential backoff, and the Retry-After a
// server sends with 429/503 (RFC 9110 section 10.2.3: delta-seconds or an HTTP-date).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string_view>

namespace shadowmeter::exporting::otlp_http {

// Failure n (counting from 0) waits a uniformly random time in [max(min, c/2), c] with
// c = min(max, min * 2^n): growing, capped, and spread so that agents that lost the collector at
// the same moment do not come back in step.
class Backoff {
 public:
  Backoff(std::chrono::milliseconds min, std::chrono::milliseconds max);
  Backoff(std::chrono::milliseconds min, std::chrono::milliseconds max, std::uint64_t seed);

  std::chrono::milliseconds next();  // the wait before the next attempt; counts one more failure
  void reset() { failures_ = 0; }    // after a success
  unsigned failures() const { return failures_; }
  // The upper bound next() may return for failure n (the ceiling c above).
  std::chrono::milliseconds ceiling(unsigned n) const;

 private:
  std::chrono::milliseconds min_, max_;
  unsigned failures_ = 0;
  std::mt19937_64 rng_;
};

// Seconds to wait from `now`, or nullopt when the value is neither a non-negative integer nor an
// HTTP-date (IMF-fixdate, or the obsolete RFC 850 and asctime forms recipients must accept). A date
// in the past gives 0. Huge values are clamped to a day; the caller applies its own cap.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::chrono::system_clock::time_point now);

}  // namespace shadowmeter::exporting::otlp_http
