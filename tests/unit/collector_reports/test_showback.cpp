// Showback over the seeded dataset (report_dataset.h), on SQLite and PostgreSQL: totals, grouping by
// every dimension, day / week / month buckets across the month boundary, rolled-up days, the owner
// filter, model tiers and top movers. Figures computed by hand from the dataset's table.
#include <algorithm>

#include "report_test_util.h"

using namespace shadowmeter::testing;
using nlohmann::json;

namespace {

json showback(shadowmeter::collector::Store& s, std::vector<std::string> group_by,
              reports::Granularity g = reports::Granularity::total, std::string owner = "") {
  auto q = range_query();
  q.group_by = std::move(group_by);
  q.granularity = g;
  q.owner = std::move(owner);
  return reports::run_report(s, "showback", q);
}

}  // namespace

TEST_CASE("showback totals combine raw rows and rolled-up days", "[reports]") {
  SEEDED_STORE_PER_BACKEND(fx);
  const json r = showback(fx->store(), {"owner"});
  CHECK(r["report"] == "showback");
  CHECK(r["from"] == "2026-10-30T00:00:00Z");
  CHECK(r["to"] == "2026-11-03T00:00:00Z");
  CHECK(r["currency"] == "USD");
  CHECK(r["cost_note"].get<std::string>().find("not an invoice") != std::string::npos);
  const json& t = r["totals"];
  // R1 R2 (rolled up) + E1..E9 but E7 E8 (blind connections, no calls): 9 calls (E0 is before the
  // range, P1-P3 in the previous period).
  CHECK(t["calls"] == 9);
  // in: R1 1000 + R2 5000 + E1 1000 + E2 2000 + E3 10000 + E4 1000 + E5 5000 + E6 100 = 25100
  CHECK(t["input_tokens"] == 25100);
  // out: R1 1000 + E1 1000 + E2 500 + E4 1000 + E6 100 = 3600
  CHECK(t["output_tokens"] == 3600);
  CHECK(t["cache_read_tokens"] == 200);
  CHECK(t["cache_creation_tokens"] == 50);
  CHECK(t["reasoning_tokens"] == 300);
  // 0.02 + 0.001 + 0.02 + 0.025 + 0.002 + 0.004 + 0.0001 = 0.0721
  CHECK(t["cost_usd"].get<double>() == usd(0.0721));
  CHECK(t["priced_calls"] == 7);
  CHECK(t["unpriced_calls"] == 2);  // E6 E9
  CHECK(t["cost_per_call_usd"].get<double>() == usd(0.0721 / 7));
  // priced tokens: R1 2000 + R2 5000 + E1 2000 + E2 2500 + E3 10000 + E4 2000 + E5 5000 = 28500
  CHECK(t["cost_per_1k_tokens_usd"].get<double>() == usd(0.0721 * 1000 / 28500));
  CHECK(r["rolled_up_calls"] == 0);  // rollups made at ingest keep every dimension: none were lost
  CHECK(r["truncated"] == false);

  // By owner, cost descending: team-a (R1 E1 E2 E5 E9) 0.0651, unknown (E4) 0.004, team-b (R2 E3)
  // 0.003, unallocated (E6) 0.
  const json& rows = r["rows"];
  REQUIRE(rows.size() == 4);
  CHECK(rows[0]["owner"] == "team-a");
  CHECK(rows[0]["calls"] == 5);
  CHECK(rows[0]["cost_usd"].get<double>() == usd(0.0651));
  CHECK(rows[0]["unpriced_calls"] == 1);
  CHECK(rows[0]["pricing_sources"] == json::array({"builtin:2026-10"}));
  CHECK(rows[1]["owner"].is_null());
  CHECK(rows[1]["cost_usd"].get<double>() == usd(0.004));
  CHECK(rows[2]["owner"] == "team-b");
  CHECK(rows[2]["calls"] == 2);
  CHECK(rows[2]["cost_usd"].get<double>() == usd(0.003));
  CHECK(rows[3]["owner"] == "unallocated");
  CHECK(rows[3]["cost_usd"].get<double>() == usd(0));
  CHECK(rows[3]["cost_per_call_usd"].is_null());  // no priced call
  CHECK(rows[3]["pricing_sources"] == json::array());
}

