// resolve_owner: Kubernetes metadata first (pod labels, pod annotations, namespace labels), then the
// configured rules, then the `unallocated` bucket, so every call is counted against someone.
#include <string_view>

#include "policy/glob.h"
#include "policy/policy.h"
#include "policy/text.h"

namespace shadowmeter::policy {
namespace {

using Labels = std::map<std::string, std::string>;

struct Hit {
  std::string value;
  std::string from;
};

// First key (in configured order) with a non-empty value; for each key the pod's labels come before
// its annotations and the namespace's labels, so a team label on the pod overrides the namespace default.
std::optional<Hit> first_label(const std::vector<std::string>& keys, const CallerFacts& f) {
  const std::pair<const Labels*, const char*> sources[] = {{f.pod_labels, "pod label "},
                                                           {f.pod_annotations, "pod annotation "},
                                                           {f.namespace_labels, "namespace label "}};
  for (const auto& key : keys) {
    for (const auto& [labels, what] : sources) {
      if (labels == nullptr) continue;
      const auto it = labels->find(key);
      if (it == labels->end()) continue;
      std::string value = trim_bounded(it->second);
      if (!value.empty()) return Hit{std::move(value), what + key};
    }
  }
  return std::nullopt;
}

bool rule_matches(const OwnerRule& r, const CallerFacts& f) {
  if (r.systemd_unit.empty() && r.executable.empty() && r.user.empty()) return false;  // parse rejects these
  if (!r.systemd_unit.empty() && (f.systemd_unit.empty() || !glob_match(r.systemd_unit, f.systemd_unit)))
    return false;
  if (!r.executable.empty() && !executable_match(r.executable, f.executable_path, f.executable_name))
    return false;
  if (!r.user.empty() && (f.user.empty() || !glob_match(r.user, f.user))) return false;
  return true;
}

}  // namespace

Ownership resolve_owner(const OwnerConfig& config, const CallerFacts& facts) {
  Ownership out;
  if (auto env = first_label(config.environment_keys, facts)) out.environment = std::move(env->value);
  if (auto hit = first_label(config.keys, facts)) {
    out.owner = std::move(hit->value);
    out.from = std::move(hit->from);
    return out;
  }
  for (std::size_t i = 0; i < config.rules.size(); ++i) {
    const OwnerRule& r = config.rules[i];
    std::string owner = trim_bounded(r.owner);
    if (owner.empty() || !rule_matches(r, facts)) continue;
    out.owner = std::move(owner);
    out.from = "rule " + std::to_string(i + 1);
    return out;
  }
  out.owner = trim_bounded(config.unallocated);
  if (out.owner.empty()) out.owner = "unallocated";
  out.from = "none";
  return out;
}

}  // namespace shadowmeter::policy
