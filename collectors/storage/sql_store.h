// The Store, written once over sql::Connection for both back ends. Writes (ingest, retention,
// migrations) go through one connection, reads through another, each behind its own mutex, so a
// query never waits for a write transaction. A transaction that fails transiently (connection lost,
// deadlock, database busy) is retried whole, after a reconnect; all its writes are idempotent.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "storage/connection.h"
#include "storage/store.h"

namespace shadowmeter::collector {

class SqlStore final : public Store {
 public:
  // `reader` may be null: reads then share the writer and its mutex (SQLite ":memory:", where a
  // second connection would be a second, empty database). Does not migrate: open_store() does.
  SqlStore(std::string backend, std::unique_ptr<sql::Connection> writer,
           std::unique_ptr<sql::Connection> reader);

  // Streamed reads (report_rows_each) open a connection of their own from this factory, so that a long
  // export to a slow client never holds the reader the other reports share. Unset: the reader is used.
  void set_stream_connections(std::function<std::unique_ptr<sql::Connection>()> open) {
    open_stream_connection_ = std::move(open);
  }

  std::string backend() const override { return backend_; }
  void migrate() override;
  IngestResult ingest(const IngestBatch& batch) override;
  std::vector<IngestResult> ingest_many(const std::vector<const IngestBatch*>& batches) override;
  CallPage query_calls(const CallFilter& filter) override;
  nlohmann::json agents() override;
  nlohmann::json health_records(std::uint64_t from_unix_nano, std::uint64_t to_unix_nano) override;
  nlohmann::json rollups(const std::string& from_day, const std::string& to_day) override;
  RetentionResult apply_retention(const RetentionPolicy& policy, std::uint64_t now_unix_nano) override;
  StoreStats stats() override;
  sql::Dialect dialect() const override;
  std::vector<sql::Row> report_rows(const std::string& sql, const std::vector<sql::Value>& params) override;
  void report_rows_each(const std::string& sql, const std::vector<sql::Value>& params,
                        const std::function<void(sql::Row&&)>& each) override;
  bool ping() override;

 private:
  struct Guarded {
    std::mutex mu;
    std::unique_ptr<sql::Connection> conn;
  };

  template <typename Fn>
  auto in_write_transaction(Fn&& fn);
  template <typename Fn>
  auto reading(Fn&& fn);

  std::string backend_;
  Guarded writer_;
  Guarded own_reader_;
  Guarded* reader_;  // &own_reader_, or &writer_ when there is no separate reader
  std::function<std::unique_ptr<sql::Connection>()> open_stream_connection_;
};

}  // namespace shadowmeter::collector
