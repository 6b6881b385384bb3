// Owner resolution, the shadow-AI verdict and the owner:/policy: YAML sections.
#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>
#include <map>
#include <stdexcept>
#include <string>

#include "policy/glob.h"
#include "policy/policy.h"
#include "policy/text.h"

using Catch::Matchers::Equals;
using shadowmeter::policy::CallerFacts;
using shadowmeter::policy::CallFacts;
using shadowmeter::policy::evaluate;
using shadowmeter::policy::OwnerConfig;
using shadowmeter::policy::OwnerRule;
using shadowmeter::policy::parse_owner_config;
using shadowmeter::policy::parse_policy_config;
using shadowmeter::policy::PolicyConfig;
using shadowmeter::policy::resolve_owner;
using shadowmeter::policy::SanctionRule;

namespace {

using Labels = std::map<std::string, std::string>;

CallFacts openai_call() {
  CallFacts c;
  c.provider = "openai";
  c.host = "api.openai.com";
  c.key_fingerprint = "4f2a9c0e7b1d55aa0123";
  c.namespace_name = "payments";
  c.owner = "billing";
  c.executable_path = "/usr/bin/python3.11";
  c.executable_name = "python3.11";
  return c;
}

OwnerConfig owner_yaml(const std::string& text) {
  return parse_owner_config(YAML::Load(text), "agent.yaml:3: owner");
}

PolicyConfig policy_yaml(const std::string& text) {
  return parse_policy_config(YAML::Load(text), "agent.yaml:12: policy");
}

}  // namespace

TEST_CASE("glob matching", "[policy][glob]") {
  using shadowmeter::policy::Case;
  using shadowmeter::policy::executable_match;
  using shadowmeter::policy::glob_match;
  using shadowmeter::policy::host_match;
  CHECK(glob_match("billing-*.service", "billing-api.service"));
  CHECK(glob_match("billing-*.service", "billing-.service"));
  CHECK_FALSE(glob_match("billing-*.service", "billing-api.socket"));
  CHECK(glob_match("a?c", "abc"));
  CHECK_FALSE(glob_match("a?c", "ac"));
  CHECK(glob_match("*", ""));
  CHECK(glob_match("**a*b", "xxaxxb"));
  CHECK_FALSE(glob_match("*a*b", "xxaxxbx"));
  CHECK(glob_match("", ""));
  CHECK_FALSE(glob_match("", "x"));
  CHECK_FALSE(glob_match("ABC", "abc"));
  CHECK(glob_match("ABC", "abc", Case::insensitive));
  CHECK(host_match("*.OpenAI.com", "api.openai.com"));
  CHECK(host_match("llm-gw.corp", "llm-gw.corp:8443"));
  CHECK_FALSE(host_match("llm-gw.corp:443", "llm-gw.corp:8443"));
  CHECK(host_match("llm-gw.corp:8443", "LLM-GW.corp:8443"));
  CHECK_FALSE(host_match("llm-gw.corp", "llm-gw.corp:x"));
  CHECK(executable_match("/opt/etl/*", "/opt/etl/bin/run", "run"));
  CHECK_FALSE(executable_match("/opt/etl/*", "", "etl"));
  CHECK(executable_match("python3*", "/usr/bin/python3.11", "python3.11"));
  CHECK(executable_match("python3*", "/usr/bin/python3.11", ""));  // name taken from the path
  CHECK_FALSE(executable_match("python3*", "", ""));
  // Long adversarial input stays quick (no exponential backtracking).
  CHECK_FALSE(glob_match("*a*a*a*a*a*a*a*b", std::string(5000, 'a')));
}

