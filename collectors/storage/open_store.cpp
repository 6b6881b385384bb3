// open_store(): from a database URL to a migrated Store of the right back end.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/pg_connection.h"
#include "storage/schema.h"
#include "storage/sql_store.h"
#include "storage/sqlite_connection.h"
#include "storage/store.h"

namespace shadowmeter::collector {
namespace {

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// A damaged file would start, answer /readyz and take ingests while every report fails: it is refused at
// start with what SQLite found. PRAGMA quick_check reads the whole file (seconds per GB) but skips the
// index-content checks of integrity_check.
void check_integrity(sql::Connection& c, const std::string& path) {
  std::vector<sql::Row> rows;
  try {
    rows = c.query("PRAGMA quick_check(5)", {});
  } catch (const StoreError& e) {
    throw StoreError("sqlite: " + path + " fails its integrity check (PRAGMA quick_check): " + e.what());
  }
  std::string found;
  for (const sql::Row& r : rows) {
    const auto text = r.empty() ? std::nullopt : sql::as_text(r[0]);
    if (text && *text == "ok" && rows.size() == 1) return;
    found += (found.empty() ? "" : "; ") + text.value_or("?");
  }
  throw StoreError("sqlite: " + path + " fails its integrity check (PRAGMA quick_check): " + found +
                   "; restore it from a backup or move it away");
}

std::unique_ptr<Store> open_sqlite_store(std::string path, const std::string& url) {
  if (starts_with(path, "//"))
    path.erase(0, 2);  // "sqlite:///var/lib/x.db" as well as "sqlite:/var/lib/x.db"
  if (path.empty()) throw StoreError("sqlite: no file name in " + redact_db_url(url));
  auto writer = sql::open_sqlite(path, sql::SqliteRole::writer);
  if (path != ":memory:") check_integrity(*writer, path);
  // Migrated before the reader opens, so that it finds the file in WAL mode with its tables.
  sql::migrate(*writer);
  std::unique_ptr<sql::Connection> reader;
  if (path != ":memory:") reader = sql::open_sqlite(path, sql::SqliteRole::reader);
  auto store = std::make_unique<SqlStore>("sqlite", std::move(writer), std::move(reader));
  if (path != ":memory:")
    store->set_stream_connections([path] { return sql::open_sqlite(path, sql::SqliteRole::reader); });
  return store;
}

std::unique_ptr<Store> open_postgres_store(const std::string& url) {
  auto writer = sql::open_postgres(url);
  sql::migrate(*writer);
  auto store = std::make_unique<SqlStore>("postgresql", std::move(writer), sql::open_postgres(url));
  store->set_stream_connections([url] { return sql::open_postgres(url); });
  return store;
}

}  // namespace

std::unique_ptr<Store> open_store(const std::string& url) {
  if (starts_with(url, "sqlite:")) return open_sqlite_store(url.substr(7), url);
  if (starts_with(url, "postgresql://") || starts_with(url, "postgres://")) return open_postgres_store(url);
  throw StoreError("unsupported database URL " + redact_db_url(url) +
                   " (expected sqlite:PATH, sqlite::memory: or postgresql://...)");
}

}  // namespace shadowmeter::collector
