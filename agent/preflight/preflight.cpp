#include "preflight/preflight.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <cstdint>
#include <memory>
#include <optional>
#include <sstream>

#include "preflight/collector_probe.h"
#include "preflight/host_facts.h"
#include "probes/bpf_probes.h"
#include "probes/uprobe_multi.h"
#include "shadowmeter.skel.h"

namespace shadowmeter::preflight {
namespace {

namespace fs = std::filesystem;

constexpr int kMinMajor = 5, kMinMinor = 17;

bool exists(const std::string& p) {
  std::error_code ec;
  return fs::exists(p, ec);
}

// A small /proc or /sys file; "" when unreadable. Bounded: these are a few KiB at most.
std::string read_text(const std::string& path, std::size_t max = 1 << 20) {
  std::ifstream in(path);
  std::string out;
  char buf[4096];
  while (in && out.size() < max) {
    in.read(buf, sizeof(buf));
    out.append(buf, static_cast<std::size_t>(in.gcount()));
  }
  return out;
}

std::string first_line(const std::string& path) {
  std::string s = read_text(path, 4096);
  return s.substr(0, s.find('\n'));
}

std::string link_target(const std::string& path) {
  std::error_code ec;
  auto t = fs::read_symlink(path, ec);
  return ec ? std::string() : t.string();
}

Check kernel_version() {
  Check c{"kernel version >= 5.17 (ring buffer, bpf_loop)", false, true, "", "upgrade the kernel"};
  utsname u{};
  if (uname(&u) != 0) {
    c.detail = "uname failed";
    return c;
  }
  c.detail = u.release;
  if (const auto v = parse_kernel_release(u.release))
    c.ok = v->major > kMinMajor || (v->major == kMinMajor && v->minor >= kMinMinor);
  return c;
}

Check btf() {
  return {"kernel BTF", exists("/sys/kernel/btf/vmlinux"), true, "/sys/kernel/btf/vmlinux",
          "use a kernel built with CONFIG_DEBUG_INFO_BTF=y; in a container, mount /sys/kernel/btf read-only"};
}

std::vector<Check> capabilities() {
  std::vector<Check> out;
  const auto eff = parse_cap_eff(read_text("/proc/self/status"));
  for (const auto& cap : required_capabilities()) {
    Check c{std::string("capability ") + cap.name, false, cap.blocking, "", ""};
    c.ok = eff && holds(*eff, cap);
    c.detail = std::string(c.ok ? "held" : (eff ? "missing" : "unknown, no CapEff in /proc/self/status")) +
               ", needed to " + cap.why;
    c.fix = std::string("run as root with ") + cap.name +
            " (systemd: AmbientCapabilities=, see systemd/shadowmeter-agent.service; Kubernetes: "
            "securityContext.capabilities.add)";
    out.push_back(std::move(c));
  }
  return out;
}

Check ring_buffer() {
  Check c{"BPF ring buffer", false, true, "", "kernel 5.8+ with BPF enabled, and CAP_BPF"};
  const int fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "sm_check", 0, 0, 4096, nullptr);
  c.ok = fd >= 0;
  c.detail = c.ok ? "created a 4 KiB ring buffer" : std::string("bpf_map_create: ") + std::strerror(errno);
  if (fd >= 0) close(fd);
  return c;
}

Check uprobes() {
  return {"uprobes", exists("/sys/bus/event_source/devices/uprobe/type"), true,
          "/sys/bus/event_source/devices/uprobe", "use a kernel with CONFIG_UPROBE_EVENTS=y"};
}

// A function of our own to put a test uprobe on.
[[gnu::noinline]] int uprobe_target(int x) {
  asm volatile("" ::: "memory");
  return x + 1;
}

// The file offset of `addr` in the file mapped there, from /proc/self/maps.
std::optional<std::uint64_t> file_offset_of(const void* addr) {
  const auto a = reinterpret_cast<std::uintptr_t>(addr);
  std::istringstream maps(read_text("/proc/self/maps"));
  std::string line;
  while (std::getline(maps, line)) {
    unsigned long long start = 0, end = 0, off = 0;
    if (std::sscanf(line.c_str(), "%llx-%llx %*s %llx", &start, &end, &off) != 3) continue;
    if (a >= start && a < end) return static_cast<std::uint64_t>(a - start + off);
  }
  return std::nullopt;
}

// Linux 6.16 (and the stable kernels that took commit ba677dbe77af "perf: Revert to requiring
// CAP_SYS_ADMIN for uprobes", mid 2025) let only CAP_SYS_ADMIN create uprobes through perf events,
// CAP_PERFMON no longer. Try one, disabled, on a function of this binary. "" when it works.
std::string perf_uprobe_error() {
  const std::string type_text = first_line("/sys/bus/event_source/devices/uprobe/type");
  const auto offset = file_offset_of(reinterpret_cast<const void*>(&uprobe_target));
  if (type_text.empty()) return "no uprobe PMU";
  if (!offset) return "cannot find this binary's text in /proc/self/maps";
  static const char kSelf[] = "/proc/self/exe";
  perf_event_attr attr{};
  attr.size = sizeof(attr);
  attr.type = static_cast<std::uint32_t>(std::stoul(type_text));
  attr.disabled = 1;
  attr.config1 = reinterpret_cast<std::uintptr_t>(kSelf);  // uprobe_path
  attr.config2 = *offset;                                  // probe_offset
  const long fd = ::syscall(SYS_perf_event_open, &attr, ::getpid(), -1, -1, PERF_FLAG_FD_CLOEXEC);
  if (fd < 0) return std::string("perf_event_open(uprobe): ") + std::strerror(errno);
  ::close(static_cast<int>(fd));
  return {};
}

// The agent attaches its TLS uprobes with BPF uprobe-multi links when the kernel has them (Linux
// 6.6+, CAP_BPF and CAP_PERFMON suffice), else through perf events. Each way gets a line; a line
// fails only when neither way works (the agent then meters connections only, not the API calls).
std::vector<Check> tls_uprobes() {
  const std::string multi = probes::uprobe_multi_unavailable();  // the probe BpfProbes uses at load
  const std::string perf = perf_uprobe_error();
  const bool any = multi.empty() || perf.empty();
  Check m{"uprobes through BPF uprobe-multi links (TLS plaintext capture)", any, false, "",
          "use Linux 6.6 or later, which attaches uprobe-multi links with CAP_BPF and CAP_PERFMON"};
  if (multi.empty()) m.detail = "attached a test link; the agent attaches the TLS uprobes this way";
  else m.detail = multi + (perf.empty() ? "; not needed: the agent attaches through perf events" : "");
  Check p{"uprobes through perf events (TLS plaintext capture)", any, false, "",
          "this kernel creates perf uprobes only for CAP_SYS_ADMIN: add CAP_SYS_ADMIN to CapabilityBoundingSet= and "
          "AmbientCapabilities= (systemctl edit shadowmeter-agent); without it the agent sees connections "
          "(connection-level events) but not the API calls inside them"};
  if (perf.empty()) p.detail = multi.empty() ? "created a test uprobe; not used: uprobe-multi links are" : "created a test uprobe";
  else p.detail = perf + (multi.empty() ? "; not needed: the agent attaches with uprobe-multi links" : "");
  return {m, p};
}

// libbpf reads tracepoint ids from debugfs when /sys/kernel/debug/tracing exists, else from tracefs.
std::string tracefs_dir() {
  if (::access("/sys/kernel/debug/tracing", F_OK) == 0) return "/sys/kernel/debug/tracing";
  return "/sys/kernel/tracing";
}

Check tracefs() {
  Check c{"tracefs", false, true, "",
          "mount it on the host (mount -t tracefs tracefs /sys/kernel/tracing; systemd does at boot) or run "
          "the agent with CAP_SYS_ADMIN so it mounts it; in Kubernetes mount the host's /sys/kernel/tracing"};
  const bool before = exists(tracefs_dir() + "/events");
  const std::string err = probes::ensure_tracefs();  // what the agent does at start: mount it when absent
  c.ok = err.empty() && exists(tracefs_dir() + "/events");
  c.detail = c.ok ? tracefs_dir() + (before ? "" : " (mounted it)") : (err.empty() ? "no events directory" : err);
  return c;
}

struct SkelDeleter {
  void operator()(shadowmeter_bpf* s) const { shadowmeter_bpf__destroy(s); }
};

// The tracefs events the BPF programs attach to, read from the programs' sections (opening the
// object needs no privilege), so this list cannot drift from bpf/shadowmeter.bpf.c.
Check tracepoints() {
  Check c{"tracepoints used", false, true, "",
          "use a kernel with CONFIG_FTRACE_SYSCALLS (syscall tracepoints) and make tracefs visible"};
  std::unique_ptr<shadowmeter_bpf, SkelDeleter> skel(shadowmeter_bpf__open());
  if (!skel) {
    c.detail = std::string("cannot open the BPF object: ") + std::strerror(errno);
    return c;
  }
  const std::string dir = tracefs_dir() + "/events/";
  std::vector<std::string> used, missing;
  bpf_program* prog = nullptr;
  bpf_object__for_each_program(prog, skel->obj) {
    const auto event = tracefs_event_of_section(bpf_program__section_name(prog));
    if (!event) continue;
    used.push_back(*event);
    if (!exists(dir + *event + "/id")) missing.push_back(*event);
  }
  c.ok = !used.empty() && missing.empty();
  std::string list;
  for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
  c.detail = c.ok ? std::to_string(used.size()) + " present under " + dir : "missing under " + dir + ": " + list;
  return c;
}

Check cgroup() {
  Check c{"cgroup mount (container and unit attribution)", false, false, "",
          "mount cgroup2 (or the host's /sys/fs/cgroup in a container, read-only)"};
  const CgroupMounts m = parse_cgroup_mounts(read_text("/proc/self/mountinfo"));
  const std::string version = m.version();
  c.ok = version != "none";
  if (version == "v2") c.detail = "cgroup v2 at " + m.v2;
  else if (version == "hybrid")
    c.detail = "hybrid: " + std::to_string(m.v1.size()) + " cgroup v1 hierarchies (" + m.v1.front() +
               ", ...) and cgroup2 at " + m.v2;
  else if (version == "v1") c.detail = "cgroup v1: " + std::to_string(m.v1.size()) + " hierarchies (" + m.v1.front() + ", ...)";
  else c.detail = "no cgroup file system mounted";
  return c;
}

Check host_pid() {
  Check c{"host processes visible (hostPID)", false, false, "",
          "run in the host PID namespace (Kubernetes: hostPID: true; docker: --pid=host)"};
  const auto v = judge_pid_namespace(link_target("/proc/self/ns/pid"), link_target("/proc/1/ns/pid"),
                                     first_line("/proc/2/comm"), first_line("/proc/1/comm"));
  c.ok = v.host;
  c.detail = v.detail;
  return c;
}

Check collector(const config::AgentConfig& cfg, std::chrono::milliseconds timeout) {
  Check c{"collector reachable (" + cfg.collector_url + ")", false, false, "",
          "start the collector or fix --collector / export.ca_file / export.server_name; events wait in the "
          "spool meanwhile"};
  const CollectorProbe p = probe_collector(cfg, timeout);
  c.ok = p.ok;
  c.detail = p.detail;
  return c;
}

Check bpf_load() {
  Check c{"BPF programs load (verifier, CO-RE)", false, true, "", ""};
  try {
    probes::BpfProbes probe({.ringbuf_bytes = 1u << 16, .agent_tgid = getpid()}, [](auto) {});
    c.ok = true;
    c.detail = std::string("loaded and attached the tracepoints; TLS uprobes through ") +
               (probe.uses_uprobe_multi() ? "uprobe-multi links" : "perf events");
  } catch (const std::exception& e) {
    c.detail = e.what();
    c.fix = "see the reason; run `shadowmeter-agent --log-level debug` for the verifier log";
  }
  return c;
}

}  // namespace

