#include "common/sd_notify.h"

#include <systemd/sd-daemon.h>

#include <cstdint>
#include <cstring>
#include <mutex>

#include "common/log.h"

namespace shadowmeter::systemd {
namespace {

// A failing notification socket is worth one line now and then, never a line per second.
void send(const std::string& msg) {
  if (msg.empty()) return;
  const int rc = sd_notify(0, msg.c_str());
  if (rc >= 0) return;
  static std::mutex mu;
  static log::RateLimit limit(1, std::chrono::seconds(300));
  std::lock_guard lock(mu);
  limit.write(log::Level::warn, "sd_notify(" + msg.substr(0, msg.find('\n')) + ") failed: " + std::strerror(-rc));
}

}  // namespace

std::string message(std::string_view assignment, std::string_view status) {
  std::string out(assignment);
  if (status.empty()) return out;
  if (!out.empty()) out.push_back('\n');
  out += "STATUS=";
  for (char c : status) out.push_back(c == '\n' || c == '\r' ? ' ' : c);
  return out;
}

void notify_ready(std::string_view status) { send(message("READY=1", status)); }
void notify_stopping(std::string_view status) { send(message("STOPPING=1", status)); }
void notify_status(std::string_view status) { send(message("", status)); }

Watchdog::Watchdog() {
  std::uint64_t usec = 0;
  // 0 unset_environment: keep $WATCHDOG_USEC, the value is read once here anyway.
  if (sd_watchdog_enabled(0, &usec) > 0) timeout_ = std::chrono::microseconds(usec);
}

void Watchdog::kick() const {
  if (enabled()) send("WATCHDOG=1");
}

}  // namespace shadowmeter::systemd
