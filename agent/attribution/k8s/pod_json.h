// Kubernetes API objects (Pod, Namespace, watch events) to the few fields the watcher keeps.
// Internal to sm_k8s: nlohmann::json stays out of the public header.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "attribution/k8s/pod_watcher.h"

namespace shadowmeter::attribution::k8s {

struct NamespaceMeta {
  std::string name;
  std::map<std::string, std::string> labels;
};

// Parses a list answer or a watch line; managedFields (large, useless here) are dropped while
// parsing. A discarded value (is_discarded()) when the text is not JSON.
nlohmann::json parse_api_json(std::string_view text);

// nullopt when the object has no metadata.uid / metadata.name.
std::optional<PodMeta> pod_from_json(const nlohmann::json& object);
std::optional<NamespaceMeta> namespace_from_json(const nlohmann::json& object);
// metadata.resourceVersion, "" when absent.
std::string resource_version_of(const nlohmann::json& object);

}  // namespace shadowmeter::attribution::k8s
