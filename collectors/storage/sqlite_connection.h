// A SQLite connection for the store: WAL, synchronous=FULL (a commit is on disk when it returns),
// a busy timeout, and prepared statements cached by their text.
#pragma once

#include <memory>
#include <string>

#include "storage/connection.h"

namespace shadowmeter::collector::sql {

enum class SqliteRole : std::uint8_t {
  writer,  // creates the file (0600) if it does not exist and switches the database to WAL
  reader,  // query_only; opened after the writer so the file and its WAL mode exist
};

// `path` is a file name or ":memory:". Throws StoreError naming the path when it cannot be opened.
std::unique_ptr<Connection> open_sqlite(const std::string& path, SqliteRole role);

}  // namespace shadowmeter::collector::sql