TEST_CASE("values are trimmed, bounded and cut on a character boundary", "[policy][text]") {
  using shadowmeter::policy::shown;
  using shadowmeter::policy::trim_bounded;
  CHECK(trim_bounded("  team-a \t\n") == "team-a");
  CHECK(trim_bounded(std::string(300, 'x')) == std::string(256, 'x'));
  // 255 ASCII bytes then a 2-byte character: the character would straddle the limit, so it is left out.
  CHECK(trim_bounded(std::string(255, 'x') + "\xc3\xa9" + "y") == std::string(255, 'x'));
  CHECK(shown("a\nb\x01") == "a?b?");
}

TEST_CASE("owner from pod labels, annotations and namespace labels", "[policy][owner]") {
  const OwnerConfig config;  // keys team, cost-center, app.kubernetes.io/part-of
  Labels pod_labels{{"app", "web"}, {"cost-center", "cc-42"}};
  Labels pod_annotations{{"team", "payments-annotated"}};
  Labels ns_labels{{"team", "ns-team"}, {"environment", "prod"}};
  CallerFacts f;
  f.pod_labels = &pod_labels;
  f.pod_annotations = &pod_annotations;
  f.namespace_labels = &ns_labels;
  f.namespace_name = "payments";

  SECTION("for the first key, a pod annotation beats the namespace label and later keys on the pod") {
    const auto o = resolve_owner(config, f);
    CHECK(o.owner == "payments-annotated");
    CHECK(o.from == "pod annotation team");
    CHECK(o.environment == "prod");
  }
  SECTION("a pod label beats a pod annotation for the same key") {
    pod_labels["team"] = "  payments  ";
    const auto o = resolve_owner(config, f);
    CHECK(o.owner == "payments");
    CHECK(o.from == "pod label team");
  }
  SECTION("the namespace label is used when the pod has nothing for the key") {
    pod_annotations.clear();
    const auto o = resolve_owner(config, f);
    CHECK(o.owner == "ns-team");
    CHECK(o.from == "namespace label team");
  }
  SECTION("keys are tried in configured order") {
    pod_annotations.clear();
    ns_labels.erase("team");
    auto o = resolve_owner(config, f);
    CHECK(o.owner == "cc-42");
    CHECK(o.from == "pod label cost-center");
    OwnerConfig reordered;
    reordered.keys = {"app", "team"};
    o = resolve_owner(reordered, f);
    CHECK(o.owner == "web");
    CHECK(o.from == "pod label app");
  }
  SECTION("empty or blank values are skipped") {
    pod_labels["team"] = "   ";
    pod_annotations["team"] = "";
    const auto o = resolve_owner(config, f);
    CHECK(o.owner == "ns-team");
    CHECK(o.from == "namespace label team");
  }
  SECTION("long values are cut to 256 characters") {
    pod_labels["team"] = std::string(1000, 't');
    const auto o = resolve_owner(config, f);
    CHECK(o.owner == std::string(256, 't'));
  }
}

TEST_CASE("environment from the environment keys", "[policy][owner]") {
  Labels pod_labels{{"env", "staging"}, {"team", "a"}};
  Labels pod_annotations{{"deployment.environment", "canary"}};
  Labels ns_labels{{"environment", "prod"}};
  CallerFacts f;
  f.pod_labels = &pod_labels;
  f.pod_annotations = &pod_annotations;
  f.namespace_labels = &ns_labels;
  OwnerConfig config;
  // "environment" is the first key: found only on the namespace, it wins over the pod's "env".
  CHECK(resolve_owner(config, f).environment == "prod");
  config.environment_keys = {"env", "environment"};
  CHECK(resolve_owner(config, f).environment == "staging");
  config.environment_keys = {"deployment.environment"};
  CHECK(resolve_owner(config, f).environment == "canary");
  config.environment_keys = {};
  CHECK(resolve_owner(config, f).environment.empty());
  CallerFacts host_process;
  host_process.systemd_unit = "x.service";
  CHECK(resolve_owner(OwnerConfig{}, host_process).environment.empty());
}

