#include "preflight/preflight.h"

#include <bpf/bpf.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "probes/bpf_probes.h"

namespace shadowmeter::preflight {
namespace {

namespace fs = std::filesystem;

bool exists(const std::string& p) {
  std::error_code ec;
  return fs::exists(p, ec);
}

std::string read_first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

Check kernel_version() {
  Check c{"kernel version >= 5.17 (ring buffer, bpf_loop)", false, true, "", "upgrade the kernel"};
  utsname u{};
  if (uname(&u) != 0) return c;
  int major = 0, minor = 0;
  std::sscanf(u.release, "%d.%d", &major, &minor);
  c.detail = u.release;
  c.ok = major > 5 || (major == 5 && minor >= 17);
  return c;
}

Check btf() {
  Check c{"kernel BTF", exists("/sys/kernel/btf/vmlinux"), true, "/sys/kernel/btf/vmlinux",
          "use a kernel built with CONFIG_DEBUG_INFO_BTF=y; in a container, mount /sys/kernel/btf read-only"};
  return c;
}

Check capabilities() {
  Check c{"privileges (CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH)", false, true, "",
          "run as root or grant the capabilities (see systemd/ and packaging/)"};
  std::ifstream in("/proc/self/status");
  std::string line;
  unsigned long long eff = 0;
  while (std::getline(in, line))
    if (line.rfind("CapEff:", 0) == 0) eff = std::stoull(line.substr(7), nullptr, 16);
  auto has = [eff](int cap) { return (eff >> cap) & 1ull; };
  constexpr int kSysAdmin = 21, kPtrace = 19, kDacReadSearch = 2, kPerfmon = 38, kBpf = 39;
  const bool bpf = has(kBpf) || has(kSysAdmin);
  const bool perf = has(kPerfmon) || has(kSysAdmin);
  std::ostringstream d;
  d << "CapEff=" << std::hex << eff;
  c.detail = d.str();
  c.ok = bpf && perf && has(kPtrace) && has(kDacReadSearch);
  return c;
}

Check ring_buffer() {
  Check c{"BPF ring buffer", false, true, "", "kernel 5.8+ with BPF enabled, and the privileges above"};
  int fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "sm_check", 0, 0, 4096, nullptr);
  c.ok = fd >= 0;
  c.detail = c.ok ? "created a 4 KiB ring buffer" : "bpf_map_create failed";
  if (fd >= 0) close(fd);
  return c;
}

Check uprobes() {
  Check c{"uprobes", exists("/sys/bus/event_source/devices/uprobe/type"), true,
          "/sys/bus/event_source/devices/uprobe", "use a kernel with CONFIG_UPROBE_EVENTS=y"};
  return c;
}

Check tracepoints() {
  Check c{"syscall tracepoints (tracefs)", false, true, "",
          "mount tracefs (mount -t tracefs tracefs /sys/kernel/tracing) and use a kernel with CONFIG_FTRACE_SYSCALLS"};
  auto err = probes::ensure_tracefs();
  const bool mounted = err.empty();
  const bool sys = exists("/sys/kernel/tracing/events/syscalls/sys_enter_write") ||
                   exists("/sys/kernel/debug/tracing/events/syscalls/sys_enter_write");
  c.ok = mounted && sys;
  c.detail = mounted ? (sys ? "syscalls/sys_enter_* present" : "no syscall tracepoints") : err;
  return c;
}

Check cgroup() {
  Check c{"cgroup mount (attribution)", false, false, "", "mount cgroup2, or the host's /sys/fs/cgroup in a container"};
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  std::string found;
  while (std::getline(in, line)) {
    auto sep = line.find(" - ");
    if (sep == std::string::npos) continue;
    std::istringstream rest(line.substr(sep + 3));
    std::string type;
    rest >> type;
    if (type == "cgroup2") {
      std::istringstream f(line);
      std::string id, parent, dev, root, mountpoint;
      f >> id >> parent >> dev >> root >> mountpoint;
      found = "cgroup2 at " + mountpoint;
      break;
    }
    if (type == "cgroup" && found.empty()) found = "cgroup v1";
  }
  c.ok = !found.empty();
  c.detail = found.empty() ? "no cgroup mount" : found;
  return c;
}

Check host_proc() {
  Check c{"host processes visible (hostPID)", false, false, "",
          "run in the host PID namespace (Kubernetes: hostPID: true) to see every process"};
  std::error_code ec;
  const std::string self = fs::read_symlink("/proc/self/ns/pid", ec).string();
  const std::string init = fs::read_symlink("/proc/1/ns/pid", ec).string();
  c.ok = !ec && !self.empty() && self == init && read_first_line("/proc/1/comm") != "";
  c.detail = ec ? "cannot read /proc/1/ns/pid" : (c.ok ? "same PID namespace as pid 1" : "own PID namespace");
  return c;
}

Check bpf_load() {
  Check c{"BPF programs load (verifier, CO-RE)", false, true, "", ""};
  try {
    probes::BpfProbes probe({.ringbuf_bytes = 1u << 16, .agent_tgid = getpid()}, [](auto) {});
    c.ok = true;
    c.detail = "loaded and attached the tracepoints";
  } catch (const std::exception& e) {
    c.detail = e.what();
    c.fix = "see the reason; run `shadowmeter-agent --log-level debug` for the verifier log";
  }
  return c;
}

}  // namespace

std::vector<Check> run_checks(bool load_bpf) {
  std::vector<Check> out{kernel_version(), btf(), capabilities(), ring_buffer(), uprobes(), tracepoints(),
                         cgroup(), host_proc()};
  bool blocked = false;
  for (const auto& c : out) blocked |= c.blocking && !c.ok;
  if (load_bpf && !blocked) out.push_back(bpf_load());
  return out;
}

int print_report(const std::vector<Check>& checks) {
  int rc = 0;
  for (const auto& c : checks) {
    std::printf("%-4s %s: %s\n", c.ok ? "OK" : (c.blocking ? "FAIL" : "WARN"), c.name.c_str(), c.detail.c_str());
    if (!c.ok) std::printf("     fix: %s\n", c.fix.c_str());
    if (!c.ok && c.blocking) rc = 1;
  }
  return rc;
}

}  // namespace shadowmeter::preflight
