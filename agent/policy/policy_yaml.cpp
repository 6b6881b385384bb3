// The agent config's `owner:` and `policy:` sections. Strict like the rest of the config: an unknown
// key, a wrong type or a rule that would match everything stops start-up with "<where>.<key>: problem".
#include <yaml-cpp/yaml.h>

#include <functional>
#include <set>
#include <stdexcept>

#include "policy/policy.h"
#include "policy/text.h"

namespace shadowmeter::policy {
namespace {

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw std::runtime_error(where + ": " + what);
}

std::string index(const std::string& where, std::size_t i) { return where + "[" + std::to_string(i) + "]"; }

// Calls `on_key(key, value, where_of_key)` for each entry; rejects duplicates. The callback returns
// false for a key it does not know.
void each_key(const YAML::Node& map, const std::string& where, const std::string& expected,
              const std::function<bool(const std::string&, const YAML::Node&, const std::string&)>& on_key) {
  if (!map.IsMap()) fail(where, "expected a mapping " + expected);
  std::set<std::string> seen;
  for (const auto& kv : map) {
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
    const std::string at = where + "." + key;
    if (!seen.insert(key).second) fail(at, "duplicate key");
    if (!on_key(key, kv.second, at)) fail(at, "unknown key");
  }
}

// A non-empty name; text longer than an owner value may be is refused rather than cut.
std::string text(const YAML::Node& n, const std::string& where) {
  if (!n.IsScalar()) fail(where, "expected text");
  std::string v = trim_bounded(n.Scalar(), kMaxValueLen + 1);
  if (v.empty()) fail(where, "must not be empty");
  if (v.size() > kMaxValueLen) fail(where, "longer than " + std::to_string(kMaxValueLen) + " characters");
  return v;
}

// An absent/empty value is an empty list.
std::vector<std::string> text_list(const YAML::Node& n, const std::string& where, const std::string& what) {
  std::vector<std::string> out;
  if (n.IsNull()) return out;
  if (!n.IsSequence()) fail(where, "expected a list of " + what);
  for (std::size_t i = 0; i < n.size(); ++i) out.push_back(text(n[i], index(where, i)));
  return out;
}

OwnerRule owner_rule(const YAML::Node& n, const std::string& where) {
  OwnerRule r;
  each_key(n, where, "{systemd_unit, executable, user, owner}",
           [&](const std::string& k, const YAML::Node& v, const std::string& at) {
             if (k == "systemd_unit")
               r.systemd_unit = text(v, at);
             else if (k == "executable")
               r.executable = text(v, at);
             else if (k == "user")
               r.user = text(v, at);
             else if (k == "owner")
               r.owner = text(v, at);
             else
               return false;
             return true;
           });
  if (r.owner.empty()) fail(where, "needs an owner");  // text() never gives ""
  if (r.systemd_unit.empty() && r.executable.empty() && r.user.empty())
    fail(where,
         "needs at least one of systemd_unit, executable, user (a rule without a condition would match "
         "every process)");
  return r;
}

SanctionRule sanction_rule(const YAML::Node& n, const std::string& where, std::size_t i) {
  SanctionRule r;
  r.name = "sanctioned[" + std::to_string(i) + "]";
  each_key(n, where, "{name, providers, hosts, key_fingerprints, namespaces, owners, executables}",
           [&](const std::string& k, const YAML::Node& v, const std::string& at) {
             if (k == "name")
               r.name = text(v, at);
             else if (k == "providers")
               r.providers = text_list(v, at, "provider names");
             else if (k == "hosts")
               r.hosts = text_list(v, at, "host names");
             else if (k == "key_fingerprints")
               r.key_fingerprints = text_list(v, at, "key fingerprints");
             else if (k == "namespaces")
               r.namespaces = text_list(v, at, "namespaces");
             else if (k == "owners")
               r.owners = text_list(v, at, "owners");
             else if (k == "executables")
               r.executables = text_list(v, at, "executable paths or names");
             else
               return false;
             return true;
           });
  if (r.providers.empty() && r.hosts.empty() && r.key_fingerprints.empty() && r.namespaces.empty() &&
      r.owners.empty() && r.executables.empty())
    fail(where,
         "needs at least one of providers, hosts, key_fingerprints, namespaces, owners, executables "
         "(a rule without a condition would sanction every call)");
  return r;
}

}  // namespace

OwnerConfig parse_owner_config(const YAML::Node& node, const std::string& where) {
  OwnerConfig c;
  if (!node.IsDefined() || node.IsNull()) return c;
  each_key(node, where, "of owner settings",
           [&](const std::string& k, const YAML::Node& v, const std::string& at) {
             if (k == "keys") {
               c.keys = text_list(v, at, "label keys");
             } else if (k == "environment_keys") {
               c.environment_keys = text_list(v, at, "label keys");
             } else if (k == "unallocated") {
               c.unallocated = text(v, at);
             } else if (k == "rules") {
               c.rules.clear();
               if (v.IsNull()) return true;
               if (!v.IsSequence()) fail(at, "expected a list of {systemd_unit, executable, user, owner}");
               for (std::size_t i = 0; i < v.size(); ++i) c.rules.push_back(owner_rule(v[i], index(at, i)));
             } else {
               return false;
             }
             return true;
           });
  return c;
}

PolicyConfig parse_policy_config(const YAML::Node& node, const std::string& where) {
  PolicyConfig c;
  if (!node.IsDefined() || node.IsNull()) return c;
  each_key(node, where, "of policy settings",
           [&](const std::string& k, const YAML::Node& v, const std::string& at) {
             if (k == "gateways") {
               c.gateways = text_list(v, at, "gateway host names");
             } else if (k == "sanctioned") {
               if (v.IsNull()) return true;
               if (!v.IsSequence()) fail(at, "expected a list of sanction rules");
               for (std::size_t i = 0; i < v.size(); ++i)
                 c.sanctioned.push_back(sanction_rule(v[i], index(at, i), i));
             } else {
               return false;
             }
             return true;
           });
  return c;
}

}  // namespace shadowmeter::policy
