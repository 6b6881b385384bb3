#include "storage/call_insert.h"

#include <algorithm>
#include <unordered_map>

#include "storage/statements.h"

namespace shadowmeter::collector::sql {
namespace {

// Rows per multi-row INSERT on PostgreSQL (100 rows x 37 columns stays far below its 65535 parameters).
constexpr std::size_t kPgRowsPerInsert = 100;

std::vector<std::size_t> insert_sqlite(Connection& c, const std::vector<std::string>& columns,
                                       std::vector<Row>& rows) {
  const std::string sql = insert_ignore("calls", columns, 1);
  std::vector<std::size_t> fresh;
  fresh.reserve(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (c.execute(sql, rows[i]) > 0) fresh.push_back(i);
  }
  return fresh;
}

std::vector<std::size_t> insert_postgres(Connection& c, const std::vector<std::string>& columns,
                                         std::vector<Row>& rows) {
  std::vector<std::size_t> fresh;
  const std::string full = insert_ignore("calls", columns, kPgRowsPerInsert) + " RETURNING event_id";
  for (std::size_t i = 0; i < rows.size(); i += kPgRowsPerInsert) {
    const std::size_t n = std::min(kPgRowsPerInsert, rows.size() - i);
    // The first row of each event id in the chunk: a repeat within one statement is skipped by the
    // conflict clause and must not be reported as new.
    std::unordered_map<std::string, std::size_t> first_of;
    Row params;
    params.reserve(n * columns.size());
    for (std::size_t r = i; r < i + n; ++r) {
      if (const auto* id = std::get_if<std::string>(&rows[r].at(0))) first_of.emplace(*id, r);
      for (Value& v : rows[r]) params.push_back(std::move(v));
    }
    const auto returned =
        c.query(n == kPgRowsPerInsert ? full : insert_ignore("calls", columns, n) + " RETURNING event_id", params);
    for (const Row& r : returned) {
      const auto id = as_text(r.at(0));
      if (!id) continue;
      if (const auto it = first_of.find(*id); it != first_of.end()) fresh.push_back(it->second);
    }
  }
  std::sort(fresh.begin(), fresh.end());
  return fresh;
}

}  // namespace

std::vector<std::size_t> insert_new_calls(Connection& c, const std::vector<std::string>& columns,
                                          std::vector<Row>& rows) {
  return c.dialect() == Dialect::postgresql ? insert_postgres(c, columns, rows) : insert_sqlite(c, columns, rows);
}

}  // namespace shadowmeter::collector::sql
