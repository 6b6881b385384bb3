// The workload a pod belongs to, from its controller owner reference: Kubernetes names the
// ReplicaSets of a Deployment "<deployment>-<pod-template-hash>" and the Jobs of a CronJob
// "<cronjob>-<scheduled minute since the epoch>", so the top owner can be told without asking the
// API server for the ReplicaSet or Job.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace shadowmeter::attribution::k8s {

struct Owner {
  std::string kind;
  std::string name;
  bool operator==(const Owner&) const = default;
};

// `labels` are the pod's (for "pod-template-hash").
Owner workload_owner(std::string_view kind, std::string_view name,
                     const std::map<std::string, std::string>& labels);

// "containerd://abc" -> "abc"; an id without a scheme is returned as is.
std::string_view strip_runtime_scheme(std::string_view container_id);

}  // namespace shadowmeter::attribution::k8s
