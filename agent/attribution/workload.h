// Where a process runs, read from its cgroup: container (id, runtime), Kubernetes pod (UID, QoS
// class) or systemd unit. Pure parsing: callers hand in /proc/PID/cgroup text or a cgroup path.
#pragma once

#include <string>
#include <string_view>

namespace shadowmeter::attribution {

struct Workload {
  std::string container_id;       // full id as the runtime names it (64 hex for containerd/CRI-O/Docker/Podman)
  std::string container_runtime;  // "containerd", "cri-o", "docker", "podman" ("" when not in a container)
  std::string pod_uid;            // Kubernetes pod UID with dashes ("" when not in a pod)
  std::string qos_class;          // "guaranteed", "burstable", "besteffort" ("" when not in a pod)
  std::string systemd_unit;       // e.g. "nginx.service" for host processes ("" when none)
  std::string cgroup_path;        // the path the fields were read from (v2 unified path when present)
  bool operator==(const Workload&) const = default;
};

// One cgroup path (e.g. "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid>.slice/
// cri-containerd-<id>.scope"), systemd or cgroupfs driver, any runtime.
Workload parse_cgroup_path(std::string_view path);

// The text of /proc/PID/cgroup: the v2 line ("0::/path") when it names a container or pod, else the
// v1 lines (name=systemd, memory, cpu, pids, ... whichever carries the container path).
Workload parse_proc_cgroup(std::string_view content);

}  // namespace shadowmeter::attribution
