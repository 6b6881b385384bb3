// What the store needs from a database connection, so that every statement and the schema are written
// once for both back ends: "?" placeholders, typed values in and out, transactions, a lock for
// migrations. SqliteConnection and PgConnection implement it; they are not thread-safe (the store
// guards each connection with its own mutex).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "storage/sql_value.h"
#include "storage/store.h"

namespace shadowmeter::collector::sql {

// A failure that is worth one more try of the whole transaction: the connection was lost (it is
// re-established first), or PostgreSQL aborted it as a deadlock or serialisation victim.
struct TransientStoreError : StoreError {
  using StoreError::StoreError;
};

class Connection {
 public:
  virtual ~Connection() = default;
  virtual Dialect dialect() const = 0;

  // One statement with "?" placeholders (none inside string literals); returns the number of rows it
  // inserted, updated or deleted. Throws StoreError (TransientStoreError when retrying may help).
  virtual std::uint64_t execute(const std::string& sql, const std::vector<Value>& params = {}) = 0;
  // One statement returning rows (bound by the statement's LIMIT).
  virtual std::vector<Row> query(const std::string& sql, const std::vector<Value>& params = {}) = 0;
  // One statement returning any number of rows, handed to `each` one at a time and not kept (SQLite
  // steps the statement; PostgreSQL fetches a server-side cursor in pages). `each` may throw to stop.
  virtual void query_each(const std::string& sql, const std::vector<Value>& params,
                          const std::function<void(Row&&)>& each) = 0;

  // A write transaction: SQLite takes the write lock at BEGIN (IMMEDIATE), so two writers never
  // deadlock on a lock upgrade.
  virtual void begin() = 0;
  virtual void commit() = 0;
  virtual void rollback() noexcept = 0;

  // Before each use: re-establishes a connection found lost (PostgreSQL: PQreset once), throws
  // StoreError when it cannot.
  virtual void ensure_connected() = 0;

  // Serialises schema migrations between processes sharing the database (PostgreSQL advisory lock;
  // SQLite needs none: its BEGIN IMMEDIATE already does).
  virtual void lock_schema() = 0;
  virtual void unlock_schema() noexcept = 0;

  // Size of the database on disk.
  virtual std::uint64_t database_bytes() = 0;

  // query() of a statement run again and again: PostgreSQL parses and plans it once per session under
  // `name` (unique per statement text); SQLite caches its statements anyway.
  virtual std::vector<Row> query_prepared(const std::string& name, const std::string& sql,
                                          const std::vector<Value>& params = {}) {
    (void)name;
    return query(sql, params);
  }

  // The day partitions of calls this connection has seen existing (PostgreSQL ingest looks each day up
  // once per connection; a partition it created itself is remembered only once committed and seen).
  std::set<std::int64_t>& known_partition_days() { return known_partition_days_; }

  // PostgreSQL's bulk load: runs `copy_statement` ("COPY t (columns) FROM STDIN") and sends `rows`, in
  // COPY's text format, as its data. Back ends without it (SQLite) throw StoreError.
  virtual void copy_in(const std::string& copy_statement, const std::string& rows) {
    (void)rows;
    throw StoreError("copy_in is not supported by this back end: " + copy_statement);
  }

 private:
  std::set<std::int64_t> known_partition_days_;
};

}  // namespace shadowmeter::collector::sql
