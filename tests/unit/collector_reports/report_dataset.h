// The seeded dataset of the report tests, written through Store::ingest (which keeps the rollups) and
// aged with Store::apply_retention (which deletes expired raw rows), as the collector would. Every figure the tests expect is computed by hand
// here, in comments, from this table.
//
// Range of the reports: [2026-10-30, 2026-11-03) (4 days across a month boundary); the previous
// period (top movers) is [2026-10-26, 2026-10-30). Rows dated before 2026-10-31 lose their raw rows
// (retention run at 2026-11-01T00:00Z with raw_days 1), except E0, which arrives late (after the run);
// the rollups keep all their dimensions.
//
// id  time (UTC)        node   ns       workload (exe)                owner        env      provider/model            in     out  cache_r cache_c reas cost    usage     vis    shadow key
// P1  10-28 10:00 (rollup) node-a payments deployment/checkout       team-a       prod     openai/gpt-4o             500    500  -       -       -    0.01    response  plain  no    fp-a
// P2  10-27 10:00 (rollup) node-b search   deployment/indexer        team-b       staging  openai/gpt-4o-mini        20000  0    -       -       -    0.005   stream    plain  no    fp-b
// P3  10-27 11:00 (rollup) node-b search   deployment/indexer        team-c       staging  openai/gpt-4o-mini        5000   0    -       -       -    0.001   stream    plain  no    fp-b
// R1  10-30 12:00 (rollup) node-a payments deployment/checkout       team-a       prod     openai/gpt-4o             1000   1000 -       -       -    0.02    response  plain  no    fp-a
// R2  10-30 13:00 (rollup) node-b search   deployment/indexer        team-b       staging  openai/gpt-4o-mini        5000   0    -       -       -    0.001   stream    plain  no    fp-b
// E0  10-20 00:00 (late)   node-b search   python3                   -            -        anthropic/claude-sonnet   10     10   -       -       -    0.00004 estimated plain  YES   fp-c
// E1  10-31 10:00       node-a payments deployment/checkout (checkout-svc) team-a prod   openai/gpt-4o             1000   1000 200     -       -    0.02    response  plain  no    fp-a
// E2  11-01 09:00       node-a payments deployment/checkout (checkout-svc) team-a prod   openai/gpt-4o             2000   500  -       50      -    0.025   header    plain  no    fp-a
// E3  11-02 08:00       node-b search   deployment/indexer (indexer) team-b       staging  openai/gpt-4o-mini        10000  0    -       -       -    0.002   stream    plain  no    fp-b
// E4  11-02 09:00       node-b search   python3 (python3)             -            -        anthropic/claude-sonnet   1000   1000 -       -       300  0.004   estimated plain  YES   fp-c
// E5  11-01 12:00       node-a ml       deployment/embedder (embedder) team-a     prod     openai/text-embedding-3-small (embeddings) 5000 0 - - - 0.0001 response plain no fp-a
// E6  11-01 13:00       node-b ml       deployment/batch (node)       unallocated  -        acme/mystery-model        100    100  -       -       -    -       header    plain  YES   -
// E7  11-02 10:00       node-b search   deployment/legacy-java (java) team-b       -        openai/-                  -      -    -       -       -    -       none      conn   no    -
// E8  11-02 11:00       node-c -        curl-go (curl-go)             -            -        openai/-                  -      -    -       -       -    -       none      conn   no    -
// E9  11-01 00:00       node-a payments deployment/checkout (checkout-svc) team-a prod   openai/gpt-4o             -      -    -       -       -    -       none      plain  no    fp-a
//
// E4 and E0 share a finding (workload python3, ns search, exe python3, anthropic, api.anthropic.com,
// fp-c, "unsanctioned provider"); E6 is the other one ("unknown endpoint", llm.acme.internal). E7 has the
// visibility reason "java tls (JSSE) not instrumented", E8 none (tls library go).
//
// Heartbeats (counters ringbuf / uncopied / parse / attach):
//   node-a run 1 (started 10-29 00:00): 10-29 12:00 (4/0/0/0, before the range), 10-30 00:00 (5/0/1/0),
//          10-31 00:00 (8/0/1/0); run 2 (started 11-01 00:00): 11-01 01:00 (2/0/0/0), 11-02 23:58 (3/100/4/0)
//          -> run 1 grows 3 ringbuf, run 2 counts from zero: 3 ringbuf, 100 bytes, 4 parse errors.
//          In the range: ringbuf 6, uncopied 100, parse 4, attach 0; last heartbeat 11-02 23:58 (fresh).
//   node-b run since 10-01: 11-01 00:00 and 11-02 23:58:30, all counters 0; one gap record on 11-01
//          (7 dropped events).
//   node-d run since 10-01: 11-02 23:57, all 0 -> complete.
//   node-e run since 10-01: 11-02 10:00, all 0 -> stale (now = 11-02 23:59).
//   node-c: calls only, never a heartbeat.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "storage/store.h"