TEST_CASE("owner rules outside pods", "[policy][owner]") {
  OwnerConfig config;
  config.rules = {
      OwnerRule{"billing-*.service", "", "", "billing"},
      OwnerRule{"", "/opt/etl/*", "etl", "data-eng"},
      OwnerRule{"", "python?", "", "scripts"},
      OwnerRule{"", "", "ro*t", "ops"},
  };
  CallerFacts f;
  SECTION("systemd unit glob") {
    f.systemd_unit = "billing-invoices.service";
    const auto o = resolve_owner(config, f);
    CHECK(o.owner == "billing");
    CHECK(o.from == "rule 1");
  }
  SECTION("every given field must match") {
    f.executable_path = "/opt/etl/load";
    f.executable_name = "load";
    f.user = "etl";
    auto o = resolve_owner(config, f);
    CHECK(o.owner == "data-eng");
    CHECK(o.from == "rule 2");
    f.user = "alice";
    o = resolve_owner(config, f);
    CHECK(o.owner == "unallocated");
    CHECK(o.from == "none");
  }
  SECTION("executable by name") {
    f.executable_path = "/usr/bin/python3";
    f.executable_name = "python3";
    const auto o = resolve_owner(config, f);
    CHECK(o.owner == "scripts");
    CHECK(o.from == "rule 3");
  }
  SECTION("user glob") {
    f.user = "root";
    const auto o = resolve_owner(config, f);
    CHECK(o.owner == "ops");
    CHECK(o.from == "rule 4");
  }
  SECTION("the first matching rule wins") {
    f.systemd_unit = "billing-x.service";
    f.user = "root";
    CHECK(resolve_owner(config, f).from == "rule 1");
  }
  SECTION("an empty fact does not match a '*' rule") {
    OwnerConfig any_unit;
    any_unit.rules = {OwnerRule{"*", "", "", "units"}};
    CHECK(resolve_owner(any_unit, f).owner == "unallocated");
    f.systemd_unit = "a.service";
    CHECK(resolve_owner(any_unit, f).owner == "units");
  }
  SECTION("nothing matches: the configured unallocated bucket") {
    config.unallocated = "nobody";
    f.systemd_unit = "sshd.service";
    const auto o = resolve_owner(config, f);
    CHECK(o.owner == "nobody");
    CHECK(o.from == "none");
    CHECK(o.environment.empty());
  }
  SECTION("an empty unallocated still gives an owner") {
    config.unallocated = "";
    CHECK(resolve_owner(config, f).owner == "unallocated");
  }
}

TEST_CASE("owner rules apply to pods without an owner label", "[policy][owner]") {
  OwnerConfig config;
  config.rules = {OwnerRule{"", "vllm*", "", "ml-platform"}};
  Labels pod_labels{{"app", "inference"}, {"env", "dev"}};
  Labels empty;
  CallerFacts f;
  f.pod_labels = &pod_labels;
  f.pod_annotations = &empty;
  f.namespace_labels = &empty;
  f.executable_name = "vllm-server";
  auto o = resolve_owner(config, f);
  CHECK(o.owner == "ml-platform");
  CHECK(o.from == "rule 1");
  CHECK(o.environment == "dev");
  pod_labels["team"] = "infer";
  o = resolve_owner(config, f);
  CHECK(o.owner == "infer");
  CHECK(o.from == "pod label team");
}

TEST_CASE("default policy: every call is shadow", "[policy][evaluate]") {
  const auto v = evaluate(PolicyConfig{}, openai_call());
  CHECK(v.shadow);
  CHECK_THAT(
      v.reason,
      Equals("direct access to openai (api.openai.com) from namespace payments; no policy sanctions it"));
  CallFacts bare;
  bare.provider = "anthropic";
  bare.host = "api.anthropic.com";
  CHECK_THAT(evaluate(PolicyConfig{}, bare).reason,
             Equals("direct access to anthropic (api.anthropic.com); no policy sanctions it"));
  CHECK_THAT(evaluate(PolicyConfig{}, CallFacts{}).reason,
             Equals("direct access to an unknown provider; no policy sanctions it"));
}

