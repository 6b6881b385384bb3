#include "storage/schema.h"

#include <chrono>
#include <string>
#include <vector>

#include "storage/rollup_backfill.h"
#include "storage/pg_partition_migration.h"

namespace shadowmeter::collector::sql {
namespace {

struct AddColumn {
  const char* table;
  const char* column;
  const char* type;
};

struct Step {
  std::int64_t version;
  std::vector<std::string> statements;
  std::vector<AddColumn> add_columns = {};  // after the statements; skipped when the column exists
  void (*run)(Connection&) = nullptr;       // last: a data migration written in C++
};

// The rollup tables of step 3 (hourly and daily grain; see storage/rollups.h).
std::string rollup_table(const char* name) {
  return std::string("CREATE TABLE IF NOT EXISTS ") + name +
         R"( (
                bucket_unix_nano BIGINT NOT NULL,
                key_hash TEXT NOT NULL,
                owner TEXT NOT NULL,
                k8s_namespace TEXT NOT NULL,
                workload TEXT NOT NULL,
                host_name TEXT NOT NULL,
                provider TEXT NOT NULL,
                model TEXT NOT NULL,
                api_key_fingerprint TEXT NOT NULL,
                environment TEXT NOT NULL,
                operation TEXT NOT NULL,
                executable TEXT NOT NULL,
                pricing_source TEXT NOT NULL,
                usage_source TEXT NOT NULL,
                visibility TEXT NOT NULL,
                visibility_reason TEXT NOT NULL,
                tls_library TEXT NOT NULL,
                server_address TEXT NOT NULL,
                shadow_reason TEXT NOT NULL,
                dimensions TEXT NOT NULL,
                shadow SMALLINT NOT NULL,
                calls BIGINT NOT NULL,
                connections BIGINT NOT NULL,
                input_tokens BIGINT NOT NULL,
                output_tokens BIGINT NOT NULL,
                cache_read_tokens BIGINT NOT NULL,
                cache_creation_tokens BIGINT NOT NULL,
                reasoning_tokens BIGINT NOT NULL,
                cost_usd DOUBLE PRECISION NOT NULL,
                priced_calls BIGINT NOT NULL,
                priced_tokens BIGINT NOT NULL,
                bytes_sent BIGINT NOT NULL,
                bytes_received BIGINT NOT NULL,
                legacy_calls BIGINT NOT NULL,
                first_seen_unix_nano BIGINT NOT NULL,
                last_seen_unix_nano BIGINT NOT NULL,
                PRIMARY KEY (bucket_unix_nano, key_hash)))";
}

