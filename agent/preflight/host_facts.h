// The pure part of the preflight: reading what /proc and /sys say about this host (capabilities,
// cgroup mounts, PID namespace, tracepoint names) from text, so each rule is unit-tested without
// privileges. preflight.cpp reads the files and turns these facts into OK/FAIL lines.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shadowmeter::preflight {

// "5.17.0-1-amd64" -> {5, 17}; nullopt when it does not start with "MAJOR.MINOR".
struct KernelVersion {
  int major = 0;
  int minor = 0;
};
std::optional<KernelVersion> parse_kernel_release(std::string_view release);

// The CapEff: mask of a /proc/PID/status text; nullopt when absent or not hexadecimal.
std::optional<std::uint64_t> parse_cap_eff(std::string_view status_text);

// A capability the agent uses, and why.
struct Capability {
  const char* name;  // "CAP_BPF"
  int number;        // bit in the capability masks
  bool blocking;     // the agent cannot work without it
  const char* why;
};
// CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH, CAP_SYS_RESOURCE: the only ones the
// agent needs (systemd/shadowmeter-agent.service grants exactly these).
const std::vector<Capability>& required_capabilities();

// Whether `mask` holds the capability. CAP_SYS_ADMIN stands in for CAP_BPF and CAP_PERFMON, as the
// kernel allows.
bool holds(std::uint64_t mask, const Capability& cap);

// Where cgroups are mounted, from a /proc/self/mountinfo text.
struct CgroupMounts {
  std::string v2;               // mount point of the cgroup2 hierarchy, "" when none
  std::vector<std::string> v1;  // mount points of cgroup v1 hierarchies
  // "v2" (unified), "hybrid" (v1 controllers and a cgroup2 hierarchy), "v1", or "none".
  std::string version() const;
};
CgroupMounts parse_cgroup_mounts(std::string_view mountinfo);

// The mount point of the first file system of `fstype` in a mountinfo text, "" when none.
std::string find_mount(std::string_view mountinfo, std::string_view fstype);

// Whether this process sees the host's processes. BPF reports process ids as the host's PID namespace
// numbers them, and /proc must number them the same way. `self_ns` and `init_ns` are the targets of
// /proc/self/ns/pid and /proc/1/ns/pid ("" when unreadable), `pid2_comm` is /proc/2/comm (kthreadd
// exists only in the host's namespace).
struct PidNamespaceVerdict {
  bool host = false;
  std::string detail;
};
PidNamespaceVerdict judge_pid_namespace(std::string_view self_ns, std::string_view init_ns,
                                        std::string_view pid2_comm, std::string_view pid1_comm);

// "tracepoint/syscalls/sys_enter_write" or "tp/sched/sched_process_exec" -> "syscalls/sys_enter_write";
// nullopt for other program types (uprobes and BTF tracepoints need no tracefs entry).
std::optional<std::string> tracefs_event_of_section(std::string_view section);

}  // namespace shadowmeter::preflight
