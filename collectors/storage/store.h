// The collector's storage: usage events (one row per shadowmeter.event_id, inserted at most once),
// agent heartbeats, gap records (events an agent had to drop) and hourly and daily rollups of the
// calls, maintained at ingest in the same transaction (storage/rollups.h), which the reports read. Two back ends behave the same: SQLite (WAL, synchronous=FULL; the embedded default)
// and PostgreSQL (libpq; for fleets and several collector replicas sharing one database).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "storage/sql_value.h"

namespace shadowmeter::collector {

// Failures of the database itself (cannot connect, disk full, constraint other than the event id):
// the ingest is not acknowledged (the receiver answers 503) and may be retried.
struct StoreError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One accepted OTLP request, already decoded and checked by the receiver. Events are flat JSON
// objects keyed by ../shared/DESIGN.md attribute names, as exporting::decode_otlp_traces returns them.
struct IngestBatch {
  std::vector<nlohmann::json> calls;       // usage events (no shadowmeter.record.type)
  std::vector<nlohmann::json> heartbeats;  // shadowmeter.record.type == "heartbeat"
  std::vector<nlohmann::json> gaps;        // shadowmeter.record.type == "gap"
  std::string principal;                   // who sent it: "token:<name>" or "mtls:<subject CN>" or ""
  std::uint64_t received_unix_nano = 0;
};

struct IngestResult {
  std::uint64_t inserted = 0;    // new call rows
  std::uint64_t duplicates = 0;  // calls whose event id was already stored (redelivery): not stored again
  std::uint64_t heartbeats = 0;  // new heartbeat rows (heartbeats are idempotent on their event id too)
  std::uint64_t gaps = 0;        // new gap rows (gap records are idempotent on their event id too)
  std::uint64_t invalid = 0;     // records of any kind without a usable shadowmeter.event_id (missing, not a
                                 // string, or not 1..128 chars of [0-9A-Za-z._-]): not stored
  std::vector<std::size_t> new_calls;  // indexes in IngestBatch::calls of the newly stored calls (increasing)
};

// Filters of GET /api/v1/calls. Empty strings and nullopt mean "any".
struct CallFilter {
  std::optional<std::uint64_t> from_unix_nano;  // time_unix_nano >= from
  std::optional<std::uint64_t> to_unix_nano;    // time_unix_nano < to
  std::string provider;                         // gen_ai.provider.name
  std::string model;                            // gen_ai.request.model or gen_ai.response.model
  std::string k8s_namespace;                    // k8s.namespace.name
  std::string owner;                            // shadowmeter.owner
  std::string host;                             // host.name
  std::string api_key_fingerprint;              // shadowmeter.api_key.fingerprint
  std::optional<bool> shadow;                   // shadowmeter.shadow
  std::size_t limit = 100;                      // 1..1000 (the caller clamps)
  std::string cursor;                           // opaque, from a previous page's next_cursor
};

// A page of calls holds at most this many bytes of stored records (and at least one record): a larger
// page is cut and its next_cursor goes on from the cut.
inline constexpr std::size_t kMaxPageBytes = 8u << 20;

// Newest first, ordered by (time_unix_nano, event_id) descending: stable under concurrent inserts.
struct CallPage {
  std::vector<nlohmann::json> calls;  // the stored flat events (all attributes as received)
  std::string next_cursor;            // "" on the last page
};

struct RetentionPolicy {
  std::uint32_t raw_days = 30;      // raw call rows older than this are deleted (the rollups have them already)
  std::uint32_t rollup_days = 400;  // hourly and daily rollup rows older than this are deleted
  std::uint32_t heartbeat_days = 30;
};

struct RetentionResult {
  std::uint64_t calls_deleted = 0;  // raw call rows deleted (counted in the rollups since their ingest)
  std::uint64_t daily_rollups_deleted = 0;
  std::uint64_t hourly_rollups_deleted = 0;
  std::uint64_t heartbeats_deleted = 0;
  std::uint64_t gaps_deleted = 0;
};

struct StoreStats {
  std::uint64_t calls = 0;       // raw call rows
  std::uint64_t rollup_rows = 0; // daily rollup rows
  std::uint64_t agents = 0;
  std::uint64_t bytes = 0;       // database size on disk (SQLite: file + WAL; PostgreSQL: pg_database_size)
};

// Bound of the answers of agents(), health_records() (per kind) and rollups(): a larger answer throws
// std::length_error (the caller asks for a narrower range) instead of growing without bound.
inline constexpr std::size_t kMaxReportRows = 100000;

// Thread safety: ingest() is called by one writer thread; queries, stats() and apply_retention() may
// be called concurrently from other threads (the store serialises what it must internally; SQLite
// readers use their own connection so they never wait for a write transaction).
class Store {
 public:
  virtual ~Store() = default;

