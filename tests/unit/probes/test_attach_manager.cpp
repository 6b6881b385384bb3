#include <openssl/ssl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "probes/attach_manager.h"

using namespace shadowmeter::probes;

namespace {

std::string link_target(const std::string& path) {
  char buf[4096];
  const ssize_t n = ::readlink(path.c_str(), buf, sizeof(buf) - 1);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

struct FakeAttacher final : Attacher {
  std::vector<std::string> paths;
  std::vector<std::string> targets;  // what each path named when the probes were placed
  std::vector<std::size_t> symbol_counts;
  std::function<void()> during_attach;  // runs while "placing" the probes
  std::vector<bool> resolvable;         // the path still named a file after during_attach ran
  std::unique_ptr<UprobeSet> attach(const std::string& path, const SymbolOffsets& syms) override {
    paths.push_back(path);
    targets.push_back(link_target(path));
    if (during_attach) during_attach();
    struct stat st{};
    resolvable.push_back(::stat(path.c_str(), &st) == 0);
    symbol_counts.push_back(syms.offsets.size());
    return std::make_unique<UprobeSet>(std::vector<Link>{});
  }
  std::vector<std::string> go_paths;  // the files the Go probes were placed in
  std::unique_ptr<UprobeSet> attach_go(const std::string& path, const gotls::GoInspection&) override {
    go_paths.push_back(link_target(path));
    return std::make_unique<UprobeSet>(std::vector<Link>{});
  }
};

// A child that shares our mappings (libssl included) and waits to be killed.
struct Child {
  pid_t pid;
  Child() : pid(fork()) {
    if (pid == 0) {
      for (;;) pause();
    }
  }
  ~Child() {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
};

}  // namespace

TEST_CASE("attaches once per file, counts users, keeps host files, detaches others after grace") {
  REQUIRE(reinterpret_cast<void*>(&SSL_read) != nullptr);  // keep libssl linked and mapped
  FakeAttacher fake;
  AttachOptions opts;
  opts.detach_grace = std::chrono::seconds(0);
  SECTION("host-visible library stays attached") {
    AttachManager mgr(fake, opts);
    {
      Child a, b;
      mgr.scan_pid(a.pid);
      mgr.scan_pid(b.pid);
      mgr.scan_pid(a.pid);  // rescans do not attach again
      REQUIRE(fake.paths.size() == 1);
      CHECK(fake.paths[0].starts_with("/proc/self/fd/"));  // the agent's own open file
      CHECK(fake.targets[0].find("libssl.so") != std::string::npos);
      CHECK(fake.symbol_counts[0] == 6);
      CHECK(mgr.attached_files() == 1);
      mgr.on_exit(a.pid);
      mgr.on_exit(b.pid);
    }
    mgr.tick(AttachManager::Clock::now() + std::chrono::seconds(1));
    CHECK(mgr.attached_files() == 1);
  }
  SECTION("file not on the host root is detached when its last user is gone") {
    opts.host_root = "/nonexistent-host-root";
    AttachManager mgr(fake, opts);
    Child a;
    mgr.scan_pid(a.pid);
    REQUIRE(mgr.attached_files() == 1);
    mgr.tick(AttachManager::Clock::now() + std::chrono::seconds(5));
    CHECK(mgr.attached_files() == 1);  // still in use
    mgr.on_exit(a.pid);
    mgr.tick(AttachManager::Clock::now() + std::chrono::seconds(1));
    CHECK(mgr.attached_files() == 0);
  }
  SECTION("exec schedules rescans; a vanished pid is harmless") {
    AttachManager mgr(fake, opts);
    Child a;
    mgr.on_exec(a.pid);
    CHECK(mgr.attached_files() == 1);
    auto next = mgr.tick();
    REQUIRE(next);
    CHECK(*next <= std::chrono::milliseconds(5));
    mgr.scan_pid(0x7ffffff0);
    CHECK(mgr.stats().attach_failures == 0);
  }
}

#ifdef SM_GO_CLIENT_STRIPPED
namespace {
// A Go program (the e2e client) waiting for a file that never comes; killed at the end.
struct GoChild {
  pid_t pid;
  explicit GoChild(const std::string& exe) : pid(fork()) {
    if (pid == 0) {
      execl(exe.c_str(), exe.c_str(), "-port", "1", "-ca", "/dev/null", "-usage", "x", "-wait-file",
            "/nonexistent/never", static_cast<char*>(nullptr));
      _exit(127);
    }
    // Exec done once the image is the Go binary's (maps name it).
    for (int i = 0; i < 2000; ++i) {
      bool go = false;
      for (const auto& m : read_executable_mappings("/proc", pid)) go = go || m.path == exe;
      if (go) break;
      usleep(1000);
    }
  }
  ~GoChild() {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
};

std::string copy_with_byte_changed(const std::string& src, const std::string& needle, char to) {
  std::ifstream in(src, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), {});
  auto at = data.find(needle);
  REQUIRE(at != std::string::npos);
  data[at + needle.size() - 5] = to;
  char tmpl[] = "/tmp/sm_go_damaged_XXXXXX";
  int fd = mkstemp(tmpl);
  REQUIRE(fd >= 0);
  REQUIRE(write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()));
  fchmod(fd, 0755);
  close(fd);
  return tmpl;
}
}  // namespace

TEST_CASE("Go executables: attached once through the Go tap, or refused with a counted reason") {
  FakeAttacher fake;
  AttachOptions opts;
  SECTION("a stripped Go binary is attached, once per file") {
    AttachManager mgr(fake, opts);
    GoChild a(SM_GO_CLIENT_STRIPPED), b(SM_GO_CLIENT_STRIPPED);
    mgr.scan_pid(a.pid);
    mgr.scan_pid(b.pid);
    REQUIRE(fake.go_paths.size() == 1);
    CHECK(fake.go_paths[0].ends_with("/go_client_stripped"));
    CHECK(fake.paths.empty());  // not an OpenSSL file
    CHECK(mgr.stats().go_attached == 1);
    CHECK(mgr.visibility_reason(a.pid) == std::optional<std::string>("no_plaintext_seen"));
    CHECK_FALSE(mgr.visibility_reason(getpid()));  // not Go
  }
  SECTION("attach.go_tls false: Go executables are not even read") {
    opts.go_tls = false;
    AttachManager mgr(fake, opts);
    GoChild a(SM_GO_CLIENT_STRIPPED);
    mgr.scan_pid(a.pid);
    CHECK(fake.go_paths.empty());
    CHECK(mgr.stats().go_attached == 0);
    CHECK(mgr.stats().go_refusals.empty());
    CHECK_FALSE(mgr.visibility_reason(a.pid));
  }
  SECTION("a damaged copy is refused, counted once, and named as the reason") {
    const std::string damaged = copy_with_byte_changed(SM_GO_CLIENT_STRIPPED, std::string("crypto/tls.(*Conn).Read") + '\0', 'X');
    {
      AttachManager mgr(fake, opts);
      GoChild a(damaged);
      mgr.scan_pid(a.pid);
      mgr.scan_pid(a.pid);
      CHECK(fake.go_paths.empty());
      CHECK(mgr.stats().go_refusals.at(gotls::kRefuseNotFound) == 1);
      CHECK(mgr.visibility_reason(a.pid) == std::optional<std::string>("go_functions_not_found"));
      CHECK(mgr.attached_files() == 0);
    }
    unlink(damaged.c_str());
  }
}
#endif

TEST_CASE("a process that exits while its probes are placed still gets them: the path stays valid") {
  REQUIRE(reinterpret_cast<void*>(&SSL_read) != nullptr);
  FakeAttacher fake;
  AttachOptions opts;
  opts.host_root = "/nonexistent-host-root";  // not found on the host: only the process names it
  AttachManager mgr(fake, opts);
  auto child = std::make_unique<Child>();
  const pid_t pid = child->pid;
  fake.during_attach = [&] { child.reset(); };  // killed and reaped mid-attach
  mgr.scan_pid(pid);
  REQUIRE(fake.paths.size() == 1);
  REQUIRE(fake.resolvable.size() == 1);
  CHECK(fake.resolvable[0]);
  CHECK(::access(("/proc/" + std::to_string(pid)).c_str(), F_OK) != 0);  // really gone
  CHECK(mgr.attached_files() == 1);
  CHECK(mgr.stats().attach_failures == 0);
}
