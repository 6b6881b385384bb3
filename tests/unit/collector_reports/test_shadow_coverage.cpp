// Shadow-AI findings and the coverage report over the seeded dataset (report_dataset.h), on SQLite and
// PostgreSQL. Figures computed by hand from the dataset's table.
#include "report_test_util.h"

using namespace shadowmeter::testing;
using namespace shadowmeter::testing::reports_data;
using nlohmann::json;

TEST_CASE("shadow findings: first seen over all history, new since a date", "[reports]") {
  SEEDED_STORE_PER_BACKEND(fx);
  auto& s = fx->store();
  auto q = range_query();
  q.since_unix_nano = kNov1;
  const json r = reports::run_report(s, "shadow", q);
  CHECK(r["since"] == "2026-11-01T00:00:00Z");
  // Two findings: python3 -> anthropic (E4 in range, E0 on 10-20 before it) and node -> acme (E6).
  CHECK(r["totals"]["findings"] == 2);
  CHECK(r["totals"]["new_findings"] == 1);  // E6's, first seen 11-01 13:00
  CHECK(r["totals"]["calls"] == 2);         // E0 is outside the range
  CHECK(r["totals"]["cost_usd"].get<double>() == usd(0.004));
  const json& f = r["findings"];
  REQUIRE(f.size() == 2);
  CHECK(f[0]["workload"] == "python3");
  CHECK(f[0]["k8s.namespace.name"] == "search");
  CHECK(f[0]["process.executable.name"] == "python3");
  CHECK(f[0]["gen_ai.provider.name"] == "anthropic");
  CHECK(f[0]["server.address"] == "api.anthropic.com");
  CHECK(f[0]["shadowmeter.api_key.fingerprint"] == "fp-c");
  CHECK(f[0]["reason"] == "unsanctioned provider");
  CHECK(f[0]["first_seen"] == "2026-10-20T00:00:00Z");
  CHECK(f[0]["last_seen"] == "2026-11-02T09:00:00Z");
  CHECK(f[0]["nodes"] == json::array({"node-b"}));
  CHECK(f[0]["calls"] == 1);
  CHECK(f[0]["input_tokens"] == 1000);
  CHECK(f[0]["output_tokens"] == 1000);
  CHECK(f[0]["cost_usd"].get<double>() == usd(0.004));
  CHECK(f[0]["new"] == false);
  CHECK(f[1]["workload"] == "deployment/batch");
  CHECK(f[1]["gen_ai.provider.name"] == "acme");
  CHECK(f[1]["server.address"] == "llm.acme.internal");
  CHECK(f[1]["shadowmeter.api_key.fingerprint"].is_null());
  CHECK(f[1]["reason"] == "unknown endpoint");
  CHECK(f[1]["first_seen"] == "2026-11-01T13:00:00Z");
  CHECK(f[1]["new"] == true);

  // Since 11-02: nothing is new. Default since = from: E6's finding is new, E4's is not (10-20).
  q.since_unix_nano = kNov2;
  CHECK(reports::run_report(s, "shadow", q)["totals"]["new_findings"] == 0);
  q.since_unix_nano.reset();
  const json by_default = reports::run_report(s, "shadow", q);
  CHECK(by_default["since"] == "2026-10-30T00:00:00Z");
  CHECK(by_default["totals"]["new_findings"] == 1);

  // Owner filter: E6 is owned by "unallocated".
  q.owner = "unallocated";
  const json owned = reports::run_report(s, "shadow", q);
  REQUIRE(owned["findings"].size() == 1);
  CHECK(owned["findings"][0]["gen_ai.provider.name"] == "acme");

  // A range without shadow calls in it has no findings even though E0 is stored.
  auto early = range_query();
  early.from_unix_nano = kOct26;
  early.to_unix_nano = kOct30;
  CHECK(reports::run_report(s, "shadow", early)["totals"]["findings"] == 0);
}

