// Process attribution: /proc reading on a fake tree and on this process, pid reuse, exit and
// expiry, the size bound, the command-line mode and exact-credential scrubbing.
#include <pwd.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>

#include "attribution/process_info.h"

using shadowmeter::redaction::format_command_line;
using shadowmeter::attribution::ProcessCache;
using shadowmeter::attribution::ProcessInfo;
namespace fs = std::filesystem;
using namespace std::string_literals;

namespace {

class FakeProc {
 public:
  FakeProc() {
    char tmpl[] = "/tmp/sm_fakeproc_XXXXXX";
    REQUIRE(mkdtemp(tmpl));
    root_ = tmpl;
  }
  ~FakeProc() { fs::remove_all(root_); }
  FakeProc(const FakeProc&) = delete;
  FakeProc& operator=(const FakeProc&) = delete;

  const std::string& root() const { return root_; }

  void add(int pid, const std::string& comm, int ppid, unsigned long long start, unsigned uid,
           const std::string& exe, const std::string& cmdline) {
    const fs::path d = fs::path(root_) / std::to_string(pid);
    fs::create_directories(d);
    // comm with a space and a ')' to prove fields are counted from the last ')'.
    write(d / "stat", std::to_string(pid) + " (" + comm + ") S " + std::to_string(ppid) +
                          " 1234 1234 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 1 0 " + std::to_string(start) +
                          " 12345678 500 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0\n");
    write(d / "status", "Name:\t" + comm + "\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t" +
                            std::to_string(pid) + "\nPid:\t" + std::to_string(pid) + "\nPPid:\t" +
                            std::to_string(ppid) + "\nTracerPid:\t0\nUid:\t" + std::to_string(uid) + "\t" +
                            std::to_string(uid + 1) + "\t0\t0\nGid:\t0\t0\t0\t0\n");
    write(d / "comm", comm + "\n");
    write(d / "cmdline", cmdline);
    fs::remove(d / "exe");
    if (!exe.empty()) fs::create_symlink(exe, d / "exe");
  }
  void set_cgroup(int pid, const std::string& content) {
    write(fs::path(root_) / std::to_string(pid) / "cgroup", content);
  }
  void set_cmdline(int pid, const std::string& cmdline) {
    write(fs::path(root_) / std::to_string(pid) / "cmdline", cmdline);
  }

