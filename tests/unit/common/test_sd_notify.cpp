// sd_notify messages reach a real AF_UNIX datagram socket named by $NOTIFY_SOCKET, as systemd reads
// them; the watchdog follows $WATCHDOG_USEC and $WATCHDOG_PID.
#include "common/sd_notify.h"

#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <string>

#include "temp_file.h"

using namespace shadowmeter::systemd;

namespace {

class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    REQUIRE(path.size() < sizeof(a.sun_path));
    std::memcpy(a.sun_path, path.c_str(), path.size());
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
    timeval tv{2, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
  }
  ~NotifySocket() {
    ::unsetenv("NOTIFY_SOCKET");
    ::close(fd_);
  }
  std::string receive() {
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  }
  bool idle() {
    char buf[16];
    return ::recv(fd_, buf, sizeof(buf), MSG_DONTWAIT) < 0;
  }

 private:
  int fd_ = -1;
};

struct Env {
  Env(const char* usec, const char* pid) {
    if (usec) ::setenv("WATCHDOG_USEC", usec, 1);
    if (pid) ::setenv("WATCHDOG_PID", pid, 1);
  }
  ~Env() {
    ::unsetenv("WATCHDOG_USEC");
    ::unsetenv("WATCHDOG_PID");
  }
};

}  // namespace

TEST_CASE("message layout") {
  CHECK(message("READY=1", "listening") == "READY=1\nSTATUS=listening");
  CHECK(message("READY=1", "") == "READY=1");
  CHECK(message("", "only status") == "STATUS=only status");
  CHECK(message("STOPPING=1", "line one\nline two\r") == "STOPPING=1\nSTATUS=line one line two ");
}

TEST_CASE("notifications arrive on $NOTIFY_SOCKET") {
  shadowmeter::testing::TempDir dir;
  NotifySocket sock(dir.file("notify"));
  notify_ready("capturing");
  CHECK(sock.receive() == "READY=1\nSTATUS=capturing");
  notify_status("3 files probed");
  CHECK(sock.receive() == "STATUS=3 files probed");
  notify_stopping("bye");
  CHECK(sock.receive() == "STOPPING=1\nSTATUS=bye");
  notify_status("");  // nothing to say: nothing sent
  CHECK(sock.idle());
}

TEST_CASE("without $NOTIFY_SOCKET every call is a no-op") {
  ::unsetenv("NOTIFY_SOCKET");
  notify_ready("x");
  Env env("1000000", nullptr);
  Watchdog w;
  REQUIRE(w.enabled());
  w.kick();  // must not fail or throw
}

TEST_CASE("watchdog from the environment") {
  shadowmeter::testing::TempDir dir;
  NotifySocket sock(dir.file("notify"));
  SECTION("for this process") {
    Env env("3000000", std::to_string(getpid()).c_str());
    Watchdog w;
    REQUIRE(w.enabled());
    CHECK(w.timeout() == std::chrono::seconds(3));
    CHECK(w.period() == std::chrono::milliseconds(1500));
    w.kick();
    CHECK(sock.receive() == "WATCHDOG=1");
  }
  SECTION("WATCHDOG_PID unset: ours") {
    Env env("500000", nullptr);
    CHECK(Watchdog().timeout() == std::chrono::milliseconds(500));
  }
  SECTION("for another process (inherited): disabled, kick sends nothing") {
    Env env("3000000", std::to_string(getpid() + 1).c_str());
    Watchdog w;
    CHECK_FALSE(w.enabled());
    w.kick();
    CHECK(sock.idle());
  }
  SECTION("not set, or not a number") {
    CHECK_FALSE(Watchdog().enabled());
    Env env("soon", nullptr);
    CHECK_FALSE(Watchdog().enabled());
  }
}