TEST_CASE("coverage: allocation and unowned workloads", "[reports]") {
  SEEDED_STORE_PER_BACKEND(fx);
  const json r = reports::run_report(fx->store(), "coverage", range_query());
  const json& a = r["allocation"];
  CHECK(a["total_cost_usd"].get<double>() == usd(0.0721));
  // owned (team-a 0.0651 + team-b 0.003); unallocated: E4 (no owner) 0.004 + E6 ("unallocated") 0
  CHECK(a["allocated_cost_usd"].get<double>() == usd(0.0681));
  CHECK(a["unallocated_cost_usd"].get<double>() == usd(0.004));
  CHECK(a["allocated_share"].get<double>() == Approx(0.0681 / 0.0721));
  // E4 (python3, 0.004) first, then by workload name: curl-go (E8), deployment/batch (E6).
  const json& w = a["unowned_workloads"];
  REQUIRE(w.size() == 3);
  CHECK(w[0]["workload"] == "python3");
  CHECK(w[0]["k8s.namespace.name"] == "search");
  CHECK(w[0]["node"] == "node-b");
  CHECK(w[0]["calls"] == 1);
  CHECK(w[0]["cost_usd"].get<double>() == usd(0.004));
  CHECK(w[1]["workload"] == "curl-go");
  CHECK(w[1]["k8s.namespace.name"].is_null());
  CHECK(w[2]["workload"] == "deployment/batch");
}

TEST_CASE("coverage: visibility shares, blind spots and their reasons", "[reports]") {
  SEEDED_STORE_PER_BACKEND(fx);
  const json r = reports::run_report(fx->store(), "coverage", range_query());
  const json& v = r["visibility"];
  // exact: R1 R2 E1 E2 E3 E5 E6 (response / stream / header); estimated: E4; none: E9. E7 and E8 are
  // blind connections: never counted as calls, nor in the shares.
  const json& o = v["overall"];
  CHECK(o["calls"] == 9);
  CHECK(o["exact"] == 7);
  CHECK(o["estimated"] == 1);
  CHECK(o["none"] == 1);
  CHECK(o["blind_connections"] == 2);
  CHECK(o["exact_share"].get<double>() == Approx(7.0 / 9));
  CHECK_FALSE(o.contains("connection_only"));
  CHECK_FALSE(o.contains("connection_only_share"));

  const json& by_node = v["by_node"];
  REQUIRE(by_node.size() == 3);
  CHECK(by_node[0]["node"] == "node-a");  // R1 E1 E2 E5 exact, E9 none
  CHECK(by_node[0]["exact"] == 4);
  CHECK(by_node[0]["none"] == 1);
  CHECK(by_node[1]["node"] == "node-b");  // R2 E3 E6 exact, E4 estimated, E7 blind
  CHECK(by_node[1]["exact"] == 3);
  CHECK(by_node[1]["estimated"] == 1);
  CHECK(by_node[1]["blind_connections"] == 1);
  CHECK(by_node[2]["node"] == "node-c");  // E8 only: no readable call
  CHECK(by_node[2]["calls"] == 0);
  CHECK(by_node[2]["blind_connections"] == 1);
  CHECK(by_node[2]["exact_share"].is_null());  // no readable call: no share to give

  const json& by_ns = v["by_namespace"];
  REQUIRE(by_ns.size() == 4);
  CHECK(by_ns[0]["k8s.namespace.name"] == "payments");
  CHECK(by_ns[1]["k8s.namespace.name"] == "search");
  CHECK(by_ns[1]["blind_connections"] == 1);
  CHECK(by_ns[2]["k8s.namespace.name"] == "ml");
  CHECK(by_ns[3]["k8s.namespace.name"].is_null());

  const json& by_exe = v["by_executable"];
  REQUIRE(by_exe.size() == 7);  // checkout-svc, curl-go, embedder, indexer, java, node, python3
  CHECK(by_exe[0]["process.executable.name"] == "checkout-svc");
  CHECK(by_exe[0]["calls"] == 4);  // R1 (its rollup keeps the executable) E1 E2 E9
  CHECK(by_exe[1]["process.executable.name"] == "indexer");
  CHECK(by_exe[1]["calls"] == 2);
  CHECK(find_by(by_exe, "process.executable.name", "java")["blind_connections"] == 1);
  CHECK(find_by(by_exe, "process.executable.name", "java")["calls"] == 0);

  const json& blind = v["blind_spots"];
  REQUIRE(blind.size() == 2);
  CHECK(blind[0]["node"] == "node-b");
  CHECK(blind[0]["process.executable.name"] == "java");
  CHECK(blind[0]["shadowmeter.tls.library"] == "java");
  CHECK(blind[0]["server.address"] == "api.openai.com");
  CHECK(blind[0]["reason"] == "java tls (JSSE) not instrumented");
  CHECK(blind[0]["connections"] == 1);
  CHECK_FALSE(blind[0].contains("calls"));
  CHECK(blind[0]["bytes_sent"] == 1200);
  CHECK(blind[0]["bytes_received"] == 3400);
  CHECK(blind[0]["plaintext_calls_same_executable"] == 0);
  CHECK(blind[1]["node"] == "node-c");
  CHECK(blind[1]["shadowmeter.tls.library"] == "go");
  CHECK(blind[1]["reason"].get<std::string>().find("TLS library go") != std::string::npos);
  CHECK(blind[1]["bytes_sent"] == 0);  // not reported: counted as nothing, not guessed
}

