// Exactness of the reports over the rollups: a generated data set (several days, many owners, models,
// keys, priced and unpriced calls, blind connections, shadow true/false/unknown, with and without
// custom dimensions) is ingested in batches; every report's totals must equal a brute-force sum over
// the generated events, again after half of the batches were redelivered, and again after retention
// deleted every raw row. Both back ends.
#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "reports/report.h"
#include "store_fixture.h"

using namespace shadowmeter::testing;
namespace collector = shadowmeter::collector;
namespace reports = shadowmeter::collector::reports;

namespace {

constexpr std::uint64_t kS = 1000000000ull;
constexpr std::uint64_t kH = 3600 * kS;
constexpr std::uint64_t kD = 24 * kH;
constexpr std::uint64_t kBase = 1794268800ull * kS;  // 2026-11-10T00:00:00Z
constexpr int kEvents = 720;
constexpr int kBatch = 40;

// A small deterministic generator (the data set is the same on every run).
struct Lcg {
  std::uint64_t s = 0x9e3779b97f4a7c15ull;
  std::uint64_t next() {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return s >> 33;
  }
  std::size_t pick(std::size_t n) { return static_cast<std::size_t>(next() % n); }
};

struct Event {
  nlohmann::json json;
  std::uint64_t time = 0;
  std::string owner, ns, workload, node, provider, model, key, environment, feature, usage, exe, server, reason;
  bool blind = false;
  int shadow = -1;
  bool priced = false;
  double cost = 0;
  std::int64_t input = 0, output = 0;
};

std::vector<Event> generate() {
  static const char* const kOwners[] = {"team-a", "team-b", "team-c", "team-d", "unallocated", ""};
  static const char* const kNs[] = {"payments", "search", "ml", ""};
  static const char* const kWorkloads[] = {"checkout", "indexer", "embedder", "batch", ""};
  static const char* const kNodes[] = {"node-a", "node-b", "node-c", "node-d"};
  static const char* const kProviders[] = {"openai", "anthropic", "acme"};
  static const char* const kModels[] = {"gpt-4o", "gpt-4o-mini", "claude-sonnet", "claude-haiku", "mystery", ""};
  static const char* const kKeys[] = {"fp-a", "fp-b", "fp-c", "fp-d", ""};
  static const char* const kEnvs[] = {"prod", "staging", ""};
  static const char* const kFeatures[] = {"search", "chat", "summarise", "", ""};
  static const char* const kUsage[] = {"response", "stream", "header", "estimated", "none"};
  Lcg g;
  std::vector<Event> out;
  for (int i = 0; i < kEvents; ++i) {
    Event e;
    e.time = kBase + g.next() % (4 * kD);
    e.owner = kOwners[g.pick(6)];
    e.ns = kNs[g.pick(4)];
    const std::string wl = kWorkloads[g.pick(5)];
    e.exe = g.pick(2) ? "python3" : "java";
    e.workload = wl.empty() ? e.exe : "deployment/" + wl;
    e.node = kNodes[g.pick(4)];
    e.provider = kProviders[g.pick(3)];
    e.server = e.provider == "acme" ? "llm.acme.internal" : "api." + e.provider + ".com";
    e.model = kModels[g.pick(6)];
    e.key = kKeys[g.pick(5)];
    e.environment = kEnvs[g.pick(3)];
    e.feature = kFeatures[g.pick(5)];
    e.blind = g.pick(10) == 0;
    e.usage = e.blind ? "none" : kUsage[g.pick(5)];
    e.shadow = static_cast<int>(g.pick(3)) - 1;
    if (e.shadow == 1) e.reason = g.pick(2) ? "unsanctioned provider" : "unknown endpoint";
    e.priced = !e.blind && g.pick(10) < 7;
    e.input = e.blind ? 0 : static_cast<std::int64_t>(g.next() % 5000);
    e.output = e.blind ? 0 : static_cast<std::int64_t>(g.next() % 2000);
    e.cost = e.priced ? static_cast<double>(g.next() % 100000) / 1e6 : 0;

    char id[40];
    std::snprintf(id, sizeof(id), "e%031d", i);
    nlohmann::json j = {{"shadowmeter.event_id", id},
                        {"time_unix_nano", e.time},
                        {"host.name", e.node},
                        {"gen_ai.provider.name", e.provider},
                        {"gen_ai.operation.name", "chat"},
                        {"process.executable.name", e.exe},
                        {"server.address", e.server},
                        {"shadowmeter.usage.source", e.usage},
                        {"shadowmeter.visibility", e.blind ? "connection_only" : "plaintext"},
                        {"shadowmeter.tls.library", e.blind ? "go" : "openssl"}};
    auto set = [&j](const char* k, const std::string& v) {
      if (!v.empty()) j[k] = v;
    };
    set("shadowmeter.owner", e.owner);
    set("k8s.namespace.name", e.ns);
    if (!wl.empty()) j["k8s.deployment.name"] = wl;
    set("gen_ai.request.model", e.model);
    set("shadowmeter.api_key.fingerprint", e.key);
    set("deployment.environment", e.environment);
    set("shadowmeter.dimension.feature", e.feature);
    set("shadowmeter.shadow.reason", e.reason);
    if (e.feature == "chat") j["shadowmeter.dimension.tier"] = "pro";
    if (e.shadow >= 0) j["shadowmeter.shadow"] = e.shadow == 1;
    if (!e.blind) {
      j["gen_ai.usage.input_tokens"] = e.input;
      j["gen_ai.usage.output_tokens"] = e.output;
    } else {
      j["shadowmeter.connection.bytes_sent"] = 1000 + i;
    }
    if (e.priced) j["shadowmeter.cost.usd"] = e.cost;
    e.json = std::move(j);
    out.push_back(std::move(e));
  }
  return out;
}

collector::IngestBatch batch(const std::vector<Event>& events, int first) {
  collector::IngestBatch b;
  for (int i = first; i < first + kBatch && i < static_cast<int>(events.size()); ++i)
    b.calls.push_back(events[static_cast<std::size_t>(i)].json);
  b.received_unix_nano = kBase + 5 * kD;
  b.principal = "token:test";
  return b;
}

struct Sum {
  std::int64_t calls = 0, input = 0, output = 0, priced = 0;
  double cost = 0;
};

bool in_range(const Event& e, std::uint64_t from, std::uint64_t to) { return e.time >= from && e.time < to; }

// Brute force: showback rows by one dimension (groups with at least one readable call).
std::map<std::string, Sum> by_dimension(const std::vector<Event>& events, const std::string& dim,
                                        std::uint64_t from, std::uint64_t to) {
  std::map<std::string, Sum> out;
  for (const Event& e : events) {
    if (!in_range(e, from, to)) continue;
    const std::string v = dim == "owner"                ? e.owner
                          : dim == "namespace"          ? e.ns
                          : dim == "workload"           ? e.workload
                          : dim == "node"               ? e.node
                          : dim == "provider"           ? e.provider
                          : dim == "model"              ? e.model
                          : dim == "key"                ? e.key
                          : dim == "environment"        ? e.environment
                          : dim == "dimension.feature"  ? e.feature
                                                        : (e.feature == "chat" ? "pro" : "");
    Sum& s = out[v];
    s.calls += e.blind ? 0 : 1;
    s.input += e.input;
    s.output += e.output;
    s.priced += e.priced ? 1 : 0;
    s.cost += e.cost;
  }
  for (auto it = out.begin(); it != out.end();) it = it->second.calls == 0 ? out.erase(it) : std::next(it);
  return out;
}

reports::ReportQuery query(std::uint64_t from, std::uint64_t to) {
  reports::ReportQuery q;
  q.from_unix_nano = from;
  q.to_unix_nano = to;
  q.now_unix_nano = kBase + 5 * kD;
  q.limit = 100000;
  return q;
}

void check_showback(collector::Store& s, const std::vector<Event>& events, std::uint64_t from, std::uint64_t to) {
  for (const std::string dim : {"owner", "namespace", "workload", "node", "provider", "model", "key", "environment",
                                "dimension.feature", "dimension.tier"}) {
    INFO("group_by " << dim << " over [" << from << ", " << to << ")");
    reports::ReportQuery q = query(from, to);
    q.group_by = {dim};
    const nlohmann::json r = reports::run_report(s, "showback", q);
    const auto expected = by_dimension(events, dim, from, to);
    REQUIRE(r["rows"].size() == expected.size());
    Sum total;
    for (const auto& row : r["rows"]) {
      const std::string v = row[dim].is_null() ? "" : row[dim].get<std::string>();
      INFO("value '" << v << "'");
      REQUIRE(expected.count(v) == 1);
      const Sum& e = expected.at(v);
      CHECK(row["calls"] == e.calls);
      CHECK(row["input_tokens"] == e.input);
      CHECK(row["output_tokens"] == e.output);
      CHECK(row["priced_calls"] == e.priced);
      CHECK(row["cost_usd"].get<double>() == Approx(e.cost).margin(1e-8));
    }
    for (const auto& [v, e] : expected) {
      total.calls += e.calls;
      total.cost += e.cost;
    }
    CHECK(r["totals"]["calls"] == total.calls);
    CHECK(r["totals"]["cost_usd"].get<double>() == Approx(total.cost).margin(1e-8));
  }
}

void check_coverage(collector::Store& s, const std::vector<Event>& events, std::uint64_t from, std::uint64_t to) {
  std::int64_t calls = 0, exact = 0, estimated = 0, none = 0, blind = 0, priced = 0;
  double cost = 0, allocated = 0;
  for (const Event& e : events) {
    if (!in_range(e, from, to)) continue;
    cost += e.cost;
    if (!e.owner.empty() && e.owner != "unallocated") allocated += e.cost;
    if (e.blind) {
      ++blind;
      continue;
    }
    ++calls;
    priced += e.priced ? 1 : 0;
    if (e.usage == "estimated") {
      ++estimated;
    } else if (e.usage == "none") {
      ++none;
    } else {
      ++exact;
    }
  }
  const nlohmann::json r = reports::run_report(s, "coverage", query(from, to));
  CHECK(r["allocation"]["total_cost_usd"].get<double>() == Approx(cost).margin(1e-8));
  CHECK(r["allocation"]["allocated_cost_usd"].get<double>() == Approx(allocated).margin(1e-8));
  const auto& o = r["visibility"]["overall"];
  CHECK(o["calls"] == calls);
  CHECK(o["exact"] == exact);
  CHECK(o["estimated"] == estimated);
  CHECK(o["none"] == none);
  CHECK(o["blind_connections"] == blind);
  std::int64_t spots = 0;
  for (const auto& b : r["visibility"]["blind_spots"]) spots += b["connections"].get<std::int64_t>();
  CHECK(spots == blind);
  CHECK(r["pricing"]["calls"] == calls);
  CHECK(r["pricing"]["priced_calls"] == priced);
}

void check_shadow(collector::Store& s, const std::vector<Event>& events, std::uint64_t from, std::uint64_t to) {
  using Finding = std::tuple<std::string, std::string, std::string, std::string, std::string, std::string, std::string>;
  std::map<Finding, std::pair<std::int64_t, double>> findings;
  std::map<Finding, std::uint64_t> first_seen;
  for (const Event& e : events) {
    if (e.shadow != 1 || e.time >= to) continue;
    const Finding f{e.workload, e.ns, e.exe, e.provider, e.server, e.key, e.reason};
    auto [it, fresh] = first_seen.try_emplace(f, e.time);
    if (!fresh) it->second = std::min(it->second, e.time);
    if (!in_range(e, from, to)) continue;
    findings[f].first += 1;
    findings[f].second += e.cost;
  }
  std::int64_t calls = 0;
  double cost = 0;
  for (const auto& [f, v] : findings) {
    calls += v.first;
    cost += v.second;
  }
  const nlohmann::json r = reports::run_report(s, "shadow", query(from, to));
  CHECK(r["totals"]["findings"] == findings.size());
  CHECK(r["totals"]["calls"] == calls);
  CHECK(r["totals"]["cost_usd"].get<double>() == Approx(cost).margin(1e-8));
  REQUIRE(r["findings"].size() == findings.size());
  for (const auto& f : r["findings"]) {
    auto text = [&f](const char* k) { return f[k].is_null() ? std::string() : f[k].get<std::string>(); };
    const Finding key{text("workload"), text("k8s.namespace.name"), text("process.executable.name"),
                      text("gen_ai.provider.name"), text("server.address"), text("shadowmeter.api_key.fingerprint"),
                      text("reason")};
    REQUIRE(findings.count(key) == 1);
    CHECK(f["calls"] == findings.at(key).first);
  }
}

void check_focus_and_owners(collector::Store& s, const std::vector<Event>& events, std::uint64_t from,
                            std::uint64_t to) {
  double cost = 0;
  std::set<std::string> owners;
  for (const Event& e : events) {
    if (!in_range(e, from, to)) continue;
    cost += e.cost;
    if (!e.owner.empty()) owners.insert(e.owner);
  }
  const nlohmann::json r = reports::run_report(s, "focus", query(from, to));
  std::size_t billed = 0;
  while (billed < r["columns"].size() && r["columns"][billed] != "BilledCost") ++billed;
  REQUIRE(billed < r["columns"].size());
  double focus_cost = 0;
  for (const auto& row : r["rows"]) focus_cost += std::stod(row[billed].get<std::string>());
  CHECK(focus_cost == Approx(cost).margin(1e-6));
  const auto listed = reports::owners(s, from, to);
  CHECK(std::set<std::string>(listed.begin(), listed.end()) == owners);
}

void check_all(collector::Store& s, const std::vector<Event>& events) {
  // The whole data set (days), and a range with partial days at both ends (whole hours).
  for (const auto& [from, to] : {std::pair{kBase, kBase + 4 * kD}, std::pair{kBase + 30 * kH, kBase + 75 * kH}}) {
    check_showback(s, events, from, to);
    check_coverage(s, events, from, to);
    check_shadow(s, events, from, to);
    check_focus_and_owners(s, events, from, to);
  }
}

}  // namespace

