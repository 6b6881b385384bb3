// open_store(): from a database URL to a migrated Store of the right back end.
#include <string_view>

#include "storage/pg_connection.h"
#include "storage/schema.h"
#include "storage/sql_store.h"
#include "storage/sqlite_connection.h"
#include "storage/store.h"

namespace shadowmeter::collector {
namespace {

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

std::unique_ptr<Store> open_sqlite_store(std::string path, const std::string& url) {
  if (starts_with(path, "//"))
    path.erase(0, 2);  // "sqlite:///var/lib/x.db" as well as "sqlite:/var/lib/x.db"
  if (path.empty()) throw StoreError("sqlite: no file name in " + redact_db_url(url));
  auto writer = sql::open_sqlite(path, sql::SqliteRole::writer);
  // Migrated before the reader opens, so that it finds the file in WAL mode with its tables.
  sql::migrate(*writer);
  std::unique_ptr<sql::Connection> reader;
  if (path != ":memory:") reader = sql::open_sqlite(path, sql::SqliteRole::reader);
  return std::make_unique<SqlStore>("sqlite", std::move(writer), std::move(reader));
}

std::unique_ptr<Store> open_postgres_store(const std::string& url) {
  auto writer = sql::open_postgres(url);
  sql::migrate(*writer);
  return std::make_unique<SqlStore>("postgresql", std::move(writer), sql::open_postgres(url));
}

}  // namespace

std::unique_ptr<Store> open_store(const std::string& url) {
  if (starts_with(url, "sqlite:")) return open_sqlite_store(url.substr(7), url);
  if (starts_with(url, "postgresql://") || starts_with(url, "postgres://")) return open_postgres_store(url);
  throw StoreError("unsupported database URL " + redact_db_url(url) +
                   " (expected sqlite:PATH, sqlite::memory: or postgresql://...)");
}

}  // namespace shadowmeter::collector
