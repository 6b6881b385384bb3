// PostgreSQL's fast path for raw call rows and their daily partitions. `calls` is partitioned by
// RANGE (time_unix_nano), one partition per UTC day ("calls_pYYYYMMDD"), plus "calls_default" for
// times far from now (a clock gone wrong must not create thousands of tables). Partitions are made on
// demand by the ingest that first needs them; retention drops whole expired days.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "storage/connection.h"

namespace shadowmeter::collector::sql {

// Days (since the epoch) within this window around now get their own partition; others go to
// calls_default (and move out of it when their day comes into the window).
inline constexpr std::int64_t kPartitionDaysBack = 400;
inline constexpr std::int64_t kPartitionDaysAhead = 7;

// "calls_p20261101" for the UTC day of `day` (days since the epoch).
std::string partition_name(std::int64_t day);

// Makes sure the day partition of `day` exists (in the caller's transaction): creates it, moves the
// rows of that day out of calls_default, attaches it. Collectors sharing the database are serialised by
// a transaction-scoped advisory lock, so two creating the same day never fail.
void pg_ensure_day_partition(Connection& c, std::int64_t day);

// Inserts `rows` (values in `columns` order; one column is "time_unix_nano", one "event_id") into
// calls, each once per (event_id, time_unix_nano): COPY into a session-local staging table, then one
// INSERT ... SELECT ... ON CONFLICT DO NOTHING RETURNING. Creates the day partitions the rows need.
// Returns the indexes (ascending) of the rows that were new. Rows are consumed (moved from).
std::vector<std::size_t> pg_insert_new_calls(Connection& c, const std::vector<std::string>& columns,
                                             std::vector<Row>& rows);

// Raw calls older than `cutoff_unix_nano` removed: day partitions wholly before it are dropped, the
// rows of a partial day (and of calls_default) deleted. Returns the number of rows removed.
std::uint64_t pg_drop_expired_partitions(Connection& c, std::uint64_t cutoff_unix_nano);

// COPY's text format of one value (NULL as \N; backslash, tab, newline, CR escaped).
void append_copy_value(std::string& out, const Value& v);

}  // namespace shadowmeter::collector::sql
