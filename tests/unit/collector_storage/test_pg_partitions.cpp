// PostgreSQL's day-partitioned calls: the migration of a populated schema v2 table, partitions made on
// demand (also by collectors racing for the same day), far-off times in calls_default, the COPY fast
// path's new-row detection, and retention dropping expired days.
#include <atomic>
#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "records_fixture.h"
#include "storage/pg_call_insert.h"
#include "storage/records.h"
#include "storage/statements.h"
#include "store_fixture.h"

using namespace shadowmeter::testing;
using shadowmeter::collector::RetentionPolicy;
namespace sql = shadowmeter::collector::sql;
namespace records = shadowmeter::collector::records;

#define PG_STORE(fx)                          \
  auto fx = StoreFixture::make("postgresql"); \
  if (!fx) return

namespace {

std::int64_t scalar(sql::Connection& c, const std::string& q, const std::vector<sql::Value>& p = {}) {
  const auto rows = c.query(q, p);
  REQUIRE(rows.size() == 1);
  return sql::as_int(rows[0][0]).value_or(-1);
}

bool exists(sql::Connection& c, const std::string& table) {
  return scalar(c, "SELECT COUNT(*) FROM pg_class WHERE oid = to_regclass(?)", {table}) == 1;
}

std::int64_t day_of(std::uint64_t t) { return static_cast<std::int64_t>(t / kDay); }

// Far from now: filed in calls_default, not in a partition of its own.
constexpr std::uint64_t kFarFuture = 3786912000ull * kSecond;  // 2090-01-01

// The calls table exactly as schema v2 made it (unpartitioned, event_id the primary key).
void make_v2_calls(sql::Connection& c) {
  c.execute(R"(CREATE TABLE calls (event_id TEXT PRIMARY KEY, time_unix_nano BIGINT NOT NULL,
      received_unix_nano BIGINT NOT NULL, principal TEXT, k8s_workload_kind TEXT, k8s_workload_name TEXT,
      end_time_unix_nano BIGINT, host_name TEXT, provider TEXT, operation TEXT, request_model TEXT,
      response_model TEXT, input_tokens BIGINT, output_tokens BIGINT, cache_read_tokens BIGINT,
      cache_creation_tokens BIGINT, reasoning_tokens BIGINT, usage_source TEXT, stream BOOLEAN,
      cost_usd DOUBLE PRECISION, pricing_source TEXT, server_address TEXT, status_code BIGINT,
      error_type TEXT, process_executable_name TEXT, container_id TEXT, k8s_namespace TEXT, k8s_pod_name TEXT,
      owner TEXT, environment TEXT, shadow BOOLEAN, shadow_reason TEXT, visibility TEXT, tls_library TEXT,
      api_key_fingerprint TEXT, attributes TEXT NOT NULL, visibility_reason TEXT))");
  for (const char* index :
       {"calls_time ON calls (time_unix_nano, event_id)", "calls_owner_time ON calls (owner, time_unix_nano)",
        "calls_namespace_time ON calls (k8s_namespace, time_unix_nano)",
        "calls_provider_time ON calls (provider, time_unix_nano)",
        "calls_model_time ON calls (request_model, time_unix_nano)",
        "calls_host_time ON calls (host_name, time_unix_nano)",
        "calls_shadow_time ON calls (shadow, time_unix_nano)"}) {
    c.execute(std::string("CREATE INDEX ") + index);
  }
}

std::set<std::string> call_indexes(sql::Connection& c) {
  std::set<std::string> out;
  for (const auto& r : c.query("SELECT indexname FROM pg_indexes WHERE tablename = 'calls'"))
    out.insert(sql::as_text(r[0]).value_or(""));
  return out;
}

sql::Row values_of(const nlohmann::json& e) {
  return records::call_values(e, e.at("shadowmeter.event_id").get<std::string>(), records::Arrival{kT0, ""});
}

}  // namespace