std::vector<Check> run_checks(const CheckOptions& options) {
  std::vector<Check> out{kernel_version(), btf()};
  for (auto& c : capabilities()) out.push_back(std::move(c));
  out.push_back(ring_buffer());
  out.push_back(uprobes());
  for (auto& c : tls_uprobes()) out.push_back(std::move(c));
  for (auto* f : {tracefs, tracepoints, cgroup, host_pid}) out.push_back(f());
  if (options.config && !options.config->collector_url.empty())
    out.push_back(collector(*options.config, options.collector_timeout));
  bool blocked = false;
  for (const auto& c : out) blocked |= c.blocking && !c.ok;
  if (options.load_bpf && !blocked) out.push_back(bpf_load());
  return out;
}

int print_report(const std::vector<Check>& checks) {
  int rc = 0;
  for (const auto& c : checks) {
    std::printf("%-4s %s: %s\n", c.ok ? "OK" : "FAIL", c.name.c_str(), c.detail.c_str());
    if (!c.ok)
      std::printf("     fix: %s%s\n", c.fix.c_str(), c.blocking ? "" : " (not blocking: the agent starts without it)");
    if (!c.ok && c.blocking) rc = 1;
  }
  std::fflush(stdout);
  return rc;
}

}  // namespace shadowmeter::preflight