TEST_CASE("coverage: a blind spot in a process whose other calls were readable says so", "[reports]") {
  const std::string backend = GENERATE(as<std::string>{}, "sqlite", "postgresql");
  INFO("backend: " << backend);
  auto fx = shadowmeter::testing::StoreFixture::make(backend);
  if (!fx) return;
  reports_data::seed(fx->store());
  // checkout-svc on node-a made readable calls (R1 E1 E2 E9 in range, all in the rollups); one of its
  // connections was not readable (e.g. a second TLS library, or a socket the uprobes missed).
  reports_data::Call blind{"b1", reports_data::kNov2 + 12 * reports_data::kH, "node-a", "payments",
                           "deployment/checkout", "checkout-svc", "team-a", "prod", "openai", ""};
  blind.visibility = "connection_only", blind.tls = "openssl", blind.visibility_reason = "no_plaintext_seen";
  blind.bytes_sent = 10, blind.bytes_received = 20;
  fx->store().ingest(reports_data::batch({blind}));
  const json r = reports::run_report(fx->store(), "coverage", range_query());
  const json& spot = find_by(r["visibility"]["blind_spots"], "process.executable.name", "checkout-svc");
  CHECK(spot["connections"] == 1);
  CHECK(spot["plaintext_calls_same_executable"] == 4);
  CHECK(spot["reason"] == "no_plaintext_seen");
  CHECK(spot["bytes_sent"] == 10);
  CHECK(spot["bytes_received"] == 20);
}

TEST_CASE("coverage: byte counts an agent got wrong count as nothing, and never fail the report", "[reports]") {
  const std::string backend = GENERATE(as<std::string>{}, "sqlite", "postgresql");
  INFO("backend: " << backend);
  auto fx = shadowmeter::testing::StoreFixture::make(backend);
  if (!fx) return;
  collector::IngestBatch b;
  const std::vector<json> bad = {json("1200"), json(-5), json(1e300), json(9.5), json(9000000000000000000ull),
                                 json::array({1})};
  for (std::size_t i = 0; i < bad.size(); ++i) {
    reports_data::Call c{"bad" + std::to_string(i), reports_data::kNov2 + i * reports_data::kH, "node-z", "", "",
                         "rustapp", "", "", "openai", ""};
    c.visibility = "connection_only", c.tls = "rustls";
    json e = reports_data::event(c);
    e["shadowmeter.connection.bytes_sent"] = bad[i];
    e["shadowmeter.connection.bytes_received"] = bad[i];
    b.calls.push_back(std::move(e));
  }
  b.received_unix_nano = reports_data::kNow;
  b.principal = "token:test";
  fx->store().ingest(b);
  const json r = reports::run_report(fx->store(), "coverage", range_query());
  const json& spot = find_by(r["visibility"]["blind_spots"], "process.executable.name", "rustapp");
  CHECK(spot["connections"] == 6);
  CHECK(spot["bytes_sent"] == 0);
  CHECK(spot["bytes_received"] == 0);
}

