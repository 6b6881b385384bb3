#include <openssl/ssl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "probes/attach_manager.h"

using namespace shadowmeter::probes;

namespace {

struct FakeAttacher final : Attacher {
  std::vector<std::string> paths;
  std::vector<std::size_t> symbol_counts;
  std::unique_ptr<UprobeSet> attach(const std::string& path, const SymbolOffsets& syms) override {
    paths.push_back(path);
    symbol_counts.push_back(syms.offsets.size());
    return std::make_unique<UprobeSet>(std::vector<Link>{});
  }
  std::vector<std::string> go_paths;
  std::unique_ptr<UprobeSet> attach_go(const std::string& path, const gotls::GoInspection&) override {
    go_paths.push_back(path);
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
      CHECK(fake.paths[0].starts_with("/proc/" + std::to_string(a.pid) + "/root/"));
      CHECK(fake.paths[0].find("libssl.so") != std::string::npos);
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
