// The stores the suite runs against: a SQLite file in a fresh directory, and a fresh PostgreSQL
// database ("shadowmeter_test_<pid>_<n>", created through the server in SHADOWMETER_TEST_PG, default
// "postgresql:///postgres", and dropped when the fixture ends, also after a failure). A raw
// connection to the same database lets a test look at columns and break things on purpose.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "storage/connection.h"
#include "storage/pg_connection.h"
#include "storage/sqlite_connection.h"
#include "storage/store.h"
#include "temp_file.h"

namespace shadowmeter::testing {

namespace collector = shadowmeter::collector;


inline std::string admin_pg_url() {
  const char* env = std::getenv("SHADOWMETER_TEST_PG");
  return env != nullptr && *env != '\0' ? env : "postgresql:///postgres";
}

// The URL with its database (the URI path) replaced.
inline std::string with_database(const std::string& url, const std::string& db) {
  const std::size_t scheme = url.find("://");
  REQUIRE(scheme != std::string::npos);
  const std::size_t auth = scheme + 3;
  std::size_t path = url.find_first_of("/?#", auth);
  if (path == std::string::npos) return url + "/" + db;
  if (url[path] != '/') return url.substr(0, path) + "/" + db + url.substr(path);
  const std::size_t end = url.find_first_of("?#", path);
  return url.substr(0, path) + "/" + db + (end == std::string::npos ? "" : url.substr(end));
}

// Whether the PostgreSQL half can run, and if not why (asked once per process).
inline const std::optional<std::string>& pg_unavailable() {
  static const std::optional<std::string> why = []() -> std::optional<std::string> {
    try {
      collector::sql::open_postgres(admin_pg_url())->query("SELECT 1", {});
      return std::nullopt;
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
  }();
  return why;
}

class PgTestDatabase {
 public:
  PgTestDatabase() : admin_(collector::sql::open_postgres(admin_pg_url())) {
    static int counter = 0;
    name_ = "shadowmeter_test_" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
    admin_->execute("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)", {});
    admin_->execute("CREATE DATABASE " + name_, {});
    url_ = with_database(admin_pg_url(), name_);
  }
  ~PgTestDatabase() {
    try {
      admin_->ensure_connected();
      admin_->execute("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)", {});
    } catch (const std::exception& e) {
      std::fprintf(stderr, "could not drop test database %s: %s\n", name_.c_str(), e.what());
    }
  }
  PgTestDatabase(const PgTestDatabase&) = delete;
  PgTestDatabase& operator=(const PgTestDatabase&) = delete;

  const std::string& url() const { return url_; }
  const std::string& name() const { return name_; }
  collector::sql::Connection& admin() { return *admin_; }

 private:
  std::unique_ptr<collector::sql::Connection> admin_;
  std::string name_;
  std::string url_;
};

// One back end's database for one test case, and a store open on it.
class StoreFixture {
 public:
  // nullopt (after a WARN saying why) when the back end cannot run here.
  static std::unique_ptr<StoreFixture> make(const std::string& backend) {
    if (backend == "postgresql" && pg_unavailable()) {
      WARN("PostgreSQL unreachable, its half of the suite is skipped: " << *pg_unavailable());
      return nullptr;
    }
    return std::unique_ptr<StoreFixture>(new StoreFixture(backend));
  }

  const std::string& backend() const { return backend_; }
  const std::string& url() const { return url_; }
  collector::Store& store() { return *store_; }

  // Closes the store and opens it again on the same database.
  void reopen() {
    store_.reset();
    store_ = collector::open_store(url_);
  }
  void close() { store_.reset(); }

  // A connection of our own to the same database, for looking at rows and for sabotage.
  std::unique_ptr<collector::sql::Connection> raw() {
    if (backend_ == "sqlite")
      return collector::sql::open_sqlite(sqlite_path_, collector::sql::SqliteRole::writer);
    return collector::sql::open_postgres(url_);
  }

  // Ends every server session on the test database (the store's included), as a server restart would.
  void kill_sessions() {
    REQUIRE(pg_);
    pg_->admin().query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ? AND pid <> "
        "pg_backend_pid()",
        {pg_->name()});
  }

  const std::string& sqlite_path() const { return sqlite_path_; }

 private:
  explicit StoreFixture(const std::string& backend) : backend_(backend) {
    if (backend == "sqlite") {
      dir_.emplace();
      sqlite_path_ = dir_->path() + "/store.db";
      url_ = "sqlite:" + sqlite_path_;
    } else {
      pg_ = std::make_unique<PgTestDatabase>();
      url_ = pg_->url();
    }
    store_ = collector::open_store(url_);
  }

  std::string backend_;
  std::optional<TempDir> dir_;
  std::unique_ptr<PgTestDatabase> pg_;  // declared before store_: the database outlives the store
  std::string sqlite_path_;
  std::string url_;
  std::unique_ptr<collector::Store> store_;
};

}  // namespace shadowmeter::testing