TEST_CASE("showback groups by each dimension", "[reports]") {
  SEEDED_STORE_PER_BACKEND(fx);
  auto& s = fx->store();
  struct Expect {
    const char* dimension;
    json value;
    std::int64_t calls;
    double cost;
  };
  const std::vector<Expect> expected = {
      {"namespace", "payments", 4, 0.065},            // R1 E1 E2 E9
      {"namespace", "search", 3, 0.007},              // R2 E3 E4 (E7 is a blind connection)
      {"namespace", "ml", 2, 0.0001},                 // E5 E6
      {"workload", "deployment/checkout", 4, 0.065},  // R1 E1 E2 E9 (R1's raw row expired: its rollup keeps it)
      {"workload", "deployment/indexer", 2, 0.003},   // R2 E3
      {"workload", "python3", 1, 0.004},              // E4: no k8s workload, the executable
      {"node", "node-a", 5, 0.0651},                  // R1 E1 E2 E5 E9
      {"node", "node-b", 4, 0.007},                   // R2 E3 E4 E6
      {"provider", "openai", 7, 0.0681},
      {"provider", "anthropic", 1, 0.004},
      {"provider", "acme", 1, 0},
      {"model", "gpt-4o", 4, 0.065},       // R1 E1 E2 E9
      {"model", "gpt-4o-mini", 2, 0.003},  // R2 E3
      {"key", "fp-a", 5, 0.0651},          // R1 E1 E2 E5 E9
      {"key", "fp-b", 2, 0.003},           // R2 E3
      {"key", nullptr, 1, 0},              // E6
      {"key", "fp-c", 1, 0.004},
      {"environment", "prod", 5, 0.0651},  // R1 E1 E2 E5 E9
      {"environment", "staging", 2, 0.003},  // R2 E3
      {"environment", nullptr, 2, 0.004},  // E4 E6
  };
  // Groups of blind connections only (E8: no namespace, node-c, curl-go; E7 E8: no model) are no rows.
  for (const auto& [dimension, value] : std::vector<std::pair<const char*, json>>{
           {"namespace", nullptr}, {"workload", "curl-go"}, {"node", "node-c"}, {"model", nullptr}}) {
    INFO("dimension " << dimension << " = " << value.dump());
    const json r = showback(s, {dimension});
    CHECK(std::none_of(r["rows"].begin(), r["rows"].end(), [&](const json& row) { return row[dimension] == value; }));
  }
  for (const Expect& e : expected) {
    INFO("dimension " << e.dimension << " = " << e.value.dump());
    const json r = showback(s, {e.dimension});
    const json& row = find_by(r["rows"], e.dimension, e.value);
    CHECK(row["calls"] == e.calls);
    CHECK(row["cost_usd"].get<double>() == usd(e.cost));
  }
  // Two dimensions at once.
  const json r = showback(s, {"owner", "model"});
  REQUIRE(r["rows"][0]["owner"] == "team-a");
  CHECK(r["rows"][0]["model"] == "gpt-4o");
  CHECK(r["rows"][0]["calls"] == 4);
  CHECK(r["rows"][0]["cost_usd"].get<double>() == usd(0.065));
  CHECK(r["rows"].size() == 5);  // team-a x {gpt-4o, embedding}, team-b x mini, - x sonnet, unallocated
}

TEST_CASE("showback buckets by day, ISO week and month across the month boundary", "[reports]") {
  SEEDED_STORE_PER_BACKEND(fx);
  auto& s = fx->store();
  const json day = showback(s, {"owner"}, reports::Granularity::day);
  CHECK(day["granularity"] == "day");
  // 10-30: team-a 0.02 (R1), team-b 0.001 (R2); 10-31: team-a 0.02 (E1); 11-01: team-a 0.0251 (E2 E5 E9),
  // unallocated 0 (E6); 11-02: unknown 0.004 (E4), team-b 0.002 (E3). Sorted by period, then cost.
  const json& rows = day["rows"];
  REQUIRE(rows.size() == 7);
  CHECK(rows[0]["period"] == "2026-10-30");
  CHECK(rows[0]["owner"] == "team-a");
  CHECK(rows[1]["period"] == "2026-10-30");
  CHECK(rows[1]["owner"] == "team-b");
  CHECK(rows[2]["period"] == "2026-10-31");
  CHECK(rows[3]["period"] == "2026-11-01");
  CHECK(rows[3]["owner"] == "team-a");
  CHECK(rows[3]["calls"] == 3);
  CHECK(rows[3]["cost_usd"].get<double>() == usd(0.0251));
  CHECK(rows[4]["owner"] == "unallocated");
  CHECK(rows[5]["period"] == "2026-11-02");
  CHECK(rows[5]["owner"].is_null());
  CHECK(rows[5]["calls"] == 1);
  CHECK(rows[6]["owner"] == "team-b");
  CHECK(rows[6]["cost_usd"].get<double>() == usd(0.002));

  // ISO weeks: 10-30 (Fri), 10-31, 11-01 (Sun) are in the week of Monday 10-26; 11-02 starts the next.
  const json week = showback(s, {}, reports::Granularity::week);
  REQUIRE(week["rows"].size() == 2);
  CHECK(week["rows"][0]["period"] == "2026-10-26");
  CHECK(week["rows"][0]["calls"] == 7);  // R1 R2 E1 E2 E5 E6 E9
  CHECK(week["rows"][0]["cost_usd"].get<double>() == usd(0.0661));
  CHECK(week["rows"][1]["period"] == "2026-11-02");
  CHECK(week["rows"][1]["calls"] == 2);  // E3 E4 (E7 E8 are blind connections)
  CHECK(week["rows"][1]["cost_usd"].get<double>() == usd(0.006));

  const json month = showback(s, {}, reports::Granularity::month);
  REQUIRE(month["rows"].size() == 2);
  CHECK(month["rows"][0]["period"] == "2026-10-01");
  CHECK(month["rows"][0]["calls"] == 3);  // R1 R2 E1
  CHECK(month["rows"][0]["cost_usd"].get<double>() == usd(0.041));
  CHECK(month["rows"][1]["period"] == "2026-11-01");
  CHECK(month["rows"][1]["calls"] == 6);  // E2 E3 E4 E5 E6 E9
  CHECK(month["rows"][1]["cost_usd"].get<double>() == usd(0.0311));
}