TEST_CASE("gateways sanction calls by host glob", "[policy][evaluate]") {
  PolicyConfig config;
  config.gateways = {"llm-gateway.corp.example", "*.ai-gw.internal"};
  CallFacts c = openai_call();
  c.host = "LLM-Gateway.corp.example";
  auto v = evaluate(config, c);
  CHECK_FALSE(v.shadow);
  CHECK(v.reason == "via gateway LLM-Gateway.corp.example");
  c.host = "eu.ai-gw.internal:8443";
  v = evaluate(config, c);
  CHECK_FALSE(v.shadow);
  CHECK(v.reason == "via gateway eu.ai-gw.internal:8443");
  c.host = "api.openai.com";
  v = evaluate(config, c);
  CHECK(v.shadow);
  CHECK(v.reason ==
        "direct access to openai (api.openai.com) from namespace payments; not through a sanctioned gateway "
        "and no "
        "sanctioned rule");
  c.host = "";
  CHECK(evaluate(PolicyConfig{{"*"}, {}}, c).shadow);  // no host: a gateway cannot be recognised
}

TEST_CASE("each sanction rule field", "[policy][evaluate]") {
  const CallFacts c = openai_call();
  auto check_rule = [&](SanctionRule rule, const std::string& miss_reason) {
    rule.name = "r";
    PolicyConfig config;
    config.sanctioned = {rule};
    const auto ok = evaluate(config, c);
    CHECK_FALSE(ok.shadow);
    CHECK(ok.reason == "rule r");
    // Replace the matching pattern by one that fails.
    for (auto* list : {&rule.providers, &rule.hosts, &rule.key_fingerprints, &rule.namespaces, &rule.owners,
                       &rule.executables})
      if (!list->empty()) *list = {"nope"};
    config.sanctioned = {rule};
    const auto bad = evaluate(config, c);
    CHECK(bad.shadow);
    CHECK(bad.reason ==
          "direct access to openai (api.openai.com) from namespace payments; no sanctioned rule "
          "matches (r: " +
              miss_reason + ")");
  };
  SanctionRule r;
  r.providers = {"anthropic", "OpenAI"};
  check_rule(r, "provider openai not in a sanctioned set");
  r = {};
  r.hosts = {"*.OPENAI.com"};
  check_rule(r, "host api.openai.com not in a sanctioned set");
  r = {};
  r.key_fingerprints = {"4F2A9C0E*"};
  check_rule(r, "key 4f2a9c0e7b1d\u2026 not in a sanctioned set");
  r = {};
  r.namespaces = {"pay*"};
  check_rule(r, "namespace payments not in a sanctioned set");
  r = {};
  r.owners = {"billing"};
  check_rule(r, "owner billing not in a sanctioned set");
  r = {};
  r.executables = {"/usr/bin/python3*"};
  check_rule(r, "executable /usr/bin/python3.11 not in a sanctioned set");
  r = {};
  r.executables = {"python3.1?"};
  check_rule(r, "executable /usr/bin/python3.11 not in a sanctioned set");
}

