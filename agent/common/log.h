// Minimal leveled logging to stderr (journald picks up the <N> priority prefixes under systemd),
// with a per-call-site rate limit for messages that per-event failures could repeat.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace shadowmeter::log {

enum class Level : int { debug = 0, info = 1, warn = 2, error = 3 };

void set_level(Level l);
bool parse_level(std::string_view s, Level& out);
bool enabled(Level l);
void write(Level l, std::string_view msg);

inline void debug(std::string_view m) { write(Level::debug, m); }
inline void info(std::string_view m) { write(Level::info, m); }
inline void warn(std::string_view m) { write(Level::warn, m); }
inline void error(std::string_view m) { write(Level::error, m); }

// Allows at most `burst` messages per `period`; the next allowed message says how many were held back.
class RateLimit {
 public:
  explicit RateLimit(int burst = 5, std::chrono::seconds period = std::chrono::seconds(60))
      : burst_(burst), period_(period) {}
  void write(Level l, std::string_view msg);

 private:
  int burst_;
  std::chrono::seconds period_;
  std::chrono::steady_clock::time_point window_start_{};
  int in_window_ = 0;
  std::uint64_t suppressed_ = 0;
};

}  // namespace shadowmeter::log