 private:
  static void write(const fs::path& p, const std::string& s) {
    std::ofstream(p, std::ios::binary | std::ios::trunc) << s;
  }
  std::string root_;
};

std::uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<std::uint64_t>(ts.tv_nsec);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("process info from a fake /proc tree") {
  FakeProc proc;
  proc.add(1234, "my app) x", 77, 987654, 0, "/usr/bin/python3.11", "python3\0app.py\0--api-key\0sk-123\0"s);
  ProcessCache cache(proc.root());
  const ProcessInfo& p = cache.get(1234, "ignored");
  CHECK(p.pid == 1234);
  CHECK(p.ppid == 77);
  CHECK(p.executable_name == "python3.11");
  CHECK(p.executable_path == "/usr/bin/python3.11");
  CHECK(p.command_line == "python3 app.py --api-key ***");
  CHECK(p.uid == 0);
  CHECK(p.owner == "root");
  CHECK(p.start_time_ticks == 987654);
  CHECK(cache.size() == 1);

  SECTION("no exe link (kernel thread, no permission): name from comm") {
    proc.add(55, "kworker/0:1", 2, 10, 4242424, "", "");
    const ProcessInfo& k = cache.get(55);
    CHECK(k.executable_name == "kworker/0:1");
    CHECK(k.executable_path.empty());
    CHECK(k.command_line.empty());
    CHECK(k.owner == "4242424");  // no passwd entry: numeric
    CHECK(k.uid == 4242424);
  }
  SECTION("a replaced binary loses the (deleted) suffix") {
    proc.add(56, "node", 1, 11, 0, "/usr/bin/node (deleted)", "node\0server.js\0"s);
    const ProcessInfo& n = cache.get(56);
    CHECK(n.executable_path == "/usr/bin/node");
    CHECK(n.executable_name == "node");
    CHECK(n.command_line == "node server.js");
  }
}

TEST_CASE("the workload comes from /proc/PID/cgroup, on first sight and at exec") {
  FakeProc proc;
  const std::string id = "4f1c2e3d4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
  proc.add(300, "python3", 1, 5, 0, "/usr/bin/python3.11", "python3\0app.py\0"s);
  proc.set_cgroup(300, "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0b1c2d3e_4f50_6172_8394_a5b6c7d8e9f0.slice/cri-containerd-" + id + ".scope\n");
  ProcessCache cache(proc.root());
  const ProcessInfo& p = cache.get(300);
  CHECK(p.workload.container_id == id);
  CHECK(p.workload.container_runtime == "containerd");
  CHECK(p.workload.pod_uid == "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0");
  CHECK(p.workload.qos_class == "burstable");

  proc.add(301, "nginx", 1, 6, 0, "/usr/sbin/nginx", "nginx\0"s);
  proc.set_cgroup(301, "0::/system.slice/nginx.service\n");
  shadowmeter::attribution::ExecRecord r;
  r.pid = 301;
  r.ppid = 1;
  r.start_time_ticks = 6;
  r.executable_path = "/usr/sbin/nginx";
  r.comm = "nginx";
  cache.on_exec(r);
  CHECK(cache.get(301).workload.systemd_unit == "nginx.service");
  CHECK(cache.get(301).workload.container_id.empty());
}

TEST_CASE("cached entries are reused until the start time says the pid was reused") {
  FakeProc proc;
  proc.add(300, "python3", 1, 1000, 0, "/usr/bin/python3", "python3\0a.py\0"s);
  ProcessCache cache(proc.root());
  CHECK(cache.get(300).command_line == "python3 a.py");

  proc.set_cmdline(300, "python3\0changed.py\0"s);  // same process: the cache answers
  CHECK(cache.get(300).command_line == "python3 a.py");

  proc.add(300, "node", 1, 2000, 0, "/usr/bin/node", "node\0b.js\0"s);  // new process, same pid
  const ProcessInfo& p = cache.get(300);
  CHECK(p.command_line == "node b.js");
  CHECK(p.executable_name == "node");
  CHECK(p.start_time_ticks == 2000);
  CHECK(cache.size() == 1);
}

TEST_CASE("exec re-reads a cached pid and ignores unknown ones") {
  FakeProc proc;
  proc.add(400, "bash", 1, 50, 0, "/usr/bin/bash", "bash\0"s);
  ProcessCache cache(proc.root());
  CHECK(cache.get(400).executable_name == "bash");
  proc.add(400, "curl", 1, 50, 0, "/usr/bin/curl", "curl\0https://api.openai.com/v1/models\0"s);
  cache.on_exec(400, "curl");
  CHECK(cache.get(400).executable_name == "curl");
  CHECK(cache.get(400).command_line == "curl https://api.openai.com/v1/models");
  cache.on_exec(401, "x");
  CHECK(cache.size() == 1);
}

TEST_CASE("a process already gone is known by its comm, and expires") {
  FakeProc proc;
  ProcessCache cache(proc.root());
  const ProcessInfo& p = cache.get(5555, "curl");
  CHECK(p.pid == 5555);
  CHECK(p.executable_name == "curl");
  CHECK(p.executable_path.empty());
  CHECK(p.owner.empty());
  CHECK(cache.size() == 1);
  const std::uint64_t now = monotonic_ns();
  cache.expire(now, 60'000'000'000ull);
  CHECK(cache.size() == 1);
  cache.expire(now + 120'000'000'000ull, 60'000'000'000ull);
  CHECK(cache.size() == 0);
}

TEST_CASE("exited entries stay until they expire") {
  FakeProc proc;
  proc.add(10, "a", 1, 1, 0, "/bin/a", "a\0"s);
  proc.add(11, "b", 1, 1, 0, "/bin/b", "b\0"s);
  ProcessCache cache(proc.root());
  cache.get(10);
  cache.get(11);
  cache.on_exit(10, 1000);
  cache.on_exit(12, 1000);  // unknown: nothing to do
  cache.expire(1500, 1000);
  CHECK(cache.size() == 2);
  CHECK(cache.get(10).executable_name == "a");  // events in flight still resolve
  cache.expire(2000, 1000);
  CHECK(cache.size() == 1);
  cache.expire(1'000'000'000'000ull, 1);
  CHECK(cache.size() == 1);  // running processes never expire
}

TEST_CASE("the cache is bounded and evicts exited entries first, then the least recently used") {
  FakeProc proc;
  for (int pid = 101; pid <= 106; ++pid) proc.add(pid, "p", 1, 7, 0, "/bin/p", "old\0"s);
  ProcessCache cache(proc.root(), 4);
  for (int pid = 101; pid <= 104; ++pid) cache.get(pid);
  cache.on_exit(102, 5);
  for (int pid = 101; pid <= 106; ++pid) proc.set_cmdline(pid, "new\0"s);

  cache.get(105);  // full: 102 (exited) goes
  CHECK(cache.size() == 4);
  CHECK(cache.get(101).command_line == "old");  // still cached; now the most recently used
  cache.get(106);                               // full: 103 (least recently used) goes
  CHECK(cache.size() == 4);
  CHECK(cache.get(104).command_line == "old");
  CHECK(cache.get(101).command_line == "old");
  CHECK(cache.get(102).command_line == "new");  // was evicted, read again (evicting 105)
  CHECK(cache.get(103).command_line == "new");
  CHECK(cache.size() == 4);
}

TEST_CASE("process info of this test process from the real /proc") {
  ProcessCache cache;
  const ProcessInfo& p = cache.get(getpid());
  const std::string exe = fs::read_symlink("/proc/self/exe").string();
  CHECK(p.pid == getpid());
  CHECK(p.ppid == getppid());
  CHECK(p.executable_path == exe);
  CHECK(p.executable_name == fs::path(exe).filename().string());
  CHECK(p.uid == getuid());
  const passwd* pw = getpwuid(getuid());
  REQUIRE(pw);
  CHECK(p.owner == pw->pw_name);
  CHECK(p.start_time_ticks > 0);
  CHECK(p.command_line == format_command_line(slurp("/proc/self/cmdline")));
  CHECK(p.command_line.find(fs::path(exe).filename().string()) != std::string::npos);
}

TEST_CASE("exec record: full attribution without /proc, even for a pid that never existed there") {
  shadowmeter::attribution::ProcessCache cache("/nonexistent-proc-root");
  static const char kArgv[] = "curl\0-H\0Authorization: Bearer sk-live-abc\0https://api.openai.com/v1";
  const std::string argv(kArgv, sizeof(kArgv) - 1);
  shadowmeter::attribution::ExecRecord r;
  r.pid = 4242;
  r.ppid = 1;
  r.uid = 0;
  r.start_time_ticks = 777;
  r.executable_path = "/usr/bin/curl";
  r.raw_argv = argv;
  r.comm = "curl";
  cache.on_exec(r);
  const auto& info = cache.get(4242, "curl");
  CHECK(info.pid == 4242);
  CHECK(info.ppid == 1);
  CHECK(info.executable_path == "/usr/bin/curl");
  CHECK(info.executable_name == "curl");
  CHECK(info.owner == "root");
  CHECK(info.start_time_ticks == 777u);
  CHECK(info.command_line == "curl -H Authorization: Bearer *** https://api.openai.com/v1");

  r.pid = 4243;
  r.executable_path = "./relative";
  r.comm = "relative";
  r.raw_argv = {};
  cache.on_exec(r);
  CHECK(cache.get(4243).executable_name == "relative");
  CHECK(cache.get(4243).executable_path.empty());
}

TEST_CASE("exec record: the configured command-line mode applies; a sent credential is scrubbed everywhere") {
  static const char kArgv[] = "/opt/keys/zq-7f3a9c1e55/run\0--cfg\0zq-7f3a9c1e55\0-p\0summarise the incident report\0";
  const std::string argv(kArgv, sizeof(kArgv) - 1);
  shadowmeter::attribution::ExecRecord r;
  r.pid = 5151;
  r.executable_path = "/opt/keys/zq-7f3a9c1e55/run";
  r.raw_argv = argv;
  r.comm = "run";
  using shadowmeter::redaction::CommandLineMode;
  ProcessCache redacted("/nonexistent-proc-root", 16, CommandLineMode::redacted);
  redacted.on_exec(r);
  // The credential has no known shape and no secret-looking name: only the exact scrub finds it.
  CHECK(redacted.get(5151).command_line == "/opt/keys/zq-7f3a9c1e55/run --cfg zq-7f3a9c1e55 -p <29 chars>");
  redacted.scrub(5151, "zq-7f3a9c1e55");
  CHECK(redacted.get(5151).command_line == "/opt/keys/***/run --cfg *** -p <29 chars>");
  CHECK(redacted.get(5151).executable_path == "/opt/keys/***/run");
  redacted.scrub(9999, "zq-7f3a9c1e55");  // unknown pid: nothing to do

  ProcessCache executable("/nonexistent-proc-root", 16, CommandLineMode::executable);
  executable.on_exec(r);
  CHECK(executable.get(5151).command_line == "/opt/keys/zq-7f3a9c1e55/run");
  ProcessCache full("/nonexistent-proc-root", 16, CommandLineMode::full);
  full.on_exec(r);
  CHECK(full.get(5151).command_line == "/opt/keys/zq-7f3a9c1e55/run --cfg zq-7f3a9c1e55 -p summarise the incident report");
}

TEST_CASE("exec record with a cut argv: the whole one from /proc, else the fragment hidden") {
  const std::string whole = "python3\0-c\0print(1)\0--secret-file\0/etc/app/key\0"s;
  const std::string cut = whole.substr(0, 22);  // ends inside "--secret-file"
  shadowmeter::attribution::ExecRecord r;
  r.pid = 6161;
  r.start_time_ticks = 500;  // as the fake /proc says: the cache keeps what on_exec stored
  r.raw_argv = cut;
  r.argv_cut = true;
  r.comm = "python3";
  FakeProc proc;
  proc.add(6161, "python3", 1, 500, 0, "/usr/bin/python3", whole);
  ProcessCache alive(proc.root());
  alive.on_exec(r);
  CHECK(alive.get(6161).command_line == "python3 -c print(1) --secret-file ***");
  ProcessCache gone("/nonexistent-proc-root");
  gone.on_exec(r);
  CHECK(gone.get(6161).command_line == "python3 -c print(1) ...");
  // /proc already shows another image (the pid exec'd again): not taken for this one.
  proc.set_cmdline(6161, "bash\0-l\0"s);
  ProcessCache reexec(proc.root());
  reexec.on_exec(r);
  CHECK(reexec.get(6161).command_line == "python3 -c print(1) ...");
}
