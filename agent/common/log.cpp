#include "common/log.h"

#include <unistd.h>

#include <cstdio>

namespace shadowmeter::log {
namespace {
std::atomic<int> g_level{static_cast<int>(Level::info)};
// sd-daemon(3) priority prefixes: journald maps them to log levels, a terminal shows them as text.
const char* prefix(Level l) {
  switch (l) {
    case Level::debug: return "<7>debug: ";
    case Level::info: return "<6>info: ";
    case Level::warn: return "<4>warning: ";
    case Level::error: return "<3>error: ";
  }
  return "";
}
}  // namespace

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
  std::string line = prefix(l);
  line.append(msg);
  line.push_back('\n');
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
