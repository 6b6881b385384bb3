// Usage event export: event ids, the flat JSON keyed by DESIGN.md names, and the stdout sink.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <set>
#include <string>

#include "export/sink.h"
#include "export/usage_event.h"

using namespace shadowmeter;
using exporting::UsageEvent;
using nlohmann::json;

namespace {

UsageEvent full_event() {
  UsageEvent e;
  e.event_id = "0123456789abcdef0123456789abcdef";
  e.time_unix_nano = 1741569952000000000ull;
  e.end_time_unix_nano = 1741569953250000000ull;
  e.host_name = "node-1";
  e.call.provider = "openai";
  e.call.operation = "chat";
  e.call.request_model = "gpt-4o";
  e.call.response_model = "gpt-4o-2024-08-06";
  e.call.response_id = "chatcmpl-1";
  e.call.stream = true;
  e.call.usage.input_tokens = 1117;
  e.call.usage.output_tokens = 46;
  e.call.usage.cache_read_input_tokens = 1024;
  e.call.usage.cache_write_input_tokens = 0;
  e.call.usage.reasoning_output_tokens = 10;
  e.call.usage.source = providers::UsageSource::stream;
  e.call.attributes = {{"shadowmeter.openai.request_id", "req_1"},
                       {"shadowmeter.openai.processing_ms", "312"}};
  e.server_address = "api.openai.com";
  e.server_port = 443;
  e.url_path = "/v1/chat/completions";
  e.http_method = "POST";
  e.http_status = 200;
  e.protocol_version = "1.1";
  e.process.pid = 4242;
  e.process.ppid = 1;
  e.process.executable_name = "python3.11";
  e.process.executable_path = "/usr/bin/python3.11";
  e.process.command_line = "python3 app.py --api-key=***";
  e.process.owner = "alice";
  e.tls_library = "openssl";
  return e;
}

}  // namespace

TEST_CASE("event ids are 32 lower-case hex characters and unique") {
  auto lower_hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); };
  std::set<std::string> ids;
  for (int i = 0; i < 10000; ++i) {
    std::string id = exporting::new_event_id();
    REQUIRE(id.size() == 32);
    REQUIRE(std::all_of(id.begin(), id.end(), lower_hex));
    ids.insert(std::move(id));
  }
  CHECK(ids.size() == 10000);
}

TEST_CASE("to_json: every field under its DESIGN.md name") {
  const json j = exporting::to_json(full_event());
  const json expected = {
      {"shadowmeter.event_id", "0123456789abcdef0123456789abcdef"},
      {"time_unix_nano", 1741569952000000000ull},
      {"end_time_unix_nano", 1741569953250000000ull},
      {"host.name", "node-1"},
      {"gen_ai.provider.name", "openai"},
      {"gen_ai.operation.name", "chat"},
      {"gen_ai.request.model", "gpt-4o"},
      {"gen_ai.response.model", "gpt-4o-2024-08-06"},
      {"gen_ai.response.id", "chatcmpl-1"},
      {"gen_ai.usage.input_tokens", 1117},
      {"gen_ai.usage.output_tokens", 46},
      {"gen_ai.usage.cache_read.input_tokens", 1024},
      {"gen_ai.usage.cache_write.input_tokens", 0},
      {"gen_ai.usage.reasoning.output_tokens", 10},
      {"shadowmeter.usage.source", "stream"},
      {"shadowmeter.stream", true},
      {"server.address", "api.openai.com"},
      {"server.port", 443},
      {"url.path", "/v1/chat/completions"},
      {"http.request.method", "POST"},
      {"http.response.status_code", 200},
      {"network.protocol.version", "1.1"},
      {"process.pid", 4242},
      {"process.parent_pid", 1},
      {"process.executable.name", "python3.11"},
      {"process.executable.path", "/usr/bin/python3.11"},
      {"process.command_line", "python3 app.py --api-key=***"},
      {"process.owner", "alice"},
      {"shadowmeter.tls.library", "openssl"},
      {"shadowmeter.visibility", "plaintext"},
      {"shadowmeter.openai.request_id", "req_1"},
      {"shadowmeter.openai.processing_ms", "312"},
  };
  CHECK(j == expected);
  CHECK(j.dump().find("\"gen_ai.usage.input_tokens\":1117") != std::string::npos);  // integers, not strings
  CHECK(j["time_unix_nano"].is_number_unsigned());
}

