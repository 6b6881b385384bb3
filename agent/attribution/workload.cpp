#include "attribution/workload.h"

#include <array>
#include <cstddef>
#include <optional>

namespace shadowmeter::attribution {
namespace {

constexpr std::size_t kMaxPathBytes = 4096;   // longer cgroup paths/lines are ignored, never truncated
constexpr std::size_t kMaxCgroupLines = 256;  // a real /proc/PID/cgroup has at most ~15 lines
constexpr std::size_t kContainerIdLen = 64;   // containerd, CRI-O, Docker and Podman all use 64 hex
constexpr std::size_t kMaxUnitNameLen = 255;  // systemd's own limit (UNIT_NAME_MAX)

bool is_lower_hex(std::string_view s) {
  for (const char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return !s.empty();
}

bool is_container_id(std::string_view s) { return s.size() == kContainerIdLen && is_lower_hex(s); }

// A pod UID is a UUID (8-4-4-4-12); static (mirror) pods carry the 32-hex hash of their manifest
// instead. systemd slice names spell the dashes as '_' because '-' is systemd's nesting separator.
std::optional<std::string> normalize_pod_uid(std::string_view raw) {
  std::string uid(raw);
  for (char& c : uid)
    if (c == '_') c = '-';
  if (uid.size() == 32) return is_lower_hex(uid) ? std::optional(uid) : std::nullopt;
  if (uid.size() != 36) return std::nullopt;
  for (std::size_t i = 0; i < uid.size(); ++i) {
    const bool dash_slot = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash_slot != (uid[i] == '-')) return std::nullopt;
    if (!dash_slot && !is_lower_hex(std::string_view(&uid[i], 1))) return std::nullopt;
  }
  return uid;
}

struct PodMatch {
  std::string uid;
  std::string_view qos;
};

// "kubepods-burstable-pod<uid>.slice", "kubepods-pod<uid>.slice" (guaranteed has no QoS slice), also
// with a prefix as kind/k3s nest them ("kubelet-kubepods-besteffort-pod<uid>.slice").
std::optional<PodMatch> match_pod_slice(std::string_view seg) {
  constexpr std::string_view kSlice = ".slice";
  if (!seg.ends_with(kSlice)) return std::nullopt;
  const std::string_view stem = seg.substr(0, seg.size() - kSlice.size());
  const std::size_t at = stem.rfind("-pod");
  if (at == std::string_view::npos) return std::nullopt;
  const std::string_view parent = stem.substr(0, at);
  constexpr std::array<std::pair<std::string_view, std::string_view>, 3> kQos{{
      {"kubepods-burstable", "burstable"},
      {"kubepods-besteffort", "besteffort"},
      {"kubepods", "guaranteed"},
  }};
  for (const auto& [suffix, qos] : kQos) {
    if (!parent.ends_with(suffix)) continue;
    // "kubepods" must be a whole dash-separated word, not the tail of e.g. "mykubepods".
    const std::size_t start = parent.size() - suffix.size();
    if (start != 0 && parent[start - 1] != '-') return std::nullopt;
    auto uid = normalize_pod_uid(stem.substr(at + 4));
    if (!uid) return std::nullopt;
    return PodMatch{std::move(*uid), qos};
  }
  return std::nullopt;
}

struct ContainerMatch {
  std::string_view id;
  std::string_view runtime;
  bool conmon = false;  // the runtime's monitor process beside the container, not the container
};

// A systemd transient scope "<prefix><64 hex>.scope" that a runtime creates per container.
std::optional<ContainerMatch> match_container_scope(std::string_view seg) {
  constexpr std::string_view kScope = ".scope";
  if (!seg.ends_with(kScope)) return std::nullopt;
  const std::string_view stem = seg.substr(0, seg.size() - kScope.size());
  struct Prefix {
    std::string_view prefix;
    std::string_view runtime;
    bool conmon;
  };
  // Conmon prefixes first: "crio-conmon-<id>" also starts with "crio-".
  constexpr std::array<Prefix, 7> kPrefixes{{
      {"crio-conmon-", "cri-o", true},
      {"libpod-conmon-", "podman", true},
      {"cri-containerd-", "containerd", false},
      {"crio-", "cri-o", false},
      {"docker-", "docker", false},
      {"libpod-", "podman", false},
      {"nerdctl-", "containerd", false},
  }};
  for (const auto& p : kPrefixes) {
    if (!stem.starts_with(p.prefix)) continue;
    const std::string_view id = stem.substr(p.prefix.size());
    if (!is_container_id(id)) return std::nullopt;
    return ContainerMatch{id, p.runtime, p.conmon};
  }
  return std::nullopt;
}

std::string_view runtime_for_colon_prefix(std::string_view prefix) {
  if (prefix == "cri-containerd") return "containerd";
  if (prefix == "crio") return "cri-o";
  if (prefix == "docker") return "docker";
  return {};
}

bool is_unit_name(std::string_view seg) {
  constexpr std::array<std::string_view, 5> kSuffixes{".service", ".scope", ".socket", ".mount", ".swap"};
  bool suffix_ok = false;
  for (const auto s : kSuffixes) suffix_ok = suffix_ok || (seg.size() > s.size() && seg.ends_with(s));
  if (!suffix_ok || seg.size() > kMaxUnitNameLen) return false;
  for (const char c : seg) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '_' || c == '.' || c == '@' || c == ':' || c == '\\';
    if (!ok) return false;
  }
  return true;
}

bool has_control_chars(std::string_view s) {
  for (const char c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  return false;
}

// Walks the path from the root; the innermost container wins, so a kind node seen from the host
// (docker-<node>.scope/.../cri-containerd-<id>.scope) reports the pod's container, not the node's.
class PathWalker {
 public:
  void segment(std::string_view seg) {
    if (const auto colon = seg.find(':'); colon != std::string_view::npos) {
      colon_form(seg, colon);
    } else if (auto pod = match_pod_slice(seg)) {
      set_pod(std::move(*pod));
    } else if (auto c = match_container_scope(seg)) {
      set_container(*c);
    } else {
      cgroupfs(seg);
    }
    if (is_unit_name(seg)) last_unit_ = seg;
    prev_ = seg;
  }

  Workload finish(std::string_view path) && {
    Workload w;
    w.container_id = std::string(container_.id);
    w.container_runtime = std::string(container_.runtime);
    w.pod_uid = std::move(pod_.uid);
    w.qos_class = std::string(pod_.qos);
    // A unit is reported for host processes only; inside a container or pod the scope is the
    // runtime's bookkeeping and the container/pod identifies the workload better.
    if (w.container_id.empty() && w.pod_uid.empty()) w.systemd_unit = std::string(last_unit_);
    w.cgroup_path = std::string(path);
    return w;
  }

 private:
  enum class FsState { kNone, kAfterKubepods, kAfterQos, kAfterPod };

  void set_pod(PodMatch pod) {
    pod_ = std::move(pod);
    container_ = {};  // anything found above the pod belongs to an outer layer (e.g. a kind node)
    fs_ = FsState::kNone;
  }

  void set_container(const ContainerMatch& c) {
    fs_ = FsState::kNone;
    // Conmon runs outside the container: keep the pod, report no container (and no runtime, as
    // the process is not in one).
    container_ = c.conmon ? ContainerMatch{} : c;
  }

  // runc's systemd spelling left unconverted when the node has no systemd to ask (seen under k3s
  // and kind): "kubepods-burstable-pod<uid>.slice:cri-containerd:<id>".
  void colon_form(std::string_view seg, std::size_t colon) {
    const std::size_t colon2 = seg.find(':', colon + 1);
    if (colon2 == std::string_view::npos) return;
    if (auto pod = match_pod_slice(seg.substr(0, colon))) set_pod(std::move(*pod));
    const std::string_view runtime = runtime_for_colon_prefix(seg.substr(colon + 1, colon2 - colon - 1));
    const std::string_view id = seg.substr(colon2 + 1);
    if (!runtime.empty() && is_container_id(id)) set_container({id, runtime, false});
  }

  // cgroupfs driver: /kubepods[/burstable|/besteffort]/pod<uid>/<id>, /docker/<id>, /default/<id>
  // (containerd namespace "default", e.g. nerdctl), /libpod_parent/libpod-<id>.
  void cgroupfs(std::string_view seg) {
    const FsState state = fs_;
    fs_ = FsState::kNone;
    if (seg == "kubepods") {
      fs_ = FsState::kAfterKubepods;
      fs_qos_ = "guaranteed";
      return;
    }
    if (state == FsState::kAfterKubepods && (seg == "burstable" || seg == "besteffort")) {
      fs_ = FsState::kAfterQos;
      fs_qos_ = seg == "burstable" ? "burstable" : "besteffort";
      return;
    }
    if ((state == FsState::kAfterKubepods || state == FsState::kAfterQos) && seg.starts_with("pod")) {
      if (auto uid = normalize_pod_uid(seg.substr(3))) {
        set_pod({std::move(*uid), fs_qos_});
        fs_ = FsState::kAfterPod;
      }
      return;
    }
    if (!is_container_id(seg)) {
      constexpr std::string_view kLibpod = "libpod-";
      if (prev_ == "libpod_parent" && seg.starts_with(kLibpod) && is_container_id(seg.substr(kLibpod.size())))
        container_ = {seg.substr(kLibpod.size()), "podman", false};
      return;
    }
    // The kubelet's cgroupfs layout does not say which runtime made the container.
    if (state == FsState::kAfterPod) container_ = {seg, "", false};
    else if (prev_ == "docker") container_ = {seg, "docker", false};
    else if (prev_ == "default") container_ = {seg, "containerd", false};
  }

  PodMatch pod_;
  ContainerMatch container_;
  std::string_view last_unit_;
  std::string_view prev_;
  FsState fs_ = FsState::kNone;
  std::string_view fs_qos_;
};

bool names_workload(const Workload& w) { return !w.container_id.empty() || !w.pod_uid.empty(); }

bool all_digits(std::string_view s) {
  if (s.empty() || s.size() > 10) return false;
  for (const char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace

Workload parse_cgroup_path(std::string_view path) {
  if (path.empty() || path.size() > kMaxPathBytes || path.front() != '/' || has_control_chars(path)) return {};
  PathWalker walker;
  std::size_t pos = 0;
  while (pos < path.size()) {
    std::size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    if (end > pos) walker.segment(path.substr(pos, end - pos));
    pos = end + 1;
  }
  return std::move(walker).finish(path);
}

Workload parse_proc_cgroup(std::string_view content) {
  std::optional<Workload> v2;           // "0::/path", the unified hierarchy
  std::optional<Workload> v1_workload;  // first v1 line naming a container (or, failing that, a pod)
  std::optional<Workload> v1_systemd;   // "N:name=systemd:/path"
  std::size_t pos = 0;
  for (std::size_t lines = 0; pos < content.size() && lines < kMaxCgroupLines; ++lines) {
    std::size_t end = content.find('\n', pos);
    if (end == std::string_view::npos) end = content.size();
    std::string_view line = content.substr(pos, end - pos);
    pos = end + 1;
    if (line.size() > kMaxPathBytes) continue;
    if (line.ends_with('\r')) line.remove_suffix(1);
    // hierarchy-ID:controller-list:path; the path itself may hold ':' so only two are split off.
    const std::size_t c1 = line.find(':');
    if (c1 == std::string_view::npos) continue;
    const std::size_t c2 = line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) continue;
    const std::string_view hierarchy = line.substr(0, c1);
    const std::string_view controllers = line.substr(c1 + 1, c2 - c1 - 1);
    const std::string_view path = line.substr(c2 + 1);
    if (!all_digits(hierarchy) || path.empty() || path.front() != '/') continue;
    Workload w = parse_cgroup_path(path);
    if (w.cgroup_path.empty()) continue;  // rejected as malformed
    if (hierarchy == "0" && controllers.empty()) {
      if (!v2) v2 = std::move(w);
      continue;
    }
    const bool systemd = controllers == "name=systemd";
    if (systemd && !v1_systemd) v1_systemd = w;
    if (!w.container_id.empty()) {
      if (!v1_workload || v1_workload->container_id.empty()) v1_workload = std::move(w);
    } else if (!w.pod_uid.empty() && !v1_workload) {
      v1_workload = std::move(w);
    }
  }
  if (v2 && names_workload(*v2)) return *v2;
  if (v1_workload) return *v1_workload;
  // A host process: its unit from the unified hierarchy, else from systemd's own v1 hierarchy.
  if (v2 && !v2->systemd_unit.empty()) return *v2;
  if (v1_systemd && !v1_systemd->systemd_unit.empty()) return *v1_systemd;
  if (v2) return *v2;
  if (v1_systemd) return *v1_systemd;
  return {};
}

}  // namespace shadowmeter::attribution