TEST_CASE("pg: a populated schema v2 calls table is partitioned by day without losing a call", "[storage]") {
  PG_STORE(fx);
  fx->close();
  auto raw = fx->raw();
  // Back to schema v2: the unpartitioned table, then 300 calls over 3 days and one from a wrong clock.
  raw->execute("DROP TABLE calls");
  make_v2_calls(*raw);
  raw->execute("DELETE FROM schema_version WHERE version > 2");
  const std::set<std::string> v2_indexes = call_indexes(*raw);
  std::vector<nlohmann::json> events;
  for (unsigned i = 0; i < 300; ++i)
    events.push_back(call_event(event_id(7, i), kT0 + (i % 3) * kDay + i * kSecond));
  events.push_back(call_event(event_id(7, 999), kFarFuture));
  for (const auto& e : events) {
    raw->execute(sql::insert_ignore("calls", records::call_columns(), 1), values_of(e));
  }
  const double cost_before = sql::as_double(raw->query("SELECT SUM(cost_usd) FROM calls")[0][0]).value();

  fx->reopen();  // open_store migrates: step 5 partitions calls
  CHECK(scalar(*raw, "SELECT COUNT(*) FROM pg_class WHERE relname = 'calls' AND relkind = 'p'") == 1);
  CHECK(scalar(*raw, "SELECT COUNT(*) FROM calls") == 301);
  CHECK(sql::as_double(raw->query("SELECT SUM(cost_usd) FROM calls")[0][0]).value() == Approx(cost_before));
  for (int d = 0; d < 3; ++d) {
    const std::string part = sql::partition_name(day_of(kT0) + d);
    CHECK(exists(*raw, part));
    CHECK(scalar(*raw, "SELECT COUNT(*) FROM " + part) == 100);
  }
  CHECK(scalar(*raw, "SELECT COUNT(*) FROM calls_default") == 1);
  CHECK_FALSE(exists(*raw, "calls_unpartitioned"));
  std::set<std::string> want = v2_indexes;  // the same indexes; the primary key now holds the time too
  CHECK(call_indexes(*raw) == want);
  CHECK(scalar(*raw,
               "SELECT COUNT(*) FROM pg_constraint WHERE conname = 'calls_pkey' AND array_length(conkey, 1) "
               "= 2") == 1);

  // Ingest goes on: a redelivery of every call is all duplicates, a new one is stored once.
  events.push_back(call_event(event_id(7, 1000), kT0 + 5 * kSecond));
  const auto r = fx->store().ingest(batch_of(events));
  CHECK(r.inserted == 1);
  CHECK(r.duplicates == 301);
  // Migrating again (its version record lost) finds calls partitioned and leaves it alone.
  raw->execute("DELETE FROM schema_version WHERE version > 2");
  fx->reopen();
  CHECK(scalar(*raw, "SELECT COUNT(*) FROM calls") == 302);
}

TEST_CASE("pg: day partitions on demand; far-off times in calls_default until their day comes", "[storage]") {
  PG_STORE(fx);
  auto raw = fx->raw();
  REQUIRE(
      fx->store()
          .ingest(batch_of({call_event(event_id(8, 1), kT0 + kSecond), call_event(event_id(8, 2), kT0 + kDay),
                            call_event(event_id(8, 3), kFarFuture)}))
          .inserted == 3);
  CHECK(scalar(*raw, "SELECT COUNT(*) FROM " + sql::partition_name(day_of(kT0))) == 1);
  CHECK(scalar(*raw, "SELECT COUNT(*) FROM " + sql::partition_name(day_of(kT0) + 1)) == 1);
  CHECK(scalar(*raw, "SELECT COUNT(*) FROM calls_default") == 1);
  CHECK_FALSE(exists(*raw, sql::partition_name(day_of(kFarFuture))));

  raw->begin();
  sql::pg_ensure_day_partition(*raw, day_of(kFarFuture));
  sql::pg_ensure_day_partition(*raw, day_of(kFarFuture));  // there already: nothing to do
  raw->commit();
  CHECK(scalar(*raw, "SELECT COUNT(*) FROM calls_default") == 0);
  CHECK(scalar(*raw, "SELECT COUNT(*) FROM " + sql::partition_name(day_of(kFarFuture))) == 1);
  CHECK(scalar(*raw, "SELECT COUNT(*) FROM calls") == 3);
}

