#include "reports/facts.h"
#include "reports/report.h"

namespace shadowmeter::collector::reports {

std::vector<std::string> owners(Store& store, std::uint64_t from_unix_nano, std::uint64_t to_unix_nano,
                                std::size_t limit) {
  SqlText s;
  s << "SELECT DISTINCT d_owner FROM " << facts(store.dialect(), from_unix_nano, to_unix_nano, "")
    << " WHERE d_owner IS NOT NULL ORDER BY d_owner LIMIT ";
  s.bind(static_cast<std::int64_t>(limit));
  std::vector<std::string> out;
  for (const sql::Row& r : store.report_rows(s.text, s.params)) {
    if (auto o = sql::as_text(r[0])) out.push_back(std::move(*o));
  }
  return out;
}

}  // namespace shadowmeter::collector::reports
