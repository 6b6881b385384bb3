// Minimal leveled logging to stderr, with a per-call-site rate limit for messages that per-event
// failures could repeat. When stderr is the journal's stream (systemd sets $JOURNAL_STREAM to its
// device:inode) each line starts with an sd-daemon(3) "<N>" priority; otherwise with "warning: " etc.
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

// Whether $JOURNAL_STREAM ("DEVICE:INODE", decimal) names this stderr's device and inode.
bool journal_stream_matches(std::string_view journal_stream, std::uint64_t dev, std::uint64_t ino);
// One log line as written: "<4>msg\n" for the journal (each line of a multi-line message prefixed),
// "warning: msg\n" otherwise.
std::string format_line(Level l, std::string_view msg, bool journal);

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
