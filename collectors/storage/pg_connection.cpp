#include "storage/pg_connection.h"

#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <set>

#include "storage/db_url.h"

namespace shadowmeter::collector::sql {
namespace {

// Serialises migrations of all collectors sharing the database ("shmeter" in ASCII).
constexpr std::int64_t kSchemaLockKey = 0x73686d65746572;

// Type OIDs (pg_type.h) the store reads; anything else arrives as text.
constexpr Oid kBool = 16, kInt8 = 20, kInt2 = 21, kInt4 = 23, kFloat4 = 700, kFloat8 = 701, kNumeric = 1700;

struct ConnFinish {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct ResultClear {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultClear>;

void ignore_notice(void*, const char*) {}  // "relation already exists, skipping" and the like

// A server message on one line: "ERROR:  x\nDETAIL:  y\n" -> "ERROR:  x; DETAIL:  y".
std::string one_line(const char* message) {
  std::string s = message != nullptr ? message : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  for (std::size_t pos = 0; (pos = s.find('\n', pos)) != std::string::npos;) s.replace(pos, 1, "; ");
  return s;
}

class PgConnection final : public Connection {
 public:
  explicit PgConnection(std::string url)
      : url_(std::move(url)), redacted_(redact_db_url(url_)), secrets_(db_url::secrets(url_)) {
    // A password libpq took from a conninfo string that the URL parser above did not recognise.
    char* err = nullptr;
    if (PQconninfoOption* opts = PQconninfoParse(url_.c_str(), &err)) {
      for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
        if (std::strcmp(o->keyword, "password") == 0 && o->val != nullptr && *o->val != '\0') {
          secrets_.emplace_back(o->val);
        }
      }
      PQconninfoFree(opts);
    }
    if (err != nullptr) PQfreemem(err);

    // Defaults first: the URL (dbname, expanded) overrides any of them.
    const char* keys[] = {"connect_timeout",  "application_name", "keepalives_idle", "keepalives_interval",
                          "keepalives_count", "tcp_user_timeout", "dbname",          nullptr};
    const char* values[] = {"10", "shadowmeter-collector", "30", "10", "3", "60000", url_.c_str(), nullptr};
    conn_.reset(PQconnectdbParams(keys, values, 1));
    if (!conn_) throw StoreError("postgresql: out of memory connecting to " + redacted_);
    if (PQstatus(conn_.get()) != CONNECTION_OK) {
      throw StoreError("postgresql: cannot connect to " + redacted_ + ": " + connection_message());
    }
    PQsetNoticeProcessor(conn_.get(), &ignore_notice, nullptr);
  }

  Dialect dialect() const override { return Dialect::postgresql; }

  std::uint64_t execute(const std::string& sql, const std::vector<Value>& params) override {
    const ResultPtr r = run(sql, params);
    const char* n = PQcmdTuples(r.get());
    std::uint64_t count = 0;
    if (n != nullptr) std::from_chars(n, n + std::strlen(n), count);
    return count;
  }

  std::vector<Row> query(const std::string& sql, const std::vector<Value>& params) override {
    return rows_of(run(sql, params));
  }

  std::vector<Row> query_prepared(const std::string& name, const std::string& sql,
                                  const std::vector<Value>& params) override {
    return rows_of(run(sql, params, &name));
  }

  static std::vector<Row> rows_of(const ResultPtr& r) {
    const int rows = PQntuples(r.get());
    const int columns = PQnfields(r.get());
    std::vector<Row> out;
    out.reserve(static_cast<std::size_t>(rows));
    for (int i = 0; i < rows; ++i) {
      Row row;
      row.reserve(static_cast<std::size_t>(columns));
      for (int c = 0; c < columns; ++c) row.push_back(cell(r.get(), i, c));
      out.push_back(std::move(row));
    }
    return out;
  }

