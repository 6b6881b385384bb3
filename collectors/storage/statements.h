// The statements of the store, written once with "?" placeholders; where the dialects differ (the
// UTC day of a timestamp, folding raw rows into rollups) the difference is confined to one function.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "storage/connection.h"
#include "storage/cursor.h"
#include "storage/store.h"

namespace shadowmeter::collector::sql {

struct Statement {
  std::string sql;
  std::vector<Value> params;
};

// "INSERT INTO table (columns) VALUES (?, ...), ... ON CONFLICT (event_id) DO NOTHING" for `rows` rows.
std::string insert_ignore(const char* table, const std::vector<std::string>& columns, std::size_t rows);

// Creates the agent's row or moves its last_seen forward (never back), and records the principal
// when the batch had one.
extern const char* const kTouchAgent;  // host_name, principal, first_seen, last_seen
// The agent's latest heartbeat, unless a newer one is already stored (spooled heartbeats may arrive
// out of order).
extern const char* const kAgentHeartbeat;  // agent_version, time, heartbeat, host_name, time

// One page of calls, newest first: `limit` rows after the cursor (if any) that match the filter.
Statement calls_page(const CallFilter& filter, const Cursor* after, std::size_t limit);

extern const char* const kAgents;      // LIMIT ?
extern const char* const kHeartbeats;  // from, to, LIMIT ?
extern const char* const kGaps;        // from, to, LIMIT ?
extern const char* const kRollups;     // from_day, to_day, LIMIT ?
extern const char* const kCounts;      // calls, rollup rows, agents

// The UTC day ("YYYY-MM-DD") of a nanosecond timestamp column.
std::string utc_day(Dialect d, const char* column);

// Raw call rows with time_unix_nano < ? folded into daily_rollups (sums added to rows already there),
// then deleted: the INSERT ... SELECT, then the DELETE, in the caller's write transaction. PostgreSQL
// runs only the first and drops the expired day partitions instead (pg_drop_expired_partitions).
std::vector<std::string> fold_calls(Dialect d);

}  // namespace shadowmeter::collector::sql