TEST_CASE("a connection_only event is one connection: a count of 1, no usage source, no stream flag") {
  UsageEvent e;
  e.event_id = "ffffffffffffffffffffffffffffffff";
  e.host_name = "node-2";
  e.call.provider = "anthropic";
  e.visibility = "connection_only";
  e.protocol_version.clear();
  const json expected = {
      {"shadowmeter.event_id", "ffffffffffffffffffffffffffffffff"},
      {"time_unix_nano", 0},
      {"end_time_unix_nano", 0},
      {"host.name", "node-2"},
      {"gen_ai.provider.name", "anthropic"},
      {"shadowmeter.connection.count", 1},
      {"process.pid", 0},
      {"shadowmeter.visibility", "connection_only"},
  };
  CHECK(exporting::to_json(e) == expected);
  e.visibility = "plaintext";  // a readable call with nothing known still says so
  CHECK(exporting::to_json(e)["shadowmeter.usage.source"] == "none");
  CHECK(exporting::to_json(e)["shadowmeter.stream"] == false);
  CHECK_FALSE(exporting::to_json(e).contains("shadowmeter.connection.count"));
}

TEST_CASE("scrub_strings: the call's exact credential leaves every string field") {
  UsageEvent e = full_event();
  const std::string key = "Zk8-custom-gateway-key";
  e.process.command_line = "app --gw " + key;
  e.process.executable_path = "/srv/" + key + "/app";
  e.url_path = "/v1/" + key + "/chat";
  e.k8s_pod_name = "pod-" + key;
  e.call.attributes.emplace_back("shadowmeter.x", "v=" + key);
  exporting::scrub_strings(e, key);
  const std::string dumped = exporting::to_json(e).dump();
  CHECK(dumped.find(key) == std::string::npos);
  CHECK(e.process.command_line == "app --gw ***");
  CHECK(e.process.executable_path == "/srv/***/app");
  CHECK(e.url_path == "/v1/***/chat");
  CHECK(dumped.find("shadowmeter.x") != std::string::npos);
}

TEST_CASE("error.type: the capture's error first, else the provider's") {
  UsageEvent e = full_event();
  CHECK_FALSE(exporting::to_json(e).contains("error.type"));
  e.call.error_type = "invalid_json";
  CHECK(exporting::to_json(e)["error.type"] == "invalid_json");
  e.error_type = "truncated";
  CHECK(exporting::to_json(e)["error.type"] == "truncated");
}

TEST_CASE("cost: present with its pricing source only when priced") {
  UsageEvent e = full_event();
  CHECK_FALSE(exporting::to_json(e).contains("shadowmeter.cost.usd"));
  CHECK_FALSE(exporting::to_json(e).contains("shadowmeter.cost.pricing_source"));
  e.cost_usd = 0.0123;
  e.pricing_source = "builtin:2026-07-24:gpt-4o";
  const auto j = exporting::to_json(e);
  CHECK(j["shadowmeter.cost.usd"].get<double>() == Approx(0.0123).epsilon(1e-12));
  CHECK(j["shadowmeter.cost.pricing_source"] == "builtin:2026-07-24:gpt-4o");
}