  // A server-side cursor read in pages: the client holds one page, however many rows the query has.
  void query_each(const std::string& sql, const std::vector<Value>& params,
                  const std::function<void(Row&&)>& each) override {
    static constexpr int kPageRows = 2000;
    run("BEGIN READ ONLY", {});
    try {
      run("DECLARE sm_stream NO SCROLL CURSOR FOR " + sql, params);
      for (;;) {
        const ResultPtr r = run("FETCH " + std::to_string(kPageRows) + " FROM sm_stream", {});
        const int rows = PQntuples(r.get());
        const int columns = PQnfields(r.get());
        for (int i = 0; i < rows; ++i) {
          Row row;
          row.reserve(static_cast<std::size_t>(columns));
          for (int c = 0; c < columns; ++c) row.push_back(cell(r.get(), i, c));
          each(std::move(row));
        }
        if (rows < kPageRows) break;
      }
      run("COMMIT", {});  // closes the cursor
    } catch (...) {
      rollback();
      throw;
    }
  }

  void begin() override { run("BEGIN", {}); }

  void commit() override {
    const ResultPtr r = run("COMMIT", {});
    // COMMIT of a transaction that failed earlier "succeeds" with the tag ROLLBACK.
    if (std::strcmp(PQcmdStatus(r.get()), "COMMIT") != 0) {
      throw StoreError("postgresql: transaction was rolled back by the server");
    }
  }

  void rollback() noexcept override {
    const PGTransactionStatusType s = PQtransactionStatus(conn_.get());
    if (s == PQTRANS_INTRANS || s == PQTRANS_INERROR) PQclear(PQexec(conn_.get(), "ROLLBACK"));
  }

  void ensure_connected() override {
    if (PQstatus(conn_.get()) == CONNECTION_OK) return;
    PQreset(conn_.get());
    prepared_.clear();  // a new session has none
    if (PQstatus(conn_.get()) != CONNECTION_OK) {
      throw StoreError("postgresql: lost the connection to " + redacted_ +
                       " and could not reconnect: " + connection_message());
    }
  }

  void lock_schema() override { run("SELECT pg_advisory_lock(?)", {kSchemaLockKey}); }

  void unlock_schema() noexcept override {
    try {
      run("SELECT pg_advisory_unlock(?)", {kSchemaLockKey});
    } catch (const StoreError&) {
      // A lost connection released the session lock already.
    }
  }

  void copy_in(const std::string& copy_statement, const std::string& rows) override {
    ResultPtr r(PQexec(conn_.get(), copy_statement.c_str()));
    if (!r || PQresultStatus(r.get()) != PGRES_COPY_IN) fail(r.get());
    // A failed send still has to end the COPY (the server then reports why); its result says what went wrong.
    constexpr std::size_t kChunk = 1u << 20;
    bool sent = true;
    for (std::size_t at = 0; sent && at < rows.size(); at += kChunk) {
      const std::size_t n = std::min(kChunk, rows.size() - at);
      sent = PQputCopyData(conn_.get(), rows.data() + at, static_cast<int>(n)) == 1;
    }
    if (PQputCopyEnd(conn_.get(), sent ? nullptr : "shadowmeter: sending rows failed") != 1) fail(nullptr);
    ResultPtr end(PQgetResult(conn_.get()));
    // Drain: libpq returns null after the last result of the command.
    while (PGresult* extra = PQgetResult(conn_.get())) PQclear(extra);
    if (!end || PQresultStatus(end.get()) != PGRES_COMMAND_OK) fail(end.get());
  }

  std::uint64_t database_bytes() override {
    const auto rows = query("SELECT pg_database_size(current_database())", {});
    if (rows.empty() || rows[0].empty()) return 0;
    return static_cast<std::uint64_t>(as_int(rows[0][0]).value_or(0));
  }