// Times are nanoseconds since the epoch (BIGINT). Booleans are BOOLEAN (SQLite stores 0/1). In
// rollups unknown dimensions are '' and an unknown shadow verdict is -1, so that equal keys meet on
// upsert (NULLs never compare equal).
const std::vector<Step>& steps() {
  static const std::vector<Step> all = {
      {1,
       {
           R"(CREATE TABLE IF NOT EXISTS calls (
                event_id TEXT PRIMARY KEY,
                time_unix_nano BIGINT NOT NULL,
                received_unix_nano BIGINT NOT NULL,
                principal TEXT,
                k8s_workload_kind TEXT,
                k8s_workload_name TEXT,
                end_time_unix_nano BIGINT,
                host_name TEXT,
                provider TEXT,
                operation TEXT,
                request_model TEXT,
                response_model TEXT,
                input_tokens BIGINT,
                output_tokens BIGINT,
                cache_read_tokens BIGINT,
                cache_creation_tokens BIGINT,
                reasoning_tokens BIGINT,
                usage_source TEXT,
                stream BOOLEAN,
                cost_usd DOUBLE PRECISION,
                pricing_source TEXT,
                server_address TEXT,
                status_code BIGINT,
                error_type TEXT,
                process_executable_name TEXT,
                container_id TEXT,
                k8s_namespace TEXT,
                k8s_pod_name TEXT,
                owner TEXT,
                environment TEXT,
                shadow BOOLEAN,
                shadow_reason TEXT,
                visibility TEXT,
                tls_library TEXT,
                api_key_fingerprint TEXT,
                attributes TEXT NOT NULL))",
           // (time, event_id) is the order of every page, so that index also serves keyset pagination.
           "CREATE INDEX IF NOT EXISTS calls_time ON calls (time_unix_nano, event_id)",
           "CREATE INDEX IF NOT EXISTS calls_owner_time ON calls (owner, time_unix_nano)",
           "CREATE INDEX IF NOT EXISTS calls_namespace_time ON calls (k8s_namespace, time_unix_nano)",
           "CREATE INDEX IF NOT EXISTS calls_provider_time ON calls (provider, time_unix_nano)",
           "CREATE INDEX IF NOT EXISTS calls_model_time ON calls (request_model, time_unix_nano)",
           "CREATE INDEX IF NOT EXISTS calls_host_time ON calls (host_name, time_unix_nano)",
           R"(CREATE TABLE IF NOT EXISTS agents (
                host_name TEXT PRIMARY KEY,
                principal TEXT,
                agent_version TEXT,
                first_seen_unix_nano BIGINT NOT NULL,
                last_seen_unix_nano BIGINT NOT NULL,
                last_heartbeat_unix_nano BIGINT,
                heartbeat TEXT))",
           R"(CREATE TABLE IF NOT EXISTS heartbeats (
                event_id TEXT PRIMARY KEY,
                host_name TEXT,
                time_unix_nano BIGINT NOT NULL,
                received_unix_nano BIGINT NOT NULL,
                principal TEXT,
                agent_version TEXT,
                attributes TEXT NOT NULL))",
           "CREATE INDEX IF NOT EXISTS heartbeats_time ON heartbeats (time_unix_nano)",
           R"(CREATE TABLE IF NOT EXISTS gaps (
                event_id TEXT PRIMARY KEY,
                host_name TEXT,
                time_unix_nano BIGINT NOT NULL,
                end_time_unix_nano BIGINT,
                received_unix_nano BIGINT NOT NULL,
                principal TEXT,
                dropped_events BIGINT,
                reason TEXT,
                attributes TEXT NOT NULL))",
           "CREATE INDEX IF NOT EXISTS gaps_time ON gaps (time_unix_nano)",
           "CREATE INDEX IF NOT EXISTS gaps_host ON gaps (host_name)",
           R"(CREATE TABLE IF NOT EXISTS daily_rollups (
                day TEXT NOT NULL,
                host_name TEXT NOT NULL,
                provider TEXT NOT NULL,
                request_model TEXT NOT NULL,
                k8s_namespace TEXT NOT NULL,
                owner TEXT NOT NULL,
                usage_source TEXT NOT NULL,
                visibility TEXT NOT NULL,
                shadow SMALLINT NOT NULL,
                calls BIGINT NOT NULL,
                input_tokens BIGINT NOT NULL,
                output_tokens BIGINT NOT NULL,
                cache_read_tokens BIGINT NOT NULL,
                cache_creation_tokens BIGINT NOT NULL,
                reasoning_tokens BIGINT NOT NULL,
                cost_usd DOUBLE PRECISION NOT NULL,
                priced_calls BIGINT NOT NULL,
                PRIMARY KEY (day, host_name, provider, request_model, k8s_namespace, owner, usage_source,
                             visibility, shadow)))",
       }},
      // The reason a call was seen at connection level only (shadowmeter.visibility.reason), for the
      // coverage report's blind spots; and the index of the shadow-AI findings.
      {2,
       {
           "CREATE INDEX IF NOT EXISTS calls_shadow_time ON calls (shadow, time_unix_nano)",
       },
       {{"calls", "visibility_reason", "TEXT"}}},
      // Rollups maintained at ingest (hourly and daily), backfilled from the raw calls and the old
      // daily_rollups, which they replace. The shadow index serves the findings' history.
      {3,
       {
           rollup_table("rollups_hourly"),
           rollup_table("rollups_daily"),
           "CREATE INDEX IF NOT EXISTS rollups_hourly_shadow ON rollups_hourly (shadow, bucket_unix_nano)",
           "CREATE INDEX IF NOT EXISTS rollups_daily_shadow ON rollups_daily (shadow, bucket_unix_nano)",
       },
       {},
       &backfill_rollups},
      // PostgreSQL: raw calls partitioned by UTC day, so that retention drops a day's table instead of
      // deleting its rows one by one (SQLite: nothing to do).
      {4, {}, {}, &pg_partition_calls},
  };
  return all;
}

std::int64_t now_unix_nano() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ALTER TABLE ADD COLUMN has no IF NOT EXISTS in SQLite; a migration re-run over existing tables (its
// version record lost) must not fail on a column an earlier run added.
void add_column_if_missing(Connection& c, const AddColumn& a) {
  const std::string probe =
      c.dialect() == Dialect::postgresql
          ? "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = current_schema() AND "
            "table_name = ? AND column_name = ?"
          : "SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?";
  const auto rows = c.query(probe, {std::string(a.table), std::string(a.column)});
  if (!rows.empty() && !rows[0].empty() && as_int(rows[0][0]).value_or(0) > 0) return;
  c.execute(std::string("ALTER TABLE ") + a.table + " ADD COLUMN " + a.column + " " + a.type);
}

}  // namespace

std::int64_t current_schema_version() { return steps().back().version; }

std::int64_t schema_version(Connection& c) {
  const auto rows = c.query("SELECT COALESCE(MAX(version), 0) FROM schema_version");
  return rows.empty() || rows[0].empty() ? 0 : as_int(rows[0][0]).value_or(0);
}

void migrate(Connection& c) {
  c.ensure_connected();
  c.lock_schema();
  try {
    c.begin();
    c.execute(
        "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT PRIMARY KEY, applied_unix_nano BIGINT NOT "
        "NULL)");
    const std::int64_t have = schema_version(c);
    for (const Step& step : steps()) {
      if (step.version <= have) continue;
      for (const std::string& statement : step.statements) c.execute(statement);
      for (const AddColumn& a : step.add_columns) add_column_if_missing(c, a);
      if (step.run != nullptr) step.run(c);
      c.execute("INSERT INTO schema_version (version, applied_unix_nano) VALUES (?, ?)",
                {step.version, now_unix_nano()});
    }
    c.commit();
  } catch (...) {
    c.rollback();
    c.unlock_schema();
    throw;
  }
  c.unlock_schema();
}

}  // namespace shadowmeter::collector::sql
