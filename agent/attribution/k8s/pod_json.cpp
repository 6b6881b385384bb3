#include "attribution/k8s/pod_json.h"

#include <utility>

#include "attribution/k8s/owner.h"

namespace shadowmeter::attribution::k8s {
namespace {

using nlohmann::json;

// Bounds on what one pod may contribute; the API server bounds objects to ~1.5 MiB anyway.
constexpr std::size_t kMaxAnnotationValue = 4096;
constexpr std::size_t kMaxContainers = 256;
// kubectl's copy of the whole applied manifest: large and may carry env values.
constexpr std::string_view kLastApplied = "kubectl.kubernetes.io/last-applied-configuration";

const json* member(const json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

std::string string_member(const json& object, const char* key) {
  const json* value = member(object, key);
  return value != nullptr && value->is_string() ? value->get<std::string>() : std::string();
}

std::map<std::string, std::string> string_map(const json* object, std::size_t max_value) {
  std::map<std::string, std::string> out;
  if (object == nullptr || !object->is_object()) return out;
  for (const auto& [key, value] : object->items()) {
    if (!value.is_string()) continue;
    const auto& text = value.get_ref<const std::string&>();
    if (text.size() > max_value || key == kLastApplied) continue;
    out.emplace(key, text);
  }
  return out;
}

void add_container_names(const json& spec, const char* key, std::vector<ContainerRef>& out) {
  const json* list = member(spec, key);
  if (list == nullptr || !list->is_array()) return;
  for (const auto& c : *list) {
    if (out.size() >= kMaxContainers) return;
    auto name = string_member(c, "name");
    if (!name.empty()) out.push_back({std::move(name), {}});
  }
}

void add_container_ids(const json& status, const char* key, std::vector<ContainerRef>& out) {
  const json* list = member(status, key);
  if (list == nullptr || !list->is_array()) return;
  for (const auto& s : *list) {
    const auto name = string_member(s, "name");
    const auto id = std::string(strip_runtime_scheme(string_member(s, "containerID")));
    if (name.empty()) continue;
    bool found = false;
    for (auto& c : out) {
      if (c.name == name) {
        c.id = id;
        found = true;
      }
    }
    if (!found && out.size() < kMaxContainers) out.push_back({name, id});
  }
}

}  // namespace

json parse_api_json(std::string_view text) {
  const json::parser_callback_t drop_managed_fields = [](int /*depth*/, json::parse_event_t event,
                                                         json& parsed) {
    return !(event == json::parse_event_t::key && parsed.is_string() &&
             parsed.get_ref<const std::string&>() == "managedFields");
  };
  return json::parse(text.begin(), text.end(), drop_managed_fields, /*allow_exceptions=*/false);
}

std::optional<PodMeta> pod_from_json(const json& object) {
  const json* metadata = member(object, "metadata");
  if (metadata == nullptr) return std::nullopt;
  PodMeta pod;
  pod.uid = string_member(*metadata, "uid");
  pod.name = string_member(*metadata, "name");
  if (pod.uid.empty() || pod.name.empty()) return std::nullopt;
  pod.namespace_name = string_member(*metadata, "namespace");
  pod.labels = string_map(member(*metadata, "labels"), kMaxAnnotationValue);
  pod.annotations = string_map(member(*metadata, "annotations"), kMaxAnnotationValue);
  if (const json* owners = member(*metadata, "ownerReferences"); owners != nullptr && owners->is_array()) {
    for (const auto& ref : *owners) {
      const json* controller = member(ref, "controller");
      if (controller == nullptr || !controller->is_boolean() || !controller->get<bool>()) continue;
      auto owner = workload_owner(string_member(ref, "kind"), string_member(ref, "name"), pod.labels);
      pod.owner_kind = std::move(owner.kind);
      pod.owner_name = std::move(owner.name);
      break;
    }
  }
  if (const json* spec = member(object, "spec")) {
    add_container_names(*spec, "initContainers", pod.containers);
    add_container_names(*spec, "containers", pod.containers);
    add_container_names(*spec, "ephemeralContainers", pod.containers);
  }
  if (const json* status = member(object, "status")) {
    add_container_ids(*status, "initContainerStatuses", pod.containers);
    add_container_ids(*status, "containerStatuses", pod.containers);
    add_container_ids(*status, "ephemeralContainerStatuses", pod.containers);
  }
  return pod;
}

std::optional<NamespaceMeta> namespace_from_json(const json& object) {
  const json* metadata = member(object, "metadata");
  if (metadata == nullptr) return std::nullopt;
  NamespaceMeta ns;
  ns.name = string_member(*metadata, "name");
  if (ns.name.empty()) return std::nullopt;
  ns.labels = string_map(member(*metadata, "labels"), kMaxAnnotationValue);
  return ns;
}

std::string resource_version_of(const json& object) {
  const json* metadata = member(object, "metadata");
  return metadata == nullptr ? std::string() : string_member(*metadata, "resourceVersion");
}

}  // namespace shadowmeter::attribution::k8s