TEST_CASE("pg: collectors racing for the same new day all store their calls", "[storage]") {
  PG_STORE(fx);
  constexpr unsigned kCollectors = 4;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < kCollectors; ++t) {
    threads.emplace_back([&, t] {
      try {
        auto s = shadowmeter::collector::open_store(fx->url());
        for (unsigned d = 0; d < 5; ++d) {
          s->ingest(batch_of({call_event(event_id(100 + t, d), kT0 + 20 * kDay + d * kDay + t * kSecond)}));
        }
      } catch (const std::exception& e) {
        ++failures;
        std::fprintf(stderr, "racing ingest failed: %s\n", e.what());
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures == 0);
  auto raw = fx->raw();
  CHECK(scalar(*raw, "SELECT COUNT(*) FROM calls") == kCollectors * 5);
  CHECK(scalar(*raw, "SELECT COUNT(*) FROM calls_default") == 0);
}

TEST_CASE("pg: pg_insert_new_calls returns the indexes of the new rows; text survives COPY", "[storage]") {
  PG_STORE(fx);
  auto raw = fx->raw();
  const std::string odd = "tab\there, newline\nthere, back\\slash, \\N, quote\" and é";
  auto rows_of = [&](const std::vector<nlohmann::json>& events) {
    std::vector<sql::Row> rows;
    for (const auto& e : events) rows.push_back(values_of(e));
    return rows;
  };
  raw->begin();
  auto first = rows_of({call_event(event_id(9, 1), kT0),
                        call_event(event_id(9, 2), kT0 + kSecond, {{"shadowmeter.owner", odd}})});
  CHECK(sql::pg_insert_new_calls(*raw, records::call_columns(), first) == std::vector<std::size_t>{0, 1});
  // Old, new, old, and the new one again within the batch: only index 1 is new.
  auto second =
      rows_of({call_event(event_id(9, 1), kT0), call_event(event_id(9, 3), kT0 + 2 * kSecond),
               call_event(event_id(9, 2), kT0 + kSecond), call_event(event_id(9, 3), kT0 + 2 * kSecond)});
  CHECK(sql::pg_insert_new_calls(*raw, records::call_columns(), second) == std::vector<std::size_t>{1});
  raw->commit();
  CHECK(scalar(*raw, "SELECT COUNT(*) FROM calls") == 3);
  CHECK(sql::as_text(raw->query("SELECT owner FROM calls WHERE event_id = ?", {event_id(9, 2)})[0][0]) ==
        odd);
  CHECK(
      scalar(*raw,
             "SELECT COUNT(*) FROM calls WHERE stream IS FALSE AND cost_usd = 0.5 AND input_tokens = 100") ==
      3);
  CHECK(scalar(*raw, "SELECT COUNT(*) FROM calls WHERE principal IS NULL") == 3);
}

TEST_CASE("pg: retention drops the partitions of expired days and deletes the rest", "[storage]") {
  PG_STORE(fx);
  auto& s = fx->store();
  std::vector<nlohmann::json> events;
  for (unsigned d = 0; d < 4; ++d)
    for (unsigned i = 0; i < 10; ++i)
      events.push_back(call_event(event_id(10 + d, i), kT0 + d * kDay + i * 3600 * kSecond));
  events.push_back(call_event(event_id(20, 1), kFarFuture - 100 * 365 * kDay));  // 1990: calls_default
  REQUIRE(s.ingest(batch_of(events)).inserted == 41);
  auto raw = fx->raw();
  CHECK(scalar(*raw, "SELECT COUNT(*) FROM calls_default") == 1);

  // Raw rows kept 30 days; "now" is day 2 + 5 h + 30 days: days 0 and 1 whole, day 2 up to 05:00 expire.
  RetentionPolicy policy;
  policy.raw_days = 30;
  policy.rollup_days = 20000;  // the 1990 call's rollup stays
  const auto result = s.apply_retention(policy, kT0 + 2 * kDay + 5 * 3600 * kSecond + 30 * kDay);
  CHECK(result.calls_deleted == 1 + 10 + 10 + 5);
  CHECK_FALSE(exists(*raw, sql::partition_name(day_of(kT0))));
  CHECK_FALSE(exists(*raw, sql::partition_name(day_of(kT0) + 1)));
  CHECK(scalar(*raw, "SELECT COUNT(*) FROM " + sql::partition_name(day_of(kT0) + 2)) == 5);
  CHECK(scalar(*raw, "SELECT COUNT(*) FROM calls") == 15);
  // The rollups made at ingest still count every call, the expired ones included.
  CHECK(scalar(*raw, "SELECT SUM(calls) FROM rollups_daily") == 41);
  CHECK(scalar(*raw, "SELECT SUM(calls) FROM rollups_hourly") == 41);
}
