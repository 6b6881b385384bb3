#include "attribution/k8s/owner.h"

#include <algorithm>

namespace shadowmeter::attribution::k8s {
namespace {

// CronJob Job names end in the scheduled time in minutes since the epoch: 8 digits since 1973.
// Requiring that many keeps a hand-made Job such as "migrate-2" a Job.
constexpr std::size_t kMinCronJobSuffixDigits = 8;

}  // namespace

Owner workload_owner(std::string_view kind, std::string_view name,
                     const std::map<std::string, std::string>& labels) {
  if (kind == "ReplicaSet") {
    const auto hash = labels.find("pod-template-hash");
    if (hash != labels.end() && !hash->second.empty() && name.size() > hash->second.size() + 1) {
      const auto prefix_len = name.size() - hash->second.size() - 1;
      if (name.substr(prefix_len) == "-" + hash->second)
        return {"Deployment", std::string(name.substr(0, prefix_len))};
    }
  } else if (kind == "Job") {
    const auto dash = name.rfind('-');
    if (dash != std::string_view::npos && dash > 0) {
      const auto digits = name.substr(dash + 1);
      if (digits.size() >= kMinCronJobSuffixDigits &&
          std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return {"CronJob", std::string(name.substr(0, dash))};
    }
  }
  return {std::string(kind), std::string(name)};
}

std::string_view strip_runtime_scheme(std::string_view container_id) {
  const auto scheme = container_id.find("://");
  return scheme == std::string_view::npos ? container_id : container_id.substr(scheme + 3);
}

}  // namespace shadowmeter::attribution::k8s
