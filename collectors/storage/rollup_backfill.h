// Migration step 3: the rollups of a database that had none, built from what it holds: every raw call
// row (all dimensions), and the old daily_rollups of expired days (their lost dimensions are '').
#pragma once

#include "storage/connection.h"

namespace shadowmeter::collector::sql {

// In the caller's migration transaction; reads the raw calls a page at a time, so memory stays bounded
// however many rows there are. Drops daily_rollups when done.
void backfill_rollups(Connection& c);

}  // namespace shadowmeter::collector::sql
