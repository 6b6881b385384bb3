#include "preflight/host_facts.h"

#include <charconv>

namespace shadowmeter::preflight {
namespace {

// The initial PID namespace has this fixed inode (PROC_PID_INIT_INO, include/linux/proc_ns.h).
constexpr std::string_view kHostPidNs = "pid:[4026531836]";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// mountinfo escapes space, tab, newline and backslash in paths as \ooo (octal).
std::string unescape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && s.size() - i >= 4) {
      int v = 0;
      bool octal = true;
      for (std::size_t k = 1; k <= 3; ++k) {
        const char c = s[i + k];
        if (c < '0' || c > '7') octal = false;
        v = v * 8 + (c - '0');
      }
      if (octal && v < 256) {
        out.push_back(static_cast<char>(v));
        i += 3;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

// Splits on single spaces (mountinfo fields contain none: they are escaped).
std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (start <= line.size()) {
    const auto end = line.find(' ', start);
    const auto f = line.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (!f.empty()) out.push_back(f);
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

// Each mountinfo line as (mount point, file system type); malformed lines are skipped.
template <class F>
void for_each_mount(std::string_view mountinfo, F&& f) {
  while (!mountinfo.empty()) {
    const auto nl = mountinfo.find('\n');
    const std::string_view line = mountinfo.substr(0, nl);
    mountinfo = nl == std::string_view::npos ? std::string_view{} : mountinfo.substr(nl + 1);
    // "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS"
    const auto fs = fields(line);
    std::size_t dash = 0;
    for (std::size_t i = 6; i < fs.size(); ++i)
      if (fs[i] == "-") {
        dash = i;
        break;
      }
    if (dash == 0 || dash + 1 >= fs.size() || fs.size() < 5) continue;
    f(unescape(fs[4]), fs[dash + 1]);
  }
}

}  // namespace

std::optional<KernelVersion> parse_kernel_release(std::string_view release) {
  KernelVersion v;
  const char* p = release.data();
  const char* end = p + release.size();
  auto r = std::from_chars(p, end, v.major);
  if (r.ec != std::errc{} || r.ptr == end || *r.ptr != '.') return std::nullopt;
  r = std::from_chars(r.ptr + 1, end, v.minor);
  if (r.ec != std::errc{}) return std::nullopt;
  return v;
}

std::optional<std::uint64_t> parse_cap_eff(std::string_view status_text) {
  std::size_t pos = 0;
  while (pos < status_text.size()) {
    const auto nl = status_text.find('\n', pos);
    const std::string_view line =
        status_text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? status_text.size() : nl + 1;
    if (line.substr(0, 7) != "CapEff:") continue;
    const std::string_view hex = trim(line.substr(7));
    std::uint64_t mask = 0;
    const auto r = std::from_chars(hex.data(), hex.data() + hex.size(), mask, 16);
    if (hex.empty() || r.ec != std::errc{} || r.ptr != hex.data() + hex.size()) return std::nullopt;
    return mask;
  }
  return std::nullopt;
}

const std::vector<Capability>& required_capabilities() {
  static const std::vector<Capability> caps = {
      {"CAP_BPF", 39, true, "load the BPF programs and create their maps"},
      {"CAP_PERFMON", 38, true, "attach the tracepoints and the uprobes"},
      {"CAP_SYS_PTRACE", 19, true, "read /proc/PID/root and maps of other users' processes"},
      {"CAP_DAC_READ_SEARCH", 2, true, "open the TLS libraries and /proc files of every process"},
      {"CAP_SYS_RESOURCE", 24, false,
       "raise RLIMIT_MEMLOCK for BPF maps on kernels before 5.11, which do not charge them to the memory cgroup"},
  };
  return caps;
}

bool holds(std::uint64_t mask, const Capability& cap) {
  constexpr int kSysAdmin = 21;
  auto has = [mask](int bit) { return ((mask >> bit) & 1u) != 0; };
  if (has(cap.number)) return true;
  const std::string_view name = cap.name;
  return (name == "CAP_BPF" || name == "CAP_PERFMON") && has(kSysAdmin);
}

std::string CgroupMounts::version() const {
  if (!v2.empty()) return v1.empty() ? "v2" : "hybrid";
  return v1.empty() ? "none" : "v1";
}

CgroupMounts parse_cgroup_mounts(std::string_view mountinfo) {
  CgroupMounts m;
  for_each_mount(mountinfo, [&m](std::string mount_point, std::string_view type) {
    if (type == "cgroup2" && m.v2.empty()) m.v2 = std::move(mount_point);
    else if (type == "cgroup") m.v1.push_back(std::move(mount_point));
  });
  return m;
}

std::string find_mount(std::string_view mountinfo, std::string_view fstype) {
  std::string found;
  for_each_mount(mountinfo, [&](std::string mount_point, std::string_view type) {
    if (type == fstype && found.empty()) found = std::move(mount_point);
  });
  return found;
}

PidNamespaceVerdict judge_pid_namespace(std::string_view self_ns, std::string_view init_ns,
                                        std::string_view pid2_comm, std::string_view pid1_comm) {
  PidNamespaceVerdict v;
  self_ns = trim(self_ns);
  init_ns = trim(init_ns);
  const bool kthreadd = trim(pid2_comm) == "kthreadd";
  const std::string pid1 = pid1_comm.empty() ? std::string("unreadable") : std::string(trim(pid1_comm));
  if (self_ns == kHostPidNs) {
    v.host = true;
    v.detail = "host PID namespace " + std::string(self_ns) + ", pid 1 is " + pid1;
  } else if (self_ns.empty()) {
    // No namespace link to read: kthreadd at pid 2 is only visible from the host's namespace.
    v.host = kthreadd;
    v.detail = std::string(kthreadd ? "kthreadd is pid 2" : "kthreadd is not pid 2") +
               " (PID namespace unreadable), pid 1 is " + pid1;
  } else if (kthreadd || init_ns == kHostPidNs) {
    v.detail = "/proc shows the host's processes but the agent runs in its own PID namespace " +
               std::string(self_ns) + ": process ids would not match";
  } else {
    v.detail = "own PID namespace " + std::string(self_ns) + " (pid 1 is " + pid1 + "): only this container's processes are visible";
  }
  return v;
}

std::optional<std::string> tracefs_event_of_section(std::string_view section) {
  for (std::string_view prefix : {"tracepoint/", "tp/"}) {
    if (section.substr(0, prefix.size()) != prefix) continue;
    const std::string_view event = section.substr(prefix.size());
    const auto slash = event.find('/');
    if (slash == 0 || slash == std::string_view::npos || slash + 1 == event.size() ||
        event.find('/', slash + 1) != std::string_view::npos)
      return std::nullopt;
    return std::string(event);
  }
  return std::nullopt;
}

}  // namespace shadowmeter::preflight