TEST_CASE("coverage: unpriced calls and models", "[reports]") {
  SEEDED_STORE_PER_BACKEND(fx);
  const json r = reports::run_report(fx->store(), "coverage", range_query());
  const json& p = r["pricing"];
  // Connection-only calls (E7 E8) have no model to price: 9 calls, 7 priced, E6 and E9 unpriced.
  CHECK(p["calls"] == 9);
  CHECK(p["priced_calls"] == 7);
  CHECK(p["unpriced_calls"] == 2);
  CHECK(p["unpriced_share"].get<double>() == Approx(2.0 / 9));
  REQUIRE(p["unpriced_models"].size() == 2);
  CHECK(p["unpriced_models"][0]["gen_ai.provider.name"] == "acme");
  CHECK(p["unpriced_models"][0]["model"] == "mystery-model");
  CHECK(p["unpriced_models"][1]["model"] == "gpt-4o");
}

TEST_CASE("coverage: fleet health across an agent restart, gaps and stale agents", "[reports]") {
  SEEDED_STORE_PER_BACKEND(fx);
  const json r = reports::run_report(fx->store(), "coverage", range_query());
  const json& fleet = r["fleet"];
  const json& agents = fleet["agents"];
  REQUIRE(agents.size() == 5);  // node-a .. node-e, by name
  const json& a = agents[0];
  CHECK(a["node"] == "node-a");
  CHECK(a["agent_version"] == "0.9.0");
  CHECK(a["last_heartbeat"] == "2026-11-02T23:58:00Z");
  CHECK(a["stale"] == false);
  CHECK(a["heartbeats"] == 4);       // h2 h3 h4 h5 (h1 is before the range)
  CHECK(a["ringbuf_drops"] == 6);    // run 1: 8 - 5; run 2 (started in the range): 3
  CHECK(a["uncopied_bytes"] == 100);
  CHECK(a["parse_errors"] == 4);     // run 1: 1 - 1; run 2: 4
  CHECK(a["attach_failures"] == 0);
  CHECK(a["incomplete"] == true);
  CHECK(a["reasons"].size() == 3);
  const json& b = agents[1];
  CHECK(b["node"] == "node-b");
  CHECK(b["spool_dropped_events"] == 7);
  CHECK(b["incomplete"] == true);
  CHECK(b["stale"] == false);
  const json& c = agents[2];
  CHECK(c["node"] == "node-c");
  CHECK(c["last_heartbeat"].is_null());
  CHECK(c["stale"] == true);
  CHECK(c["reasons"][0] == "no heartbeat ever received");
  const json& d = agents[3];
  CHECK(d["node"] == "node-d");
  CHECK(d["incomplete"] == false);
  CHECK(d["reasons"] == json::array());
  const json& e = agents[4];
  CHECK(e["node"] == "node-e");
  CHECK(e["stale"] == true);
  CHECK(e["reasons"][0].get<std::string>().find("stale") == 0);
  CHECK(fleet["agents_reporting"] == 4);  // a, b, d, e sent heartbeats in the range
  CHECK(fleet["agents_stale"] == 2);
  CHECK(fleet["incomplete_nodes"] == json::array({"node-a", "node-b", "node-c", "node-e"}));
}
