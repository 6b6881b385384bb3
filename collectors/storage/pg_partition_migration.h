// Schema step 5 on PostgreSQL: the unpartitioned `calls` of schema v2 becomes a table partitioned by
// UTC day (see pg_call_insert.h), keeping every row, column and index.
#pragma once

#include "storage/connection.h"

namespace shadowmeter::collector::sql {

// In the caller's (migration) transaction. Nothing to do on SQLite, or when calls is partitioned
// already (a migration re-run whose version record was lost).
void pg_partition_calls(Connection& c);

}  // namespace shadowmeter::collector::sql
