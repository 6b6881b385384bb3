#include "storage/sqlite_connection.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <unordered_map>

namespace shadowmeter::collector::sql {
namespace {

// Statements are cached by text; the filters of query_calls make a bounded number of variants, but
// the cache is capped anyway and simply emptied when full.
constexpr std::size_t kMaxCachedStatements = 256;
constexpr int kBusyTimeoutMs = 10000;

struct DbClose {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalize {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalize>;

// Resets a cached statement (and drops its bindings, which point into the caller's parameters)
// however the call ends.
class StmtUse {
 public:
  explicit StmtUse(sqlite3_stmt* s) : s_(s) {}
  ~StmtUse() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  StmtUse(const StmtUse&) = delete;
  StmtUse& operator=(const StmtUse&) = delete;

 private:
  sqlite3_stmt* s_;
};

// The file is created 0600 by us rather than by SQLite (which would use 0644 less the umask): it
// holds who called which AI API. SQLite gives the -wal and -shm files the database file's mode.
void create_private_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::close(fd);
    return;
  }
  if (errno == EEXIST) return;
  throw StoreError("sqlite: cannot create " + path + ": " + std::strerror(errno));
}

class SqliteConnection final : public Connection {
 public:
  SqliteConnection(std::string path, SqliteRole role) : path_(std::move(path)) {
    const bool memory = path_ == ":memory:";
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    if (role == SqliteRole::writer) {
      flags |= SQLITE_OPEN_CREATE;
      if (!memory) create_private_file(path_);
    }
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(path_.c_str(), &raw, flags, nullptr);
    db_.reset(raw);
    if (rc != SQLITE_OK) {
      const std::string why = raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
      throw StoreError("sqlite: cannot open " + path_ + ": " + why);
    }
    sqlite3_extended_result_codes(db_.get(), 1);
    sqlite3_busy_timeout(db_.get(), kBusyTimeoutMs);
    if (role == SqliteRole::writer) {
      if (!memory) {
        const auto mode = query("PRAGMA journal_mode=WAL", {});
        const auto text = mode.empty() || mode[0].empty() ? std::nullopt : as_text(mode[0][0]);
        if (!text || *text != "wal") throw StoreError("sqlite: " + path_ + " cannot use WAL journaling");
      }
      exec_plain("PRAGMA synchronous=FULL");
    } else {
      exec_plain("PRAGMA query_only=1");
    }
  }

  Dialect dialect() const override { return Dialect::sqlite; }

  std::uint64_t execute(const std::string& sql, const std::vector<Value>& params) override {
    sqlite3_stmt* s = prepare(sql);
    StmtUse use(s);
    bind(s, params);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    }
    if (rc != SQLITE_DONE) fail(rc, sql);
    return static_cast<std::uint64_t>(sqlite3_changes64(db_.get()));
  }

  std::vector<Row> query(const std::string& sql, const std::vector<Value>& params) override {
    sqlite3_stmt* s = prepare(sql);
    StmtUse use(s);
    bind(s, params);
    std::vector<Row> rows;
    const int columns = sqlite3_column_count(s);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      Row row;
      row.reserve(static_cast<std::size_t>(columns));
      for (int i = 0; i < columns; ++i) row.push_back(column(s, i));
      rows.push_back(std::move(row));
    }
    if (rc != SQLITE_DONE) fail(rc, sql);
    return rows;
  }

