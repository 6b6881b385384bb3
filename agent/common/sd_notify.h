// systemd service notifications (sd_notify(3)) for both daemons: readiness, stopping, status text
// and watchdog keep-alives. Every call does nothing when systemd did not start us ($NOTIFY_SOCKET
// unset), so the daemons call them unconditionally.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace shadowmeter::systemd {

// READY=1 with a STATUS= line: the service is up (systemd starts what is ordered after it).
void notify_ready(std::string_view status);
// STOPPING=1 with a STATUS= line: shutdown has begun (not a failure).
void notify_stopping(std::string_view status);
// STATUS= only: the one-line state `systemctl status` shows.
void notify_status(std::string_view status);

// The message sd_notify() sends for these calls: "KEY=1\nSTATUS=text" (newlines in the text become
// spaces: one STATUS line).
std::string message(std::string_view assignment, std::string_view status);

// The service watchdog (WatchdogSec=): systemd restarts the service when no WATCHDOG=1 arrives
// within the timeout. Enabled when $WATCHDOG_USEC is set and $WATCHDOG_PID is ours or unset.
class Watchdog {
 public:
  Watchdog();  // reads the environment once
  bool enabled() const { return timeout_.count() > 0; }
  std::chrono::microseconds timeout() const { return timeout_; }
  // How often to send keep-alives: half the timeout, as sd_watchdog_enabled(3) advises.
  std::chrono::microseconds period() const { return timeout_ / 2; }
  // WATCHDOG=1, when enabled. Call it only from a loop that has just shown it is healthy.
  void kick() const;

 private:
  std::chrono::microseconds timeout_{0};
};

}  // namespace shadowmeter::systemd
