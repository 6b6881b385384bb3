#include "storage/statements.h"

#include <algorithm>
#include <limits>

namespace shadowmeter::collector::sql {
namespace {

constexpr const char* kRollupKey =
    "day, host_name, provider, request_model, k8s_namespace, owner, usage_source, visibility, shadow";
constexpr const char* kRollupSums =
    "calls, input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens, reasoning_tokens, "
    "cost_usd, "
    "priced_calls";

std::int64_t clamp_time(std::uint64_t t) {
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  return static_cast<std::int64_t>(std::min(t, kMax));
}

// SELECT list grouping raw rows by the rollup key; unknown dimensions become '' and an unknown
// shadow verdict -1 so that they meet the same row on conflict.
std::string rollup_select(Dialect d, const std::string& source) {
  return "SELECT " + utc_day(d, "time_unix_nano") +
         ", COALESCE(host_name, ''), COALESCE(provider, ''), COALESCE(request_model, ''), "
         "COALESCE(k8s_namespace, ''), COALESCE(owner, ''), COALESCE(usage_source, ''), COALESCE(visibility, "
         "''), "
         "CASE WHEN shadow IS NULL THEN -1 WHEN shadow THEN 1 ELSE 0 END, "
         "COUNT(*), COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0), "
         "COALESCE(SUM(cache_read_tokens), 0), COALESCE(SUM(cache_creation_tokens), 0), "
         "COALESCE(SUM(reasoning_tokens), 0), COALESCE(SUM(cost_usd), 0), COUNT(cost_usd) FROM " +
         source + " GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9";
}

std::string rollup_upsert(Dialect d, const std::string& source) {
  std::string sql = std::string("INSERT INTO daily_rollups (") + kRollupKey + ", " + kRollupSums + ") " +
                    rollup_select(d, source) + " ON CONFLICT (" + kRollupKey + ") DO UPDATE SET ";
  const char* sums[] = {"calls",
                        "input_tokens",
                        "output_tokens",
                        "cache_read_tokens",
                        "cache_creation_tokens",
                        "reasoning_tokens",
                        "cost_usd",
                        "priced_calls"};
  bool first = true;
  for (const char* s : sums) {
    if (!first) sql += ", ";
    first = false;
    sql += std::string(s) + " = daily_rollups." + s + " + excluded." + s;
  }
  return sql;
}

}  // namespace

std::string insert_ignore(const char* table, const std::vector<std::string>& columns, std::size_t rows) {
  std::string sql = std::string("INSERT INTO ") + table + " (";
  std::string tuple = "(";
  for (std::size_t i = 0; i < columns.size(); ++i) {
    sql += (i ? ", " : "") + columns[i];
    tuple += i ? ", ?" : "?";
  }
  tuple += ")";
  sql += ") VALUES ";
  for (std::size_t r = 0; r < rows; ++r) sql += (r ? ", " : "") + tuple;
  sql += " ON CONFLICT (event_id) DO NOTHING";
  return sql;
}

const char* const kTouchAgent =
    "INSERT INTO agents (host_name, principal, first_seen_unix_nano, last_seen_unix_nano) VALUES (?, ?, ?, "
    "?) "
    "ON CONFLICT (host_name) DO UPDATE SET principal = COALESCE(excluded.principal, agents.principal), "
    "last_seen_unix_nano = CASE WHEN excluded.last_seen_unix_nano > agents.last_seen_unix_nano "
    "THEN excluded.last_seen_unix_nano ELSE agents.last_seen_unix_nano END";

const char* const kAgentHeartbeat =
    "UPDATE agents SET agent_version = COALESCE(?, agent_version), last_heartbeat_unix_nano = ?, heartbeat = "
    "? "
    "WHERE host_name = ? AND (last_heartbeat_unix_nano IS NULL OR last_heartbeat_unix_nano <= ?)";

Statement calls_page(const CallFilter& f, const Cursor* after, std::size_t limit) {
  Statement s;
  s.sql = "SELECT event_id, time_unix_nano, attributes FROM calls WHERE 1 = 1";
  auto equals = [&s](const char* column, const std::string& value) {
    if (value.empty()) return;
    s.sql += std::string(" AND ") + column + " = ?";
    s.params.emplace_back(value);
  };
  if (f.from_unix_nano) {
    s.sql += " AND time_unix_nano >= ?";
    s.params.emplace_back(clamp_time(*f.from_unix_nano));
  }
  if (f.to_unix_nano) {
    s.sql += " AND time_unix_nano < ?";
    s.params.emplace_back(clamp_time(*f.to_unix_nano));
  }
  equals("provider", f.provider);
  if (!f.model.empty()) {
    s.sql += " AND (request_model = ? OR response_model = ?)";
    s.params.emplace_back(f.model);
    s.params.emplace_back(f.model);
  }
  equals("k8s_namespace", f.k8s_namespace);
  equals("owner", f.owner);
  equals("host_name", f.host);
  equals("api_key_fingerprint", f.api_key_fingerprint);
  if (f.shadow) {
    s.sql += " AND shadow = ?";
    s.params.emplace_back(std::int64_t{*f.shadow ? 1 : 0});
  }
  if (after != nullptr) {
    // Row-value comparison: exactly the rows after the cursor in (time, event_id) DESC order.
    s.sql += " AND (time_unix_nano, event_id) < (?, ?)";
    s.params.emplace_back(after->time_unix_nano);
    s.params.emplace_back(after->event_id);
  }
  s.sql += " ORDER BY time_unix_nano DESC, event_id DESC LIMIT ?";
  s.params.emplace_back(static_cast<std::int64_t>(limit));
  return s;
}

const char* const kAgents =
    "SELECT a.host_name, a.principal, a.agent_version, a.first_seen_unix_nano, a.last_seen_unix_nano, "
    "a.last_heartbeat_unix_nano, a.heartbeat, "
    "(SELECT COUNT(*) FROM calls c WHERE c.host_name = a.host_name), "
    "(SELECT COALESCE(SUM(g.dropped_events), 0) FROM gaps g WHERE g.host_name = a.host_name) "
    "FROM agents a ORDER BY a.host_name LIMIT ?";

const char* const kHeartbeats =
    "SELECT attributes FROM heartbeats WHERE time_unix_nano >= ? AND time_unix_nano < ? "
    "ORDER BY time_unix_nano, event_id LIMIT ?";

const char* const kGaps =
    "SELECT attributes FROM gaps WHERE time_unix_nano >= ? AND time_unix_nano < ? "
    "ORDER BY time_unix_nano, event_id LIMIT ?";

const char* const kRollups =
    "SELECT day, host_name, provider, request_model, k8s_namespace, owner, usage_source, visibility, shadow, "
    "calls, input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens, reasoning_tokens, "
    "cost_usd, "
    "priced_calls FROM daily_rollups WHERE day >= ? AND day < ? "
    "ORDER BY day, host_name, provider, request_model, k8s_namespace, owner, usage_source, visibility, "
    "shadow "
    "LIMIT ?";

const char* const kCounts =
    "SELECT (SELECT COUNT(*) FROM calls), (SELECT COUNT(*) FROM daily_rollups), (SELECT COUNT(*) FROM "
    "agents)";

std::string utc_day(Dialect d, const char* column) {
  const std::string seconds = std::string(column) + " / 1000000000";
  if (d == Dialect::postgresql) {
    return "to_char(to_timestamp(" + seconds + ") AT TIME ZONE 'UTC', 'YYYY-MM-DD')";
  }
  return "strftime('%Y-%m-%d', " + seconds + ", 'unixepoch')";
}

std::vector<std::string> fold_calls(Dialect d) {
  // The SELECT of an upsert needs its WHERE clause (SQLite's parser would otherwise read ON CONFLICT
  // as a join constraint).
  return {rollup_upsert(d, "calls WHERE time_unix_nano < ?"), "DELETE FROM calls WHERE time_unix_nano < ?"};
}

}  // namespace shadowmeter::collector::sql