TEST_CASE("combined rules: every list must match, the closest rule explains", "[policy][evaluate]") {
  PolicyConfig config;
  SanctionRule platform;
  platform.name = "platform-openai";
  platform.providers = {"openai", "azure.ai.openai"};
  platform.key_fingerprints = {"aaaa1111"};
  platform.namespaces = {"ml-*"};
  SanctionRule research;
  research.name = "research";
  research.owners = {"research"};
  research.namespaces = {"lab"};
  config.sanctioned = {research, platform};
  CallFacts c = openai_call();
  auto v = evaluate(config, c);
  CHECK(v.shadow);
  // Both rules miss twice: the first one listed explains.
  CHECK(v.reason ==
        "direct access to openai (api.openai.com) from namespace payments; no sanctioned rule matches "
        "(research: namespace payments not in a sanctioned set, owner billing not in a sanctioned set)");
  c.namespace_name = "ml-train";
  v = evaluate(config, c);
  CHECK(v.reason ==
        "direct access to openai (api.openai.com) from namespace ml-train; no sanctioned rule matches "
        "(platform-openai: key 4f2a9c0e7b1d\u2026 not in a sanctioned set)");
  c.key_fingerprint = "aaaa1111";
  v = evaluate(config, c);
  CHECK_FALSE(v.shadow);
  CHECK(v.reason == "rule platform-openai");
  c.provider = "anthropic";
  CHECK(evaluate(config, c).shadow);
  c.owner = "research";
  c.namespace_name = "lab";
  v = evaluate(config, c);
  CHECK_FALSE(v.shadow);
  CHECK(v.reason == "rule research");
}

TEST_CASE("missing facts never match and are named", "[policy][evaluate]") {
  SanctionRule r;
  r.name = "all";
  r.providers = {"*"};
  r.hosts = {"*"};
  r.key_fingerprints = {"*"};
  r.namespaces = {"*"};
  r.owners = {"*"};
  r.executables = {"*"};
  PolicyConfig config;
  config.sanctioned = {r};
  CHECK_FALSE(evaluate(config, openai_call()).shadow);
  const auto v = evaluate(config, CallFacts{});
  CHECK(v.shadow);
  CHECK(v.reason ==
        "direct access to an unknown provider; no sanctioned rule matches (all: no provider known, no host "
        "known, no "
        "key seen, not in a namespace, no owner known, no executable known)");
  SanctionRule empty;  // built in code with no condition: ignored rather than sanctioning everything
  empty.name = "empty";
  CHECK(evaluate(PolicyConfig{{}, {empty}}, openai_call()).reason ==
        "direct access to openai (api.openai.com) from namespace payments; no policy sanctions it");
}

TEST_CASE("reasons never echo a credential", "[policy][evaluate]") {
  SanctionRule r;
  r.name = "keys";
  r.key_fingerprints = {"0000"};
  PolicyConfig config;
  config.sanctioned = {r};
  CallFacts c = openai_call();
  c.key_fingerprint = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789";
  auto v = evaluate(config, c);
  CHECK(v.shadow);
  CHECK(v.reason.find("sk-") == std::string::npos);
  CHECK(v.reason.find("AbCd") == std::string::npos);
  CHECK(v.reason ==
        "direct access to openai (api.openai.com) from namespace payments; no sanctioned rule matches (keys: "
        "key not "
        "in a sanctioned set)");
  c.key_fingerprint = std::string(64, 'f');
  v = evaluate(config, c);
  CHECK(v.reason.find(std::string(13, 'f')) == std::string::npos);
  CHECK(v.reason.find("key ffffffffffff\u2026 not") != std::string::npos);
  c.key_fingerprint = "abc123";  // short fingerprints are shown whole, without an ellipsis
  CHECK(evaluate(config, c).reason.find("(keys: key abc123 not in a sanctioned set)") != std::string::npos);
  c.namespace_name = "ns\nInjected: line";
  CHECK(evaluate(config, c).reason.find("from namespace ns?Injected: line;") != std::string::npos);
  c.host = std::string(5000, 'h');
  CHECK(evaluate(PolicyConfig{}, c).reason.size() < 700);
}

