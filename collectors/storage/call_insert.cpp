#include "storage/call_insert.h"

#include "storage/pg_call_insert.h"
#include "storage/statements.h"

namespace shadowmeter::collector::sql {
namespace {

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

}  // namespace

std::vector<std::size_t> insert_new_calls(Connection& c, const std::vector<std::string>& columns,
                                          std::vector<Row>& rows) {
  return c.dialect() == Dialect::postgresql ? pg_insert_new_calls(c, columns, rows) : insert_sqlite(c, columns, rows);
}

}  // namespace shadowmeter::collector::sql