TEST_CASE("showback honours the owner filter and the row limit", "[reports]") {
  SEEDED_STORE_PER_BACKEND(fx);
  auto& s = fx->store();
  const json r = showback(s, {"model"}, reports::Granularity::total, "team-a");
  CHECK(r["owner"] == "team-a");
  CHECK(r["totals"]["calls"] == 5);
  CHECK(r["totals"]["cost_usd"].get<double>() == usd(0.0651));
  CHECK(r["rolled_up_calls"] == 0);
  REQUIRE(r["rows"].size() == 2);    // gpt-4o, text-embedding-3-small
  CHECK(r["rows"][0]["model"] == "gpt-4o");
  // Top movers under the filter: only team-a's previous cost (P1 0.01) counts.
  auto q = range_query();
  q.group_by = {"node"};
  q.limit = 1;
  const json limited = reports::run_report(s, "showback", q);
  CHECK(limited["rows"].size() == 1);
  CHECK(limited["truncated"] == true);
  CHECK(limited["rows"][0]["node"] == "node-a");
  CHECK(limited["totals"]["calls"] == 9);  // totals are never cut
}

TEST_CASE("showback model tiers follow the observed price per 1M tokens", "[reports]") {
  SEEDED_STORE_PER_BACKEND(fx);
  const json r = showback(fx->store(), {"owner"});
  const json& tiers = r["model_tiers"];
  REQUIRE(tiers.size() == 5);
  // gpt-4o: 0.065 / 6500 priced tokens = $10/M -> premium (E9 is unpriced but the model is priced)
  const json& premium = find_by(tiers, "tier", "premium");
  CHECK(premium["calls"] == 4);
  CHECK(premium["cost_usd"].get<double>() == usd(0.065));
  CHECK(premium["cost_share"].get<double>() == Approx(0.065 / 0.0721));
  // claude-sonnet: 0.004 / 2000 = $2/M -> standard
  CHECK(find_by(tiers, "tier", "standard")["calls"] == 1);
  // gpt-4o-mini: 0.003 / 15000 = $0.2/M -> economy
  const json& economy = find_by(tiers, "tier", "economy");
  CHECK(economy["calls"] == 2);
  CHECK(economy["cost_usd"].get<double>() == usd(0.003));
  CHECK(find_by(tiers, "tier", "embedding")["calls"] == 1);  // E5
  // mystery-model (E6); the model-less blind connections (E7 E8) are no calls
  const json& unpriced = find_by(tiers, "tier", "unpriced");
  CHECK(unpriced["calls"] == 1);
  CHECK(unpriced["cost_usd"].get<double>() == usd(0));
}

TEST_CASE("showback top movers compare with the previous period", "[reports]") {
  SEEDED_STORE_PER_BACKEND(fx);
  const json r = showback(fx->store(), {"owner"});
  CHECK(r["previous_period"]["from"] == "2026-10-26T00:00:00Z");
  CHECK(r["previous_period"]["to"] == "2026-10-30T00:00:00Z");
  // Previous period (rolled up): team-a 0.01 (P1), team-b 0.005 (P2), team-c 0.001 (P3).
  // team-a +0.0551 (x5.51), unknown +0.004 (no previous cost), team-b -0.002 (-0.4), team-c -0.001 (-1);
  // unallocated has no cost in either period and is not a mover.
  const json& m = r["top_movers"];
  REQUIRE(m.size() == 4);
  CHECK(m[0]["owner"] == "team-a");
  CHECK(m[0]["cost_usd"].get<double>() == usd(0.0651));
  CHECK(m[0]["previous_cost_usd"].get<double>() == usd(0.01));
  CHECK(m[0]["change_usd"].get<double>() == usd(0.0551));
  CHECK(m[0]["change_ratio"].get<double>() == Approx(5.51));
  CHECK(m[1]["owner"].is_null());
  CHECK(m[1]["change_ratio"].is_null());
  CHECK(m[2]["owner"] == "team-b");
  CHECK(m[2]["change_usd"].get<double>() == usd(-0.002));
  CHECK(m[2]["change_ratio"].get<double>() == Approx(-0.4));
  CHECK(m[3]["owner"] == "team-c");
  CHECK(m[3]["cost_usd"].get<double>() == usd(0));
  CHECK(m[3]["change_ratio"].get<double>() == Approx(-1.0));
}