 private:
  ResultPtr run(const std::string& sql, const std::vector<Value>& params,
                const std::string* prepared = nullptr) {
    const std::string text = to_dollar_placeholders(sql);
    std::vector<std::string> numbers(params.size());
    std::vector<const char*> values(params.size(), nullptr);
    for (std::size_t i = 0; i < params.size(); ++i) {
      const Value& v = params[i];
      if (const auto* n = std::get_if<std::int64_t>(&v)) {
        numbers[i] = std::to_string(*n);
        values[i] = numbers[i].c_str();
      } else if (const auto* d = std::get_if<double>(&v)) {
        char buf[64];
        const auto res = std::to_chars(buf, buf + sizeof(buf), *d);  // shortest exact form
        numbers[i].assign(buf, res.ptr);
        values[i] = numbers[i].c_str();
      } else if (const auto* s = std::get_if<std::string>(&v)) {
        values[i] = s->c_str();
      }
    }
    const int n = static_cast<int>(values.size());
    if (prepared != nullptr && !prepared_.contains(*prepared)) {
      const ResultPtr p(PQprepare(conn_.get(), prepared->c_str(), text.c_str(), n, nullptr));
      if (!p || PQresultStatus(p.get()) != PGRES_COMMAND_OK) fail(p.get());
      prepared_.insert(*prepared);
    }
    ResultPtr r(
        prepared != nullptr
            ? PQexecPrepared(conn_.get(), prepared->c_str(), n, values.data(), nullptr, nullptr, 0)
            : PQexecParams(conn_.get(), text.c_str(), n, nullptr, values.data(), nullptr, nullptr, 0));
    const ExecStatusType status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return r;
    fail(r.get());
  }

  // Throws the error of a failed command (`r` may be null: the connection's message then).
  [[noreturn]] void fail(const PGresult* r) {
    const char* message = r != nullptr ? PQresultErrorMessage(r) : "";
    if (message == nullptr || *message == '\0') message = PQerrorMessage(conn_.get());
    const std::string why = db_url::scrub(one_line(message), secrets_);
    const char* state = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    const std::string sqlstate = state != nullptr ? state : "";
    if (PQstatus(conn_.get()) != CONNECTION_OK) {
      throw TransientStoreError("postgresql: connection to " + redacted_ + " lost: " + why);
    }
    if (sqlstate == "40001" || sqlstate == "40P01") {  // serialization failure, deadlock: retry helps
      throw TransientStoreError("postgresql: " + why);
    }
    throw StoreError("postgresql: " + why + (sqlstate.empty() ? "" : " [" + sqlstate + "]"));
  }

  static Value cell(const PGresult* r, int row, int column) {
    if (PQgetisnull(r, row, column)) return {};
    const char* v = PQgetvalue(r, row, column);
    const std::size_t n = static_cast<std::size_t>(PQgetlength(r, row, column));
    const std::string text(v, n);
    switch (PQftype(r, column)) {
      case kBool:
        return std::int64_t{text == "t" ? 1 : 0};
      case kInt2:
      case kInt4:
      case kInt8:
        if (auto i = as_int(text)) return *i;
        return text;
      case kFloat4:
      case kFloat8:
        if (auto d = as_double(text)) return *d;
        return text;
      case kNumeric:  // SUM(bigint): integral unless it has a fraction
        if (auto i = as_int(text)) return *i;
        if (auto d = as_double(text)) return *d;
        return text;
      default:
        return text;
    }
  }

  std::string connection_message() const {
    return db_url::scrub(one_line(PQerrorMessage(conn_.get())), secrets_);
  }

  std::string url_;
  std::string redacted_;
  std::vector<std::string> secrets_;
  std::unique_ptr<PGconn, ConnFinish> conn_;
  std::set<std::string> prepared_;  // statements prepared in this session
};

}  // namespace

std::string to_dollar_placeholders(const std::string& sql) {
  std::string out;
  out.reserve(sql.size() + 16);
  bool in_literal = false;
  int n = 0;
  for (const char c : sql) {
    if (c == '\'') in_literal = !in_literal;
    if (c == '?' && !in_literal) {
      out += '$';
      out += std::to_string(++n);
    } else {
      out += c;
    }
  }
  return out;
}

std::unique_ptr<Connection> open_postgres(const std::string& url) {
  return std::make_unique<PgConnection>(url);
}

}  // namespace shadowmeter::collector::sql