  void query_each(const std::string& sql, const std::vector<Value>& params,
                  const std::function<void(Row&&)>& each) override {
    sqlite3_stmt* s = prepare(sql);
    StmtUse use(s);
    bind(s, params);
    const int columns = sqlite3_column_count(s);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      Row row;
      row.reserve(static_cast<std::size_t>(columns));
      for (int i = 0; i < columns; ++i) row.push_back(column(s, i));
      each(std::move(row));
    }
    if (rc != SQLITE_DONE) fail(rc, sql);
  }

  void begin() override { exec_plain("BEGIN IMMEDIATE"); }
  void commit() override { exec_plain("COMMIT"); }
  void rollback() noexcept override {
    if (sqlite3_get_autocommit(db_.get()) == 0)
      sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
  }

  void ensure_connected() override {}
  void lock_schema() override {}
  void unlock_schema() noexcept override {}

  std::uint64_t database_bytes() override {
    if (path_ == ":memory:") {
      const auto pages = query("PRAGMA page_count", {});
      const auto size = query("PRAGMA page_size", {});
      if (pages.empty() || size.empty()) return 0;
      return static_cast<std::uint64_t>(as_int(pages[0][0]).value_or(0) * as_int(size[0][0]).value_or(0));
    }
    std::uint64_t total = 0;
    for (const std::string& f : {path_, path_ + "-wal"}) {
      std::error_code ec;
      const auto n = std::filesystem::file_size(f, ec);
      if (!ec) total += n;
    }
    return total;
  }

 private:
  sqlite3_stmt* prepare(const std::string& sql) {
    if (const auto it = cache_.find(sql); it != cache_.end()) return it->second.get();
    if (cache_.size() >= kMaxCachedStatements) cache_.clear();
    sqlite3_stmt* raw = nullptr;
    const int rc = sqlite3_prepare_v3(db_.get(), sql.c_str(), static_cast<int>(sql.size() + 1),
                                      SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
    StmtPtr s(raw);
    if (rc != SQLITE_OK) fail(rc, sql);
    return cache_.emplace(sql, std::move(s)).first->second.get();
  }

  void bind(sqlite3_stmt* s, const std::vector<Value>& params) {
    if (static_cast<std::size_t>(sqlite3_bind_parameter_count(s)) != params.size()) {
      throw StoreError("sqlite: statement expects " + std::to_string(sqlite3_bind_parameter_count(s)) +
                       " parameters, got " + std::to_string(params.size()));
    }
    for (std::size_t i = 0; i < params.size(); ++i) {
      const int n = static_cast<int>(i + 1);
      const Value& v = params[i];
      int rc = SQLITE_OK;
      if (const auto* iv = std::get_if<std::int64_t>(&v)) {
        rc = sqlite3_bind_int64(s, n, *iv);
      } else if (const auto* d = std::get_if<double>(&v)) {
        rc = sqlite3_bind_double(s, n, *d);
      } else if (const auto* t = std::get_if<std::string>(&v)) {
        // SQLITE_STATIC: the parameters outlive the statement's use (StmtUse clears the bindings).
        rc = sqlite3_bind_text64(s, n, t->data(), t->size(), SQLITE_STATIC, SQLITE_UTF8);
      } else {
        rc = sqlite3_bind_null(s, n);
      }
      if (rc != SQLITE_OK) fail(rc, "bind");
    }
  }

  static Value column(sqlite3_stmt* s, int i) {
    switch (sqlite3_column_type(s, i)) {
      case SQLITE_INTEGER:
        return static_cast<std::int64_t>(sqlite3_column_int64(s, i));
      case SQLITE_FLOAT:
        return sqlite3_column_double(s, i);
      case SQLITE_TEXT:
      case SQLITE_BLOB: {
        const auto* p = static_cast<const char*>(sqlite3_column_blob(s, i));
        const int n = sqlite3_column_bytes(s, i);
        return p == nullptr ? std::string() : std::string(p, static_cast<std::size_t>(n));
      }
      default:
        return {};
    }
  }

  void exec_plain(const char* sql) {
    char* err = nullptr;
    const int rc = sqlite3_exec(db_.get(), sql, nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      const std::string why = err != nullptr ? err : sqlite3_errstr(rc);
      sqlite3_free(err);
      throw_error(rc, why, sql);
    }
  }

  [[noreturn]] void fail(int rc, const std::string& sql) { throw_error(rc, sqlite3_errmsg(db_.get()), sql); }

  [[noreturn]] void throw_error(int rc, const std::string& why, const std::string& sql) {
    std::string what =
        "sqlite: " + path_ + ": " + why + " (" + sql.substr(0, 60) + (sql.size() > 60 ? "...)" : ")");
    const int primary = rc & 0xff;
    // Still locked after the busy timeout (another process holds the write lock): worth a retry.
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) throw TransientStoreError(what);
    throw StoreError(what);
  }

  std::string path_;
  std::unique_ptr<sqlite3, DbClose> db_;
  // Declared after db_ so statements are finalized before the database is closed.
  std::unordered_map<std::string, StmtPtr> cache_;
};

}  // namespace

std::unique_ptr<Connection> open_sqlite(const std::string& path, SqliteRole role) {
  return std::make_unique<SqliteConnection>(path, role);
}

}  // namespace shadowmeter::collector::sql