TEST_CASE("every report equals a brute-force sum of the events, after redelivery and after retention",
          "[reports][exactness]") {
  const std::string backend_name = GENERATE(as<std::string>{}, "sqlite", "postgresql");
  INFO("backend: " << backend_name);
  auto fx = StoreFixture::make(backend_name);
  if (!fx) return;
  collector::Store& s = fx->store();
  const std::vector<Event> events = generate();

  for (int first = 0; first < kEvents; first += kBatch) REQUIRE(s.ingest(batch(events, first)).inserted == kBatch);
  check_all(s, events);

  // Half of the batches again (as a group commit, as the server does): nothing new.
  std::vector<collector::IngestBatch> again;
  for (int first = 0; first < kEvents; first += 2 * kBatch) again.push_back(batch(events, first));
  std::vector<const collector::IngestBatch*> ptrs;
  for (const auto& b : again) ptrs.push_back(&b);
  for (const auto& r : s.ingest_many(ptrs)) {
    CHECK(r.inserted == 0);
    CHECK(r.duplicates == static_cast<std::uint64_t>(kBatch));
  }
  check_all(s, events);

  // Retention deletes every raw row: the reports do not change.
  collector::RetentionPolicy p;
  p.raw_days = 1;
  const auto done = s.apply_retention(p, kBase + 10 * kD);
  CHECK(done.calls_deleted == static_cast<std::uint64_t>(kEvents));
  CHECK(s.stats().calls == 0);
  check_all(s, events);
}

TEST_CASE("showback group_by dimension.<name> is validated", "[reports]") {
  const auto q = [](const std::string& g) {
    return reports::parse_query("2026-11-01", "2026-11-02", g, "", "", "", 0);
  };
  CHECK(q("dimension.feature,owner").group_by == std::vector<std::string>{"dimension.feature", "owner"});
  CHECK_THROWS_WITH(q("dimension.Feature"), Catch::Contains("dimension.Feature"));
  CHECK_THROWS_WITH(q("dimension."), Catch::Contains("'dimension.'"));
  CHECK_THROWS_WITH(q("dimension.a-b"), Catch::Contains("dimension.a-b"));
  CHECK_THROWS_WITH(q("dimension." + std::string(33, 'a')), Catch::Contains("unknown dimension"));
  CHECK_THROWS_AS(q("dimension.x');DROP"), reports::BadReportQuery);
}