TEST_CASE("YAML: full example", "[policy][yaml]") {
  const auto owner = owner_yaml(R"(
keys: [team, cost-center, app.kubernetes.io/part-of]
environment_keys: [environment, env]
unallocated: shared-pool
rules: [{systemd_unit: "billing-*.service", owner: billing}, {executable: "/opt/etl/*", user: etl, owner: data-eng}]
)");
  CHECK(owner.keys == std::vector<std::string>{"team", "cost-center", "app.kubernetes.io/part-of"});
  CHECK(owner.environment_keys == std::vector<std::string>{"environment", "env"});
  CHECK(owner.unallocated == "shared-pool");
  REQUIRE(owner.rules.size() == 2);
  CHECK(owner.rules[0].systemd_unit == "billing-*.service");
  CHECK(owner.rules[0].executable.empty());
  CHECK(owner.rules[0].owner == "billing");
  CHECK(owner.rules[1].executable == "/opt/etl/*");
  CHECK(owner.rules[1].user == "etl");
  CHECK(owner.rules[1].owner == "data-eng");

  const auto policy = policy_yaml(R"(
gateways: [llm-gateway.corp.example]
sanctioned:
  - {name: platform-openai, providers: [openai, azure.ai.openai], key_fingerprints: [4f2a9c0e], namespaces: [ml-*]}
  - hosts: ["*.internal"]
    owners: [research]
    executables: [jupyter*]
)");
  CHECK(policy.gateways == std::vector<std::string>{"llm-gateway.corp.example"});
  REQUIRE(policy.sanctioned.size() == 2);
  CHECK(policy.sanctioned[0].name == "platform-openai");
  CHECK(policy.sanctioned[0].providers == std::vector<std::string>{"openai", "azure.ai.openai"});
  CHECK(policy.sanctioned[0].key_fingerprints == std::vector<std::string>{"4f2a9c0e"});
  CHECK(policy.sanctioned[0].namespaces == std::vector<std::string>{"ml-*"});
  CHECK(policy.sanctioned[0].hosts.empty());
  CHECK(policy.sanctioned[1].name == "sanctioned[1]");
  CHECK(policy.sanctioned[1].hosts == std::vector<std::string>{"*.internal"});
  CHECK(policy.sanctioned[1].owners == std::vector<std::string>{"research"});
  CHECK(policy.sanctioned[1].executables == std::vector<std::string>{"jupyter*"});
}

TEST_CASE("YAML: the shipped example snippet parses", "[policy][yaml]") {
  const YAML::Node root = YAML::LoadFile(SM_POLICY_EXAMPLE_FILE);
  const auto owner = parse_owner_config(root["owner"], "example: owner");
  CHECK(owner.rules.size() == 2);
  const auto policy = parse_policy_config(root["policy"], "example: policy");
  CHECK(policy.gateways.size() == 1);
  CHECK(policy.sanctioned.size() == 2);
}

TEST_CASE("YAML: absent or empty sections give the defaults", "[policy][yaml]") {
  const YAML::Node root = YAML::Load("other: 1");
  const auto owner = parse_owner_config(root["owner"], "x: owner");
  CHECK(owner.keys == OwnerConfig{}.keys);
  CHECK(owner.environment_keys == OwnerConfig{}.environment_keys);
  CHECK(owner.unallocated == "unallocated");
  CHECK(owner.rules.empty());
  const auto policy = parse_policy_config(YAML::Load("~"), "x: policy");
  CHECK(policy.gateways.empty());
  CHECK(policy.sanctioned.empty());
  CHECK(owner_yaml("keys: []").keys.empty());
  CHECK(owner_yaml("keys:").keys.empty());
  CHECK(policy_yaml("sanctioned:").sanctioned.empty());
  CHECK(owner_yaml("unallocated: '  pool '").unallocated == "pool");
}

