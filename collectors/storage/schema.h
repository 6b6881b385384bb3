// The one schema of both back ends and its migrations. Each step is frozen SQL that both SQLite and
// PostgreSQL accept (TEXT, BIGINT, DOUBLE PRECISION, BOOLEAN, SMALLINT); a later change is a new
// step, never an edit of an old one. schema_version records the steps applied.
#pragma once

#include <cstdint>

#include "storage/connection.h"

namespace shadowmeter::collector::sql {

// The version migrate() brings a database to.
std::int64_t current_schema_version();

// Applies the steps the database lacks, in order, all in one transaction under the connection's
// migration lock: idempotent, and safe when several collectors start at once. A database already
// at a newer version (a newer collector migrated it) is left as it is: steps only add.
void migrate(Connection& c);

// The highest step applied (0 for an empty database).
std::int64_t schema_version(Connection& c);

}  // namespace shadowmeter::collector::sql
