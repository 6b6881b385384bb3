// Ownership and shadow-AI policy: who owns a call (team / cost centre) and whether it went through
// a sanctioned path. Pure logic over facts the attribution and capture layers gather; configured
// from the agent's YAML (owner: and policy: sections).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace YAML {
class Node;
}

namespace shadowmeter::policy {

// What is known about the caller of one AI call.
struct CallerFacts {
  const std::map<std::string, std::string>* pod_labels = nullptr;        // null when not in a pod
  const std::map<std::string, std::string>* pod_annotations = nullptr;
  const std::map<std::string, std::string>* namespace_labels = nullptr;
  std::string namespace_name;
  std::string systemd_unit;
  std::string executable_path;
  std::string executable_name;
  std::string user;
  std::string container_id;
};

struct OwnerRule {  // for processes outside Kubernetes; every given field must match (globs with *)
  std::string systemd_unit, executable, user;
  std::string owner;
};

struct OwnerConfig {
  // Label/annotation keys tried in order on the pod (labels, then annotations), then on the namespace.
  std::vector<std::string> keys{"team", "cost-center", "app.kubernetes.io/part-of"};
  std::vector<std::string> environment_keys{"environment", "env", "deployment.environment"};
  std::vector<OwnerRule> rules;
  std::string unallocated = "unallocated";
};

struct Ownership {
  std::string owner;        // never empty: `unallocated` when nothing matched
  std::string environment;  // deployment.environment, "" when no label gives it
  std::string from;         // what decided: "pod label team", "namespace label cost-center", "rule 2", "none"
};

Ownership resolve_owner(const OwnerConfig& config, const CallerFacts& facts);

// One sanctioned path: every field given must match (globs with *, case-insensitive for hosts).
struct SanctionRule {
  std::string name;                           // shown in reasons
  std::vector<std::string> providers;         // gen_ai.provider.name
  std::vector<std::string> hosts;             // server.address
  std::vector<std::string> key_fingerprints;  // shadowmeter.api_key.fingerprint
  std::vector<std::string> namespaces;
  std::vector<std::string> owners;
  std::vector<std::string> executables;       // path or name
};

struct PolicyConfig {
  std::vector<std::string> gateways;     // hosts of sanctioned AI gateways: calls to them are sanctioned
  std::vector<SanctionRule> sanctioned;  // calls matching any rule are sanctioned
};

struct CallFacts {
  std::string provider;
  std::string host;
  std::string key_fingerprint;  // "" when no credential was seen
  std::string namespace_name;
  std::string owner;
  std::string executable_path;
  std::string executable_name;
};

struct ShadowVerdict {
  bool shadow = false;
  std::string reason;  // human-readable, e.g. "direct access to openai from namespace payments; key not sanctioned"
};

// Default (no rules, no gateways): every call is a direct call to a public provider, so shadow.
ShadowVerdict evaluate(const PolicyConfig& config, const CallFacts& call);

// From the agent config's `owner:` and `policy:` mappings (either may be null/absent). Throws
// std::runtime_error("<where>: <problem>") naming the key, like the rest of the config.
OwnerConfig parse_owner_config(const YAML::Node& node, const std::string& where);
PolicyConfig parse_policy_config(const YAML::Node& node, const std::string& where);

}  // namespace shadowmeter::policy
