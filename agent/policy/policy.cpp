// evaluate: a call is sanctioned when it goes to a configured gateway or matches a sanction rule;
// anything else is shadow AI, with a reason that says what was direct and what did not match.
// Reasons show only names, hosts and a cut hex fingerprint: never a credential or request text.
#include "policy/policy.h"

#include <algorithm>
#include <cstddef>
#include <string_view>

#include "policy/glob.h"
#include "policy/text.h"

namespace shadowmeter::policy {
namespace {

// Shown prefix of a key fingerprint; enough to find it in the collector, too short to be a key.
constexpr std::size_t kFingerprintShown = 12;

bool is_hex(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  });
}

// A fingerprint is hex; anything else may be a credential passed by mistake, so it is not echoed.
std::string shown_key(std::string_view fp) {
  if (!is_hex(fp)) return "key";
  if (fp.size() <= kFingerprintShown) return "key " + std::string(fp);
  return "key " + std::string(fp.substr(0, kFingerprintShown)) + "\u2026";
}

template <typename Match>
bool any_of(const std::vector<std::string>& patterns, Match match) {
  return std::any_of(patterns.begin(), patterns.end(), [&](const std::string& p) { return match(p); });
}

bool any_glob(const std::vector<std::string>& patterns, std::string_view value, Case c) {
  return !value.empty() && any_of(patterns, [&](const std::string& p) { return glob_match(p, value, c); });
}

std::string not_in_set(const std::string& what) { return what + " not in a sanctioned set"; }

// What of `call` this rule does not accept, one phrase per failed condition; empty when it matches.
std::vector<std::string> misses(const SanctionRule& r, const CallFacts& call) {
  std::vector<std::string> out;
  if (!r.providers.empty() && !any_glob(r.providers, call.provider, Case::insensitive))
    out.push_back(call.provider.empty() ? "no provider known"
                                        : not_in_set("provider " + shown(call.provider)));
  if (!r.hosts.empty() &&
      (call.host.empty() || !any_of(r.hosts, [&](const std::string& p) { return host_match(p, call.host); })))
    out.push_back(call.host.empty() ? "no host known" : not_in_set("host " + shown(call.host)));
  if (!r.key_fingerprints.empty() && !any_glob(r.key_fingerprints, call.key_fingerprint, Case::insensitive))
    out.push_back(call.key_fingerprint.empty() ? "no key seen" : not_in_set(shown_key(call.key_fingerprint)));
  if (!r.namespaces.empty() && !any_glob(r.namespaces, call.namespace_name, Case::sensitive))
    out.push_back(call.namespace_name.empty() ? "not in a namespace"
                                              : not_in_set("namespace " + shown(call.namespace_name)));
  if (!r.owners.empty() && !any_glob(r.owners, call.owner, Case::sensitive))
    out.push_back(call.owner.empty() ? "no owner known" : not_in_set("owner " + shown(call.owner)));
  if (!r.executables.empty() && !any_of(r.executables, [&](const std::string& p) {
        return executable_match(p, call.executable_path, call.executable_name);
      })) {
    const std::string& exe = call.executable_path.empty() ? call.executable_name : call.executable_path;
    out.push_back(exe.empty() ? "no executable known" : not_in_set("executable " + shown(exe)));
  }
  return out;
}

bool has_condition(const SanctionRule& r) {
  return !r.providers.empty() || !r.hosts.empty() || !r.key_fingerprints.empty() || !r.namespaces.empty() ||
         !r.owners.empty() || !r.executables.empty();
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

}  // namespace

ShadowVerdict evaluate(const PolicyConfig& config, const CallFacts& call) {
  if (!call.host.empty())
    for (const auto& gw : config.gateways)
      if (host_match(gw, call.host)) return {false, "via gateway " + shown(call.host)};

  // The rule that came closest (fewest failed conditions, first on a tie) explains the verdict.
  const SanctionRule* closest = nullptr;
  std::vector<std::string> closest_misses;
  for (const auto& rule : config.sanctioned) {
    if (!has_condition(rule)) continue;  // would sanction everything; parse rejects it, be safe here too
    std::vector<std::string> m = misses(rule, call);
    if (m.empty()) return {false, "rule " + shown(rule.name)};
    if (closest == nullptr || m.size() < closest_misses.size()) {
      closest = &rule;
      closest_misses = std::move(m);
    }
  }

  std::string reason = "direct access to ";
  reason += call.provider.empty() ? "an unknown provider" : shown(call.provider);
  if (!call.host.empty()) reason += " (" + shown(call.host) + ")";
  if (!call.namespace_name.empty()) reason += " from namespace " + shown(call.namespace_name);
  if (closest != nullptr)
    reason +=
        "; no sanctioned rule matches (" + shown(closest->name) + ": " + join(closest_misses, ", ") + ")";
  else if (!config.gateways.empty())
    reason += "; not through a sanctioned gateway and no sanctioned rule";
  else
    reason += "; no policy sanctions it";
  return {true, std::move(reason)};
}

}  // namespace shadowmeter::policy
