#include "storage/pg_partition_migration.h"

#include <chrono>

#include "storage/pg_call_insert.h"

namespace shadowmeter::collector::sql {
namespace {

constexpr std::int64_t kDayNs = 86400LL * 1000000000LL;
constexpr const char* kOld = "calls_unpartitioned";

bool already_partitioned(Connection& c) {
  const auto rows = c.query("SELECT relkind::text FROM pg_class WHERE oid = to_regclass('calls')");
  return !rows.empty() && as_text(rows[0][0]).value_or("") == "p";
}

}  // namespace

void pg_partition_calls(Connection& c) {
  if (c.dialect() != Dialect::postgresql || already_partitioned(c)) return;
  // Every secondary index of today's table (whichever steps made them), to be made again on the new one.
  const auto indexes = c.query(
      "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = "
      "'calls' "
      "AND indexname <> 'calls_pkey' ORDER BY indexname");
  c.execute(std::string("ALTER TABLE calls RENAME TO ") + kOld);
  c.execute(std::string("ALTER TABLE ") + kOld + " RENAME CONSTRAINT calls_pkey TO " + kOld + "_pkey");
  for (const Row& r : indexes) {
    const std::string name = as_text(r.at(0)).value_or("");
    c.execute("ALTER INDEX " + name + " RENAME TO " + name + "_unpartitioned");
  }

  // The unique key of a partitioned table must hold its partition column: (event_id, time) dedupes
  // exactly, as a redelivered event carries the same start time.
  c.execute(std::string("CREATE TABLE calls (LIKE ") + kOld +
            " INCLUDING DEFAULTS) PARTITION BY RANGE (time_unix_nano)");
  c.execute("ALTER TABLE calls ADD PRIMARY KEY (event_id, time_unix_nano)");
  for (const Row& r : indexes)
    c.execute(as_text(r.at(1)).value_or(""));  // "CREATE INDEX x ON public.calls ..."
  c.execute("CREATE TABLE calls_default PARTITION OF calls DEFAULT");

  const std::int64_t today = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count() /
                             kDayNs;
  const auto days = c.query(std::string("SELECT DISTINCT time_unix_nano / ") + std::to_string(kDayNs) +
                            " FROM " + kOld + " ORDER BY 1");
  for (const Row& r : days) {
    const std::int64_t day = as_int(r.at(0)).value_or(0);
    if (day >= today - kPartitionDaysBack && day <= today + kPartitionDaysAhead)
      pg_ensure_day_partition(c, day);
  }
  c.execute(std::string("INSERT INTO calls SELECT * FROM ") + kOld);
  c.execute(std::string("DROP TABLE ") + kOld);
}

}  // namespace shadowmeter::collector::sql