  // "sqlite" or "postgresql".
  virtual std::string backend() const = 0;

  // Creates the schema or migrates it to the current version (idempotent; under PostgreSQL several
  // collectors starting together serialise on an advisory lock). open_store() calls it.
  virtual void migrate() = 0;

  // One transaction, durable when it returns (SQLite synchronous=FULL; PostgreSQL commit). Calls are
  // inserted once per event id, and only the new ones are added to the rollups; heartbeats update the agent's row (agents) and are appended to the
  // heartbeat history; gaps are inserted once per event id. Throws StoreError; then nothing of the
  // batch is stored.
  virtual IngestResult ingest(const IngestBatch& batch) = 0;
  // Several batches in one transaction (group commit); results in the same order. Same all-or-nothing.
  virtual std::vector<IngestResult> ingest_many(const std::vector<const IngestBatch*>& batches) = 0;

  // Throws std::invalid_argument for a malformed cursor. A limit outside 1..1000 is clamped.
  virtual CallPage query_calls(const CallFilter& filter) = 0;

  // One object per agent (host.name): {"host.name", "principal", "agent.version", "first_seen_unix_nano",
  // "last_seen_unix_nano" (last batch of any kind), "last_heartbeat_unix_nano", "heartbeat" (the latest
  // heartbeat's attributes), "calls" (raw rows stored), "gap_dropped_events" (sum of its gap records)}.
  virtual nlohmann::json agents() = 0;

  // Heartbeats and gaps of [from, to) for the coverage report: {"heartbeats": [...], "gaps": [...]},
  // each the stored flat record.
  virtual nlohmann::json health_records(std::uint64_t from_unix_nano, std::uint64_t to_unix_nano) = 0;

  // Daily rollups of [from_day, to_day) (days as "YYYY-MM-DD", UTC), one object per row (for tests and
  // tools; the reports aggregate them in SQL): {"day", "host.name", "gen_ai.provider.name", "model",
  //  "k8s.namespace.name", "shadowmeter.owner", "shadowmeter.usage.source", "shadowmeter.visibility",
  //  "shadowmeter.shadow", "calls" (readable calls), "input_tokens", "output_tokens", "cache_read_tokens",
  //  "cache_creation_tokens", "reasoning_tokens", "cost_usd", "priced_calls" (calls that had a cost:
  //  cost_usd sums only those), "connections" (blind connections), "workload",
  //  "shadowmeter.api_key.fingerprint", "deployment.environment", "dimensions" (object or null)}.
  // Unknown dimensions are null. Throws std::invalid_argument for a malformed day.
  virtual nlohmann::json rollups(const std::string& from_day, const std::string& to_day) = 0;

  // Deletes raw rows older than raw_days (relative to now_unix_nano; they were added to the rollups when
  // ingested, so no report changes), then rollups older than rollup_days (whole UTC days), heartbeats
  // and gaps older than heartbeat_days.
  virtual RetentionResult apply_retention(const RetentionPolicy& policy, std::uint64_t now_unix_nano) = 0;

  virtual StoreStats stats() = 0;

  // The SQL dialect of the back end, for the reports (collectors/reports/) that build their aggregate
  // statements for it.
  virtual sql::Dialect dialect() const = 0;
  // One read-only aggregate statement of the reports ("?" placeholders), on the reader connection (so
  // it never waits for ingest). Only SELECT / WITH statements are accepted (std::invalid_argument
  // otherwise); an answer of more than kMaxReportRows rows throws std::length_error (the statement
  // should carry a LIMIT). Throws StoreError when the database fails.
  virtual std::vector<sql::Row> report_rows(const std::string& sql, const std::vector<sql::Value>& params) = 0;
  // The same, for answers of any size (the FOCUS export): the rows go to `each` one at a time and are
  // not kept, so memory stays bounded whatever the row count; no row cap. `each` may throw to stop
  // (the statement is abandoned, the exception passes through).
  virtual void report_rows_each(const std::string& sql, const std::vector<sql::Value>& params,
                                const std::function<void(sql::Row&&)>& each) = 0;

  // Cheap liveness check of the database connection (for /readyz).
  virtual bool ping() = 0;
};

// "sqlite:PATH" (a new file is created 0600 in an existing directory; "sqlite:///abs/path" is accepted
// too; "sqlite::memory:" for tests) or a libpq URI "postgresql://..." / "postgres://...". Connects
// and migrates. Throws StoreError naming the problem (never echoing a password from the URI).
std::unique_ptr<Store> open_store(const std::string& url);

// The URL with any password replaced by "***", for logs.
std::string redact_db_url(const std::string& url);

}  // namespace shadowmeter::collector
