// Inserting call rows once per event id, and saying which of them were new: only those are added to
// the rollups, so a redelivered event is counted once, exactly.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "storage/connection.h"

namespace shadowmeter::collector::sql {

// Inserts `rows` (values in `columns` order; column 0 is event_id) into calls, skipping event ids
// already stored (or repeated earlier in `rows`). Returns the indexes of the rows that were new, in
// increasing order. SQLite: one cached single-row statement per row, new when it changed a row.
// PostgreSQL: pg_insert_new_calls (COPY into a staging table, then INSERT ... ON CONFLICT (event_id,
// time_unix_nano) DO NOTHING RETURNING). The rows' values may be moved from.
std::vector<std::size_t> insert_new_calls(Connection& c, const std::vector<std::string>& columns,
                                          std::vector<Row>& rows);

}  // namespace shadowmeter::collector::sql