TEST_CASE("YAML: errors name the key and the problem", "[policy][yaml]") {
  auto owner_error = [](const std::string& text) {
    try {
      owner_yaml(text);
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  auto policy_error = [](const std::string& text) {
    try {
      policy_yaml(text);
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(owner_error("[a]") == "agent.yaml:3: owner: expected a mapping of owner settings");
  CHECK(owner_error("team: x") == "agent.yaml:3: owner.team: unknown key");
  CHECK(owner_error("keys: team") == "agent.yaml:3: owner.keys: expected a list of label keys");
  CHECK(owner_error("keys: [team, [x]]") == "agent.yaml:3: owner.keys[1]: expected text");
  CHECK(owner_error("keys: [team, '']") == "agent.yaml:3: owner.keys[1]: must not be empty");
  CHECK(owner_error("environment_keys: {a: b}") ==
        "agent.yaml:3: owner.environment_keys: expected a list of label keys");
  CHECK(owner_error("unallocated: [a]") == "agent.yaml:3: owner.unallocated: expected text");
  CHECK(owner_error("unallocated: ''") == "agent.yaml:3: owner.unallocated: must not be empty");
  CHECK(owner_error("unallocated:") == "agent.yaml:3: owner.unallocated: expected text");
  CHECK(owner_error("unallocated: " + std::string(257, 'u')) ==
        "agent.yaml:3: owner.unallocated: longer than 256 characters");
  CHECK(owner_error("keys: [a]\nkeys: [b]") == "agent.yaml:3: owner.keys: duplicate key");
  CHECK(owner_error("rules: {owner: a}") ==
        "agent.yaml:3: owner.rules: expected a list of {systemd_unit, executable, user, owner}");
  CHECK(owner_error("rules: [x]") ==
        "agent.yaml:3: owner.rules[0]: expected a mapping {systemd_unit, executable, user, owner}");
  CHECK(owner_error("rules: [{user: a, owner: b}, {user: c, ownr: d}]") ==
        "agent.yaml:3: owner.rules[1].ownr: unknown key");
  CHECK(owner_error("rules: [{user: a}]") == "agent.yaml:3: owner.rules[0]: needs an owner");
  CHECK(
      owner_error("rules: [{owner: a}]") ==
      "agent.yaml:3: owner.rules[0]: needs at least one of systemd_unit, executable, user (a rule without a "
      "condition would match every process)");
  CHECK(owner_error("rules: [{user: [a], owner: b}]") == "agent.yaml:3: owner.rules[0].user: expected text");

  CHECK(policy_error("gateways: a") ==
        "agent.yaml:12: policy.gateways: expected a list of gateway host names");
  CHECK(policy_error("gateway: [a]") == "agent.yaml:12: policy.gateway: unknown key");
  CHECK(policy_error("sanctioned: {name: a}") ==
        "agent.yaml:12: policy.sanctioned: expected a list of sanction rules");
  CHECK(policy_error("sanctioned: [{name: a, providers: [openai], hostz: [x]}]") ==
        "agent.yaml:12: policy.sanctioned[0].hostz: unknown key");
  CHECK(policy_error("sanctioned: [{name: a, providers: openai}]") ==
        "agent.yaml:12: policy.sanctioned[0].providers: expected a list of provider names");
  CHECK(policy_error("sanctioned: [{name: a, providers: [openai]}, {name: b, hosts: [{x: y}]}]") ==
        "agent.yaml:12: policy.sanctioned[1].hosts[0]: expected text");
  CHECK(policy_error("sanctioned: [{name: [a], owners: [x]}]") ==
        "agent.yaml:12: policy.sanctioned[0].name: expected text");
  CHECK(policy_error("sanctioned: [{name: everything}]") ==
        "agent.yaml:12: policy.sanctioned[0]: needs at least one of providers, hosts, key_fingerprints, "
        "namespaces, "
        "owners, executables (a rule without a condition would sanction every call)");
  CHECK(policy_error("sanctioned: [{name: open, providers: []}]") ==
        "agent.yaml:12: policy.sanctioned[0]: needs at least one of providers, hosts, key_fingerprints, "
        "namespaces, "
        "owners, executables (a rule without a condition would sanction every call)");
  CHECK(policy_error("sanctioned: [7]") ==
        "agent.yaml:12: policy.sanctioned[0]: expected a mapping {name, providers, hosts, key_fingerprints, "
        "namespaces, owners, executables}");
}