namespace shadowmeter::testing::reports_data {

namespace collector = shadowmeter::collector;

inline constexpr std::uint64_t kS = 1000000000ull;
inline constexpr std::uint64_t kH = 3600 * kS;
inline constexpr std::uint64_t kOct20 = 1792454400ull * kS;
inline constexpr std::uint64_t kOct26 = 1792972800ull * kS;
inline constexpr std::uint64_t kOct27 = 1793059200ull * kS;
inline constexpr std::uint64_t kOct28 = 1793145600ull * kS;
inline constexpr std::uint64_t kOct29 = 1793232000ull * kS;
inline constexpr std::uint64_t kOct30 = 1793318400ull * kS;
inline constexpr std::uint64_t kOct31 = 1793404800ull * kS;
inline constexpr std::uint64_t kNov1 = 1793491200ull * kS;
inline constexpr std::uint64_t kNov2 = 1793577600ull * kS;
inline constexpr std::uint64_t kNov3 = 1793664000ull * kS;
inline constexpr std::uint64_t kNow = kNov3 - 60 * kS;  // 11-02 23:59

struct Call {
  std::string id{};
  std::uint64_t time = 0;
  std::string node{}, ns{}, workload{}, exe{}, owner{}, env{}, provider{}, model{};
  std::int64_t in = -1, out = -1, cache_read = -1, cache_creation = -1, reasoning = -1;
  double cost = -1;
  std::string usage{}, visibility{}, key{};
  bool shadow = false;
  std::string shadow_reason{}, server{}, operation = "chat", tls = "openssl", visibility_reason{};
  std::int64_t bytes_sent = -1, bytes_received = -1;  // connection_only events
  bool old_cache_name = false;  // an agent from before OTel's rename sends gen_ai.usage.cache_creation.*
};

// A flat event as the agent exports it ("" / negative: attribute absent).
inline nlohmann::json event(const Call& c) {
  nlohmann::json e = {{"shadowmeter.event_id", c.id}, {"time_unix_nano", c.time}, {"host.name", c.node},
                      {"gen_ai.operation.name", c.operation}, {"shadowmeter.tls.library", c.tls},
                      {"shadowmeter.shadow", c.shadow}};
  auto text = [&e](const char* k, const std::string& v) {
    if (!v.empty()) e[k] = v;
  };
  auto num = [&e](const char* k, std::int64_t v) {
    if (v >= 0) e[k] = v;
  };
  text("k8s.namespace.name", c.ns);
  if (!c.workload.empty()) e["k8s." + c.workload.substr(0, c.workload.find('/')) + ".name"] =
      c.workload.substr(c.workload.find('/') + 1);
  text("process.executable.name", c.exe);
  text("shadowmeter.owner", c.owner);
  text("deployment.environment", c.env);
  text("gen_ai.provider.name", c.provider);
  text("gen_ai.request.model", c.model);
  num("gen_ai.usage.input_tokens", c.in);
  num("gen_ai.usage.output_tokens", c.out);
  num("gen_ai.usage.cache_read.input_tokens", c.cache_read);
  num(c.old_cache_name ? "gen_ai.usage.cache_creation.input_tokens" : "gen_ai.usage.cache_write.input_tokens",
      c.cache_creation);
  num("shadowmeter.connection.bytes_sent", c.bytes_sent);
  num("shadowmeter.connection.bytes_received", c.bytes_received);
  num("gen_ai.usage.reasoning.output_tokens", c.reasoning);
  if (c.cost >= 0) {
    e["shadowmeter.cost.usd"] = c.cost;
    e["shadowmeter.cost.pricing_source"] = "builtin:2026-10";
  }
  text("shadowmeter.usage.source", c.usage);
  text("shadowmeter.visibility", c.visibility);
  text("shadowmeter.api_key.fingerprint", c.key);
  text("shadowmeter.shadow.reason", c.shadow_reason);
  text("server.address", c.server.empty() ? "api.openai.com" : c.server);
  text("shadowmeter.visibility.reason", c.visibility_reason);
  return e;
}

inline Call checkout(std::string id, std::uint64_t t) {
  Call c{std::move(id), t, "node-a", "payments", "deployment/checkout", "checkout-svc", "team-a", "prod",
         "openai", "gpt-4o"};
  c.usage = "response", c.visibility = "plaintext", c.key = "fp-a";
  return c;
}
inline Call indexer(std::string id, std::uint64_t t, std::string owner = "team-b") {
  Call c{std::move(id), t, "node-b", "search", "deployment/indexer", "indexer", std::move(owner), "staging",
         "openai", "gpt-4o-mini"};
  c.usage = "stream", c.visibility = "plaintext", c.key = "fp-b", c.out = 0;
  return c;
}
inline Call python_shadow(std::string id, std::uint64_t t) {
  Call c{std::move(id), t, "node-b", "search", "", "python3", "", "", "anthropic", "claude-sonnet"};
  c.usage = "estimated", c.visibility = "plaintext", c.key = "fp-c", c.shadow = true;
  c.shadow_reason = "unsanctioned provider", c.server = "api.anthropic.com";
  return c;
}

// Rows that are rolled up (ingested before the retention run).
inline std::vector<Call> rolled_calls() {
  Call p1 = checkout("p1", kOct28 + 10 * kH);
  p1.in = 500, p1.out = 500, p1.cost = 0.01;
  Call p2 = indexer("p2", kOct27 + 10 * kH);
  p2.in = 20000, p2.cost = 0.005;
  Call p3 = indexer("p3", kOct27 + 11 * kH, "team-c");
  p3.in = 5000, p3.cost = 0.001;
  Call r1 = checkout("r1", kOct30 + 12 * kH);
  r1.in = 1000, r1.out = 1000, r1.cost = 0.02;
  Call r2 = indexer("r2", kOct30 + 13 * kH);
  r2.in = 5000, r2.cost = 0.001;
  return {p1, p2, p3, r1, r2};
}

// Rows that stay raw (ingested after the retention run).
inline std::vector<Call> raw_calls() {
  Call e0 = python_shadow("e0", kOct20);
  e0.in = 10, e0.out = 10, e0.cost = 0.00004;
  Call e1 = checkout("e1", kOct31 + 10 * kH);
  e1.in = 1000, e1.out = 1000, e1.cache_read = 200, e1.cost = 0.02;
  Call e2 = checkout("e2", kNov1 + 9 * kH);
  e2.in = 2000, e2.out = 500, e2.cache_creation = 50, e2.cost = 0.025, e2.usage = "header";
  e2.old_cache_name = true;
  Call e3 = indexer("e3", kNov2 + 8 * kH);
  e3.in = 10000, e3.cost = 0.002;
  Call e4 = python_shadow("e4", kNov2 + 9 * kH);
  e4.in = 1000, e4.out = 1000, e4.reasoning = 300, e4.cost = 0.004;
  Call e5{"e5", kNov1 + 12 * kH, "node-a", "ml", "deployment/embedder", "embedder", "team-a", "prod", "openai",
          "text-embedding-3-small"};
  e5.in = 5000, e5.cost = 0.0001, e5.usage = "response", e5.visibility = "plaintext", e5.key = "fp-a";
  e5.operation = "embeddings";
  Call e6{"e6", kNov1 + 13 * kH, "node-b", "ml", "deployment/batch", "node", "unallocated", "", "acme",
          "mystery-model"};
  e6.in = 100, e6.out = 100, e6.usage = "header", e6.visibility = "plaintext", e6.shadow = true;
  e6.shadow_reason = "unknown endpoint", e6.server = "llm.acme.internal";
  Call e7{"e7", kNov2 + 10 * kH, "node-b", "search", "deployment/legacy-java", "java", "team-b", "", "openai", ""};
  e7.usage = "none", e7.visibility = "connection_only", e7.tls = "java";
  e7.visibility_reason = "java tls (JSSE) not instrumented";
  e7.bytes_sent = 1200, e7.bytes_received = 3400;
  Call e8{"e8", kNov2 + 11 * kH, "node-c", "", "", "curl-go", "", "", "openai", ""};
  e8.usage = "none", e8.visibility = "connection_only", e8.tls = "go";
  Call e9 = checkout("e9", kNov1);
  e9.usage = "none";
  return {e0, e1, e2, e3, e4, e5, e6, e7, e8, e9};
}

inline nlohmann::json hb(const std::string& id, std::uint64_t t, const std::string& host, std::uint64_t start,
                         std::uint64_t ringbuf, std::uint64_t uncopied, std::uint64_t parse, std::uint64_t attach) {
  return {{"shadowmeter.event_id", id},
          {"shadowmeter.record.type", "heartbeat"},
          {"time_unix_nano", t},
          {"host.name", host},
          {"shadowmeter.agent.version", "0.9.0"},
          {"shadowmeter.agent.start_time_unix_nano", start},
          {"shadowmeter.capture.ringbuf_drops", ringbuf},
          {"shadowmeter.capture.uncopied_bytes", uncopied},
          {"shadowmeter.capture.parse_errors", parse},
          {"shadowmeter.probes.attach_failures", attach}};
}

inline collector::IngestBatch batch(const std::vector<Call>& calls) {
  collector::IngestBatch b;
  for (const Call& c : calls) b.calls.push_back(event(c));
  b.received_unix_nano = kNow;
  b.principal = "token:test";
  return b;
}

// Seeds `store` with the table above.
inline void seed(collector::Store& store) {
  store.ingest(batch(rolled_calls()));
  collector::RetentionPolicy policy;
  policy.raw_days = 1;
  policy.rollup_days = 400;
  policy.heartbeat_days = 3650;
  const auto rolled = store.apply_retention(policy, kNov1);  // cutoff 10-31 00:00
  if (rolled.calls_deleted != 5) throw std::runtime_error("seed: expected 5 expired raw calls");
  collector::IngestBatch raw = batch(raw_calls());
  const std::uint64_t oct1 = kOct30 - 29 * 86400 * kS;
  raw.heartbeats = {
      hb("h1", kOct29 + 12 * kH, "node-a", kOct29, 4, 0, 0, 0),
      hb("h2", kOct30, "node-a", kOct29, 5, 0, 1, 0),
      hb("h3", kOct31, "node-a", kOct29, 8, 0, 1, 0),
      hb("h4", kNov1 + kH, "node-a", kNov1, 2, 0, 0, 0),
      hb("h5", kNov3 - 120 * kS, "node-a", kNov1, 3, 100, 4, 0),
      hb("h6", kNov1, "node-b", oct1, 0, 0, 0, 0),
      hb("h7", kNov3 - 90 * kS, "node-b", oct1, 0, 0, 0, 0),
      hb("h8", kNov3 - 180 * kS, "node-d", oct1, 0, 0, 0, 0),
      hb("h9", kNov2 + 10 * kH, "node-e", oct1, 0, 0, 0, 0),
  };
  raw.gaps = {{{"shadowmeter.event_id", "g1"},
               {"shadowmeter.record.type", "gap"},
               {"time_unix_nano", kNov1 + 2 * kH},
               {"host.name", "node-b"},
               {"shadowmeter.gap.dropped_events", 7},
               {"shadowmeter.gap.reason", "spool_full"}}};
  const auto r = store.ingest(raw);
  if (r.inserted != 10 || r.heartbeats != 9 || r.gaps != 1) throw std::runtime_error("seed: ingest counts");
}

}  // namespace shadowmeter::testing::reports_data
