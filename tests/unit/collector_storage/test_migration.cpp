// Migration step 3 on a populated schema-v2 database: the rollups are built from every raw call and
// from the old daily_rollups (whose lost dimensions stay unknown), no call is lost, daily_rollups is
// dropped, and a re-run (version record lost) counts nothing twice. Both back ends.
#include <catch2/catch.hpp>

#include "records_fixture.h"
#include "storage/schema.h"
#include "store_fixture.h"

using namespace shadowmeter::testing;
using shadowmeter::collector::Store;
namespace sql = shadowmeter::collector::sql;

namespace {

// The v1/v2 definition of the old table, as step 1 created it.
const char* const kOldDailyRollups = R"(CREATE TABLE daily_rollups (
    day TEXT NOT NULL, host_name TEXT NOT NULL, provider TEXT NOT NULL, request_model TEXT NOT NULL,
    k8s_namespace TEXT NOT NULL, owner TEXT NOT NULL, usage_source TEXT NOT NULL, visibility TEXT NOT NULL,
    shadow SMALLINT NOT NULL, calls BIGINT NOT NULL, input_tokens BIGINT NOT NULL, output_tokens BIGINT NOT NULL,
    cache_read_tokens BIGINT NOT NULL, cache_creation_tokens BIGINT NOT NULL, reasoning_tokens BIGINT NOT NULL,
    cost_usd DOUBLE PRECISION NOT NULL, priced_calls BIGINT NOT NULL,
    PRIMARY KEY (day, host_name, provider, request_model, k8s_namespace, owner, usage_source, visibility, shadow)))";

// Back to what a v2 collector left: no rollup tables, the old daily_rollups with rows, version 2.
void make_v2(sql::Connection& raw) {
  raw.execute("DROP TABLE rollups_hourly");
  raw.execute("DROP TABLE rollups_daily");
  raw.execute(kOldDailyRollups);
  raw.execute(
      "INSERT INTO daily_rollups VALUES ('2025-12-01', 'node-9', 'openai', 'gpt-4o', 'old-ns', 'old-team', "
      "'response', 'plaintext', 0, 10, 1000, 200, 0, 0, 0, 1.5, 8)");
  raw.execute(
      "INSERT INTO daily_rollups VALUES ('2025-12-01', 'node-9', 'openai', '', '', '', 'none', 'connection_only', "
      "-1, 3, 0, 0, 0, 0, 0, 0, 0)");
  raw.execute("DELETE FROM schema_version WHERE version >= 3");
}

struct Totals {
  std::int64_t calls = 0, connections = 0, input = 0;
  double cost = 0;
  std::size_t rows = 0;
};

Totals totals(Store& s) {
  Totals t;
  for (const auto& r : s.rollups("2000-01-01", "2100-01-01")) {
    t.calls += r["calls"].get<std::int64_t>();
    t.connections += r["connections"].get<std::int64_t>();
    t.input += r["input_tokens"].get<std::int64_t>();
    t.cost += r["cost_usd"].get<double>();
    ++t.rows;
  }
  return t;
}

}  // namespace

TEST_CASE("migration 3 upgrades a populated v2 database without losing a call", "[storage][migration]") {
  const std::string backend_name = GENERATE(as<std::string>{}, "sqlite", "postgresql");
  INFO("backend: " << backend_name);
  auto fx = StoreFixture::make(backend_name);
  if (!fx) return;
  // Raw calls over two days, one with a custom dimension and one blind connection.
  REQUIRE(fx->store()
              .ingest(batch_of({call_event(event_id(40, 1), kT0, {{"shadowmeter.dimension.feature", "search"}}),
                                call_event(event_id(40, 2), kT0 + kSecond),
                                call_event(event_id(40, 3), kT0 + kDay + 5 * kSecond,
                                           {{"shadowmeter.visibility", "connection_only"}})}))
              .inserted == 3);
  const Totals fresh = totals(fx->store());
  fx->close();
  {
    auto raw = fx->raw();
    make_v2(*raw);
  }
  fx->reopen();  // migrates

  auto raw = fx->raw();
  CHECK(sql::schema_version(*raw) == sql::current_schema_version());
  CHECK_THROWS(raw->query("SELECT COUNT(*) FROM daily_rollups", {}));
  CHECK(fx->store().stats().calls == 3);
  const Totals migrated = totals(fx->store());
  // The raw calls give what ingest gave; the old rows add 10 calls and 3 blind connections.
  CHECK(migrated.calls == fresh.calls + 10);
  CHECK(migrated.connections == fresh.connections + 3);
  CHECK(migrated.input == fresh.input + 1000);
  CHECK(migrated.cost == Approx(fresh.cost + 1.5));
  const auto old_day = fx->store().rollups("2025-12-01", "2025-12-02");
  REQUIRE(old_day.size() == 2);
  for (const auto& r : old_day) {
    CHECK(r["workload"].is_null());
    CHECK(r["host.name"] == "node-9");
  }
  bool dimension_kept = false;
  for (const auto& r : fx->store().rollups("2026-01-01", "2026-01-02"))
    dimension_kept = dimension_kept || (r["dimensions"].is_object() && r["dimensions"]["feature"] == "search");
  CHECK(dimension_kept);

  // Lost version record: the steps run again over the tables they made; nothing is counted twice.
  raw->execute("DELETE FROM schema_version WHERE version >= 3");
  fx->reopen();
  const Totals rerun = totals(fx->store());
  CHECK(rerun.calls == migrated.calls);
  CHECK(rerun.connections == migrated.connections);
  CHECK(rerun.rows == migrated.rows);
}
