#include "storage/sql_store.h"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <optional>
#include <set>
#include <stdexcept>
#include <utility>

#include "storage/call_insert.h"
#include "storage/cursor.h"
#include "storage/pg_call_insert.h"
#include "storage/records.h"
#include "storage/rollups.h"
#include "storage/schema.h"
#include "storage/statements.h"

namespace shadowmeter::collector {
namespace {

using sql::Connection;
using sql::Row;
using sql::Value;

constexpr int kAttempts = 3;  // a transient failure is retried twice (after reconnecting)
constexpr std::uint64_t kDayNs = 86400ull * 1000000000ull;
constexpr std::size_t kMaxPageLimit = 1000;

std::int64_t to_int64(std::uint64_t v) {
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  return static_cast<std::int64_t>(std::min(v, kMax));
}

std::uint64_t now_unix_nano() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

// now - days, saturating at 0.
std::uint64_t days_before(std::uint64_t now, std::uint32_t days) {
  if (days > now / kDayNs) return 0;
  return now - days * kDayNs;
}

std::string utc_day(std::uint64_t unix_nano) {
  const auto secs = static_cast<time_t>(unix_nano / 1000000000ull);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d", &tm);
  return buf;
}

// UTC midnight of a "YYYY-MM-DD" day (checked by is_day) in nanoseconds.
std::uint64_t day_start_nano(const std::string& day) {
  std::tm tm{};
  tm.tm_year = std::stoi(day.substr(0, 4)) - 1900;
  tm.tm_mon = std::stoi(day.substr(5, 2)) - 1;
  tm.tm_mday = std::stoi(day.substr(8, 2));
  const time_t secs = timegm(&tm);
  return secs < 0 ? 0 : static_cast<std::uint64_t>(secs) * 1000000000ull;
}

bool is_day(const std::string& d) {
  if (d.size() != 10 || d[4] != '-' || d[7] != '-') return false;
  for (std::size_t i = 0; i < d.size(); ++i) {
    if (i != 4 && i != 7 && (d[i] < '0' || d[i] > '9')) return false;
  }
  return true;
}

// A stored record back as JSON. Only a damaged database holds anything else; the row is still
// shown, marked, rather than failing the whole answer.
nlohmann::json parse_stored(const Value& v) {
  const auto text = sql::as_text(v);
  if (text) {
    auto j = nlohmann::json::parse(*text, nullptr, false);
    if (!j.is_discarded()) return j;
  }
  return nlohmann::json{{"shadowmeter.storage.error", "stored record is not valid JSON"}};
}

nlohmann::json json_int(const Value& v) {
  if (const auto i = sql::as_int(v)) return *i;
  return nullptr;
}

nlohmann::json json_text(const Value& v) {
  if (auto s = sql::as_text(v)) return std::move(*s);
  return nullptr;
}

// '' in a rollup dimension is "unknown".
nlohmann::json json_dimension(const Value& v) {
  auto s = sql::as_text(v);
  if (!s || s->empty()) return nullptr;
  return std::move(*s);
}

void require_within_cap(std::size_t rows, const char* what) {
  if (rows > kMaxReportRows) {
    throw std::length_error(std::string(what) + ": more than " + std::to_string(kMaxReportRows) +
                            " rows; ask for a narrower range");
  }
}

// One batch's rows, in the caller's transaction; the new calls' facts go to `acc`, which the caller
// flushes into the rollups before committing.
IngestResult ingest_batch(Connection& c, const IngestBatch& batch, rollups::Accumulator& acc) {
  IngestResult result;
  const records::Arrival arrival{batch.received_unix_nano != 0 ? batch.received_unix_nano : now_unix_nano(),
                                 batch.principal};
  const Value received = to_int64(arrival.received_unix_nano);
  std::set<std::string> hosts;  // sorted: replicas touch agent rows in the same order (no deadlock)
  auto note_host = [&hosts](const nlohmann::json& record) {
    if (auto h = records::text(record, "host.name")) hosts.insert(std::move(*h));
  };

  std::vector<Row> calls;
  std::vector<rollups::Fact> facts;
  std::vector<std::size_t> source;  // index in batch.calls of each row
  calls.reserve(batch.calls.size());
  facts.reserve(batch.calls.size());
  source.reserve(batch.calls.size());
  for (std::size_t i = 0; i < batch.calls.size(); ++i) {
    const nlohmann::json& e = batch.calls[i];
    note_host(e);
    const auto id = records::event_id_of(e);
    if (!id) {
      ++result.invalid;
      continue;
    }
    calls.push_back(records::call_values(e, *id, arrival));
    facts.push_back(rollups::fact_of(calls.back(), e));
    source.push_back(i);
  }
  const std::size_t valid_calls = calls.size();
  const std::vector<std::size_t> fresh = sql::insert_new_calls(c, records::call_columns(), calls);
  result.inserted = fresh.size();
  result.duplicates = valid_calls - result.inserted;
  result.new_calls.reserve(fresh.size());
  for (const std::size_t i : fresh) {
    acc.add(facts[i]);
    result.new_calls.push_back(source[i]);
  }

  for (const nlohmann::json& g : batch.gaps) {
    note_host(g);
    const auto id = records::event_id_of(g);
    if (!id) {
      ++result.invalid;
      continue;
    }
    result.gaps += c.execute(sql::insert_ignore("gaps", records::gap_columns(), 1),
                             records::gap_values(g, *id, arrival));
  }

  for (const nlohmann::json& h : batch.heartbeats) note_host(h);
  const Value principal = records::principal_value(arrival);
  for (const std::string& host : hosts) c.execute(sql::kTouchAgent, {host, principal, received, received});

  for (const nlohmann::json& h : batch.heartbeats) {
    const auto id = records::event_id_of(h);
    if (!id) {
      ++result.invalid;
      continue;
    }
    if (c.execute(sql::insert_ignore("heartbeats", records::heartbeat_columns(), 1),
                  records::heartbeat_values(h, *id, arrival)) == 0) {
      continue;  // redelivered: the agent row has it already
    }
    ++result.heartbeats;
    const auto host = records::text(h, "host.name");
    if (!host) continue;
    const auto version = records::text(h, "shadowmeter.agent.version");
    const std::int64_t time = records::record_time(h, arrival);
    c.execute(sql::kAgentHeartbeat,
              {version ? Value(*version) : Value(), time, records::attributes_json(h), *host, time});
  }
  return result;
}

}  // namespace

SqlStore::SqlStore(std::string backend, std::unique_ptr<sql::Connection> writer,
                   std::unique_ptr<sql::Connection> reader)
    : backend_(std::move(backend)) {
  writer_.conn = std::move(writer);
  own_reader_.conn = std::move(reader);
  reader_ = own_reader_.conn ? &own_reader_ : &writer_;
}

template <typename Fn>
auto SqlStore::in_write_transaction(Fn&& fn) {
  std::lock_guard lock(writer_.mu);
  Connection& c = *writer_.conn;
  for (int attempt = 1;; ++attempt) {
    try {
      c.ensure_connected();
      c.begin();
      auto result = fn(c);
      c.commit();
      return result;
    } catch (const sql::TransientStoreError&) {
      c.rollback();
      if (attempt >= kAttempts) throw;
    } catch (...) {
      c.rollback();
      throw;
    }
  }
}

template <typename Fn>
auto SqlStore::reading(Fn&& fn) {
  std::lock_guard lock(reader_->mu);
  Connection& c = *reader_->conn;
  for (int attempt = 1;; ++attempt) {
    try {
      c.ensure_connected();
      return fn(c);
    } catch (const sql::TransientStoreError&) {
      if (attempt >= kAttempts) throw;
    }
  }
}

void SqlStore::migrate() {
  std::lock_guard lock(writer_.mu);
  for (int attempt = 1;; ++attempt) {
    try {
      sql::migrate(*writer_.conn);
      return;
    } catch (const sql::TransientStoreError&) {
      if (attempt >= kAttempts) throw;
    }
  }
}

IngestResult SqlStore::ingest(const IngestBatch& batch) {
  return in_write_transaction([&batch](Connection& c) {
    rollups::Accumulator acc;
    IngestResult r = ingest_batch(c, batch, acc);
    acc.flush(c);
    return r;
  });
}

std::vector<IngestResult> SqlStore::ingest_many(const std::vector<const IngestBatch*>& batches) {
  return in_write_transaction([&batches](Connection& c) {
    // The group commit's new calls are aggregated together: one upsert per rollup key, not per batch.
    rollups::Accumulator acc;
    std::vector<IngestResult> results;
    results.reserve(batches.size());
    for (const IngestBatch* b : batches)
      results.push_back(b != nullptr ? ingest_batch(c, *b, acc) : IngestResult{});
    acc.flush(c);
    return results;
  });
}

CallPage SqlStore::query_calls(const CallFilter& filter) {
  std::optional<sql::Cursor> after;
  if (!filter.cursor.empty()) after = sql::decode_cursor(filter.cursor);
  const std::size_t limit = std::clamp<std::size_t>(filter.limit, 1, kMaxPageLimit);
  // One row more than asked: whether it exists says whether there is a next page.
  const sql::Statement s = sql::calls_page(filter, after ? &*after : nullptr, limit + 1);
  const std::vector<Row> rows = reading([&s](Connection& c) { return c.query(s.sql, s.params); });

  CallPage page;
  // The page is also cut after kMaxPageBytes of stored records (at least one): the cursor goes on from there.
  std::size_t n = std::min(rows.size(), limit);
  std::size_t bytes = 0;
  for (std::size_t i = 0; i < n; ++i) {
    bytes += sql::as_text(rows[i][2]).value_or("").size();
    if (bytes > kMaxPageBytes && i > 0) n = i;
  }
  page.calls.reserve(n);
  for (std::size_t i = 0; i < n; ++i) page.calls.push_back(parse_stored(rows[i][2]));
  if (rows.size() > n) {
    const Row& last = rows[n - 1];
    page.next_cursor =
        sql::encode_cursor({sql::as_int(last[1]).value_or(0), sql::as_text(last[0]).value_or("")});
  }
  return page;
}

nlohmann::json SqlStore::agents() {
  const std::vector<Row> rows = reading(
      [](Connection& c) { return c.query(sql::kAgents, {static_cast<std::int64_t>(kMaxReportRows + 1)}); });
  require_within_cap(rows.size(), "agents");
  nlohmann::json out = nlohmann::json::array();
  for (const Row& r : rows) {
    nlohmann::json heartbeat = sql::is_null(r[6]) ? nlohmann::json(nullptr) : parse_stored(r[6]);
    out.push_back({{"host.name", json_text(r[0])},
                   {"principal", json_text(r[1])},
                   {"agent.version", json_text(r[2])},
                   {"first_seen_unix_nano", json_int(r[3])},
                   {"last_seen_unix_nano", json_int(r[4])},
                   {"last_heartbeat_unix_nano", json_int(r[5])},
                   {"heartbeat", std::move(heartbeat)},
                   {"calls", sql::as_int(r[7]).value_or(0)},
                   {"gap_dropped_events", sql::as_int(r[8]).value_or(0)}});
  }
  return out;
}

nlohmann::json SqlStore::health_records(std::uint64_t from_unix_nano, std::uint64_t to_unix_nano) {
  const std::vector<Value> params = {to_int64(from_unix_nano), to_int64(to_unix_nano),
                                     static_cast<std::int64_t>(kMaxReportRows + 1)};
  auto [heartbeats, gaps] = reading([&params](Connection& c) {
    auto h = c.query(sql::kHeartbeats, params);
    auto g = c.query(sql::kGaps, params);
    return std::make_pair(std::move(h), std::move(g));
  });
  require_within_cap(heartbeats.size(), "heartbeats");
  require_within_cap(gaps.size(), "gaps");
  nlohmann::json out = {{"heartbeats", nlohmann::json::array()}, {"gaps", nlohmann::json::array()}};
  for (const Row& r : heartbeats) out["heartbeats"].push_back(parse_stored(r[0]));
  for (const Row& r : gaps) out["gaps"].push_back(parse_stored(r[0]));
  return out;
}

nlohmann::json SqlStore::rollups(const std::string& from_day, const std::string& to_day) {
  if (!is_day(from_day) || !is_day(to_day)) throw std::invalid_argument("days must be YYYY-MM-DD");
  const std::vector<Row> rows = reading([&](Connection& c) {
    return c.query(sql::kRollups, {to_int64(day_start_nano(from_day)), to_int64(day_start_nano(to_day)),
                                   static_cast<std::int64_t>(kMaxReportRows + 1)});
  });
  require_within_cap(rows.size(), "rollups");
  nlohmann::json out = nlohmann::json::array();
  for (const Row& r : rows) {
    const std::int64_t shadow = sql::as_int(r[8]).value_or(-1);
    auto dims = sql::as_text(r[21]);
    out.push_back({{"day", utc_day(static_cast<std::uint64_t>(std::max<std::int64_t>(sql::as_int(r[0]).value_or(0), 0)))},
                   {"host.name", json_dimension(r[1])},
                   {"gen_ai.provider.name", json_dimension(r[2])},
                   {"model", json_dimension(r[3])},
                   {"k8s.namespace.name", json_dimension(r[4])},
                   {"shadowmeter.owner", json_dimension(r[5])},
                   {"shadowmeter.usage.source", json_dimension(r[6])},
                   {"shadowmeter.visibility", json_dimension(r[7])},
                   {"shadowmeter.shadow", shadow < 0 ? nlohmann::json(nullptr) : nlohmann::json(shadow == 1)},
                   {"calls", sql::as_int(r[9]).value_or(0)},
                   {"input_tokens", sql::as_int(r[10]).value_or(0)},
                   {"output_tokens", sql::as_int(r[11]).value_or(0)},
                   {"cache_read_tokens", sql::as_int(r[12]).value_or(0)},
                   {"cache_creation_tokens", sql::as_int(r[13]).value_or(0)},
                   {"reasoning_tokens", sql::as_int(r[14]).value_or(0)},
                   {"cost_usd", sql::as_double(r[15]).value_or(0.0)},
                   {"priced_calls", sql::as_int(r[16]).value_or(0)},
                   {"connections", sql::as_int(r[17]).value_or(0)},
                   {"workload", json_dimension(r[18])},
                   {"shadowmeter.api_key.fingerprint", json_dimension(r[19])},
                   {"deployment.environment", json_dimension(r[20])},
                   {"dimensions", dims && !dims->empty() ? nlohmann::json::parse(*dims, nullptr, false)
                                                         : nlohmann::json(nullptr)}});
  }
  return out;
}

RetentionResult SqlStore::apply_retention(const RetentionPolicy& policy, std::uint64_t now_unix_nano) {
  RetentionResult result;
  const std::int64_t raw_cutoff = to_int64(days_before(now_unix_nano, policy.raw_days));

  // Raw rows are already counted in the rollups (at ingest): they are only deleted. One UTC day per
  // transaction, oldest first, so a first run over months of rows does not hold the write lock (and
  // ingest) for all of them at once.
  for (;;) {
    const std::optional<std::uint64_t> deleted =
        in_write_transaction([&](Connection& c) -> std::optional<std::uint64_t> {
          const auto rows =
              c.query("SELECT MIN(time_unix_nano) FROM calls WHERE time_unix_nano < ?", {raw_cutoff});
          const auto oldest = rows.empty() || rows[0].empty() ? std::nullopt : sql::as_int(rows[0][0]);
          if (!oldest) return std::nullopt;
          const auto day_end = (static_cast<std::uint64_t>(*oldest) / kDayNs + 1) * kDayNs;
          const std::int64_t end = std::min(raw_cutoff, to_int64(day_end));
          // PostgreSQL drops the day partitions wholly before the cutoff (and deletes the rows of a
          // partial day); the rollups already hold every call.
          if (c.dialect() == sql::Dialect::postgresql)
            return sql::pg_drop_expired_partitions(c, static_cast<std::uint64_t>(end));
          return c.execute("DELETE FROM calls WHERE time_unix_nano < ?", {end});
        });
    if (!deleted) break;
    result.calls_deleted += *deleted;
  }

  // Both grains are kept rollup_days (whole UTC days): the hourly rows serve the partial-day edges of
  // any range the daily rows serve.
  const std::int64_t rollup_cutoff = to_int64(days_before(now_unix_nano, policy.rollup_days) / kDayNs * kDayNs);
  const std::int64_t health_cutoff = to_int64(days_before(now_unix_nano, policy.heartbeat_days));
  const RetentionResult expired = in_write_transaction([&](Connection& c) {
    RetentionResult r;
    r.daily_rollups_deleted = c.execute("DELETE FROM rollups_daily WHERE bucket_unix_nano < ?", {rollup_cutoff});
    r.hourly_rollups_deleted =
        c.execute("DELETE FROM rollups_hourly WHERE bucket_unix_nano < ?", {rollup_cutoff});
    r.heartbeats_deleted = c.execute("DELETE FROM heartbeats WHERE time_unix_nano < ?", {health_cutoff});
    r.gaps_deleted = c.execute("DELETE FROM gaps WHERE time_unix_nano < ?", {health_cutoff});
    return r;
  });
  result.daily_rollups_deleted = expired.daily_rollups_deleted;
  result.hourly_rollups_deleted = expired.hourly_rollups_deleted;
  result.heartbeats_deleted = expired.heartbeats_deleted;
  result.gaps_deleted = expired.gaps_deleted;
  return result;
}

StoreStats SqlStore::stats() {
  return reading([](Connection& c) {
    StoreStats s;
    const auto rows = c.query(sql::kCounts, {});
    if (!rows.empty() && rows[0].size() == 3) {
      s.calls = static_cast<std::uint64_t>(sql::as_int(rows[0][0]).value_or(0));
      s.rollup_rows = static_cast<std::uint64_t>(sql::as_int(rows[0][1]).value_or(0));
      s.agents = static_cast<std::uint64_t>(sql::as_int(rows[0][2]).value_or(0));
    }
    s.bytes = c.database_bytes();
    return s;
  });
}

sql::Dialect SqlStore::dialect() const { return writer_.conn->dialect(); }

namespace {
// Only ever given statements built by the reports, but the reader must stay a reader whatever it is
// handed: one statement, a SELECT (or WITH ... SELECT).
void require_single_select(const std::string& statement) {
  const auto first = statement.find_first_not_of(" \t\n(");
  const std::string head = first == std::string::npos ? "" : statement.substr(first, 6);
  const bool select = head == "SELECT" || head.rfind("WITH ", 0) == 0;
  if (!select || statement.find(';') != std::string::npos)
    throw std::invalid_argument("report_rows: only a single SELECT statement is accepted");
}
}  // namespace

void SqlStore::report_rows_each(const std::string& statement, const std::vector<Value>& params,
                                const std::function<void(Row&&)>& each) {
  require_single_select(statement);
  // A row already handed out cannot be taken back: a transient failure is retried only before the first.
  std::uint64_t sent = 0;
  const auto counted = [&](Row&& r) {
    ++sent;
    each(std::move(r));
  };
  if (open_stream_connection_) {
    for (int attempt = 1;; ++attempt) {
      try {
        const std::unique_ptr<Connection> c = open_stream_connection_();
        c->query_each(statement, params, counted);
        return;
      } catch (const sql::TransientStoreError&) {
        if (sent > 0 || attempt >= kAttempts) throw;
      }
    }
  }
  std::lock_guard lock(reader_->mu);
  Connection& c = *reader_->conn;
  for (int attempt = 1;; ++attempt) {
    try {
      c.ensure_connected();
      c.query_each(statement, params, counted);
      return;
    } catch (const sql::TransientStoreError&) {
      if (sent > 0 || attempt >= kAttempts) throw;
    }
  }
}

std::vector<Row> SqlStore::report_rows(const std::string& statement, const std::vector<Value>& params) {
  require_single_select(statement);
  std::vector<Row> rows = reading([&](Connection& c) { return c.query(statement, params); });
  require_within_cap(rows.size(), "report");
  return rows;
}

bool SqlStore::ping() {
  try {
    return reading([](Connection& c) {
      c.query("SELECT 1", {});
      return true;
    });
  } catch (const StoreError&) {
    return false;
  }
}

}  // namespace shadowmeter::collector