TEST_CASE("workload, owner, shadow verdict and credential fingerprint under their schema names") {
  UsageEvent e = full_event();
  e.container_id = "a3f9";
  e.container_runtime = "containerd";
  e.k8s_pod_uid = "5f3c";
  e.k8s_pod_name = "checkout-1";
  e.k8s_namespace = "payments";
  e.k8s_container_name = "app";
  e.k8s_workload_kind = "StatefulSet";
  e.k8s_workload_name = "ledger";
  e.k8s_qos_class = "burstable";
  e.owner = "payments-team";
  e.environment = "prod";
  e.shadow = true;
  e.shadow_reason = "direct access to openai (api.openai.com)";
  e.api_key_fingerprint = "013f786a319c16585c0b19198b8ecee4";
  e.api_key_hint = "sk-proj";
  const auto j = exporting::to_json(e);
  CHECK(j["container.id"] == "a3f9");
  CHECK(j["container.runtime"] == "containerd");
  CHECK(j["k8s.pod.uid"] == "5f3c");
  CHECK(j["k8s.pod.name"] == "checkout-1");
  CHECK(j["k8s.namespace.name"] == "payments");
  CHECK(j["k8s.container.name"] == "app");
  CHECK(j["k8s.statefulset.name"] == "ledger");
  CHECK(j["shadowmeter.k8s.qos_class"] == "burstable");
  CHECK(j["shadowmeter.owner"] == "payments-team");
  CHECK(j["deployment.environment"] == "prod");
  CHECK(j["shadowmeter.shadow"] == true);
  CHECK(j["shadowmeter.shadow.reason"] == "direct access to openai (api.openai.com)");
  CHECK(j["shadowmeter.api_key.fingerprint"] == "013f786a319c16585c0b19198b8ecee4");
  CHECK(j["shadowmeter.api_key.hint"] == "sk-proj");
  e.process.ppid = 77;
  e.process_start_unix_ns = 1795430550871182703ull;
  CHECK(exporting::to_json(e)["process.parent_pid"] == 77);
  CHECK(exporting::to_json(e)["process.creation.time"] == "2026-11-23T10:42:30.871Z");
  e.systemd_unit = "etl.service";
  CHECK(exporting::to_json(e)["shadowmeter.systemd.unit"] == "etl.service");
  UsageEvent bare = full_event();
  const auto b = exporting::to_json(bare);
  for (const char* k : {"container.id", "k8s.pod.name", "shadowmeter.shadow", "shadowmeter.api_key.fingerprint"})
    CHECK_FALSE(b.contains(k));
}

TEST_CASE("provider attributes never replace schema keys") {
  UsageEvent e = full_event();
  e.call.attributes = {{"gen_ai.provider.name", "spoofed"},
                       {"shadowmeter.azure.deployment", "d1"},
                       {"", "x"},
                       {"shadowmeter.empty", ""}};
  const json j = exporting::to_json(e);
  CHECK(j["gen_ai.provider.name"] == "openai");
  CHECK(j["shadowmeter.azure.deployment"] == "d1");
  CHECK_FALSE(j.contains(""));
  CHECK_FALSE(j.contains("shadowmeter.empty"));
}

TEST_CASE("StdoutSink writes one JSON object per line") {
  std::FILE* f = std::tmpfile();
  REQUIRE(f);
  exporting::StdoutSink sink(f, true);
  UsageEvent e = full_event();
  sink.emit(e);
  e.event_id = "11111111111111111111111111111111";
  e.process.command_line = "bad \xff\xfe utf-8";  // not UTF-8: must not throw
  sink.emit(e);
  sink.flush();
  CHECK(sink.written() == 2);

  std::rewind(f);
  std::string text;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  std::fclose(f);

  REQUIRE(std::count(text.begin(), text.end(), '\n') == 2);
  const auto nl = text.find('\n');
  const json first = json::parse(text.substr(0, nl));
  const json second = json::parse(text.substr(nl + 1, text.size() - nl - 2));
  CHECK(first == exporting::to_json(full_event()));
  CHECK(second["shadowmeter.event_id"] == "11111111111111111111111111111111");
  CHECK(second["process.command_line"] == "bad \xEF\xBF\xBD\xEF\xBF\xBD utf-8");
  CHECK(text.back() == '\n');
}
