#include "reports/metrics.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace shadowmeter::collector::reports {

std::string metric_select() {
  return "COALESCE(SUM(calls), 0), COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0), "
         "COALESCE(SUM(cache_read_tokens), 0), COALESCE(SUM(cache_creation_tokens), 0), "
         "COALESCE(SUM(reasoning_tokens), 0), COALESCE(SUM(cost_usd), 0), COALESCE(SUM(priced_calls), 0), "
         "COALESCE(SUM(priced_tokens), 0)";
}

std::int64_t int_of(const sql::Value& v) {
  if (const auto i = sql::as_int(v)) return *i;
  if (const auto d = sql::as_double(v)) return static_cast<std::int64_t>(std::llround(*d));
  return 0;
}

double double_of(const sql::Value& v) { return sql::as_double(v).value_or(0.0); }

nlohmann::json text_or_null(const sql::Value& v) {
  if (auto s = sql::as_text(v)) return std::move(*s);
  if (const auto i = sql::as_int(v)) return std::to_string(*i);
  return nullptr;
}

double money(double usd) { return std::round(usd * 1e9) / 1e9; }

Metrics read_metrics(const sql::Row& row, std::size_t at) {
  Metrics m;
  m.calls = int_of(row.at(at));
  m.input_tokens = int_of(row.at(at + 1));
  m.output_tokens = int_of(row.at(at + 2));
  m.cache_read_tokens = int_of(row.at(at + 3));
  m.cache_creation_tokens = int_of(row.at(at + 4));
  m.reasoning_tokens = int_of(row.at(at + 5));
  m.cost_usd = money(double_of(row.at(at + 6)));
  m.priced_calls = int_of(row.at(at + 7));
  m.priced_tokens = int_of(row.at(at + 8));
  return m;
}

void write_metrics(const Metrics& m, nlohmann::json& out) {
  out["calls"] = m.calls;
  out["input_tokens"] = m.input_tokens;
  out["output_tokens"] = m.output_tokens;
  out["cache_read_tokens"] = m.cache_read_tokens;
  out["cache_creation_tokens"] = m.cache_creation_tokens;
  out["reasoning_tokens"] = m.reasoning_tokens;
  out["cost_usd"] = m.cost_usd;
  out["priced_calls"] = m.priced_calls;
  out["unpriced_calls"] = m.calls - m.priced_calls;
  out["cost_per_call_usd"] =
      m.priced_calls > 0 ? nlohmann::json(money(m.cost_usd / static_cast<double>(m.priced_calls))) : nullptr;
  out["cost_per_1k_tokens_usd"] =
      m.priced_tokens > 0 ? nlohmann::json(money(m.cost_usd * 1000.0 / static_cast<double>(m.priced_tokens)))
                          : nullptr;
}

nlohmann::json split_list(const sql::Value& v) {
  std::set<std::string> items;
  if (const auto s = sql::as_text(v)) {
    std::size_t start = 0;
    while (start <= s->size()) {
      const std::size_t comma = std::min(s->find(',', start), s->size());
      if (comma > start) items.insert(s->substr(start, comma - start));
      start = comma + 1;
    }
  }
  return nlohmann::json(std::vector<std::string>(items.begin(), items.end()));
}

}  // namespace shadowmeter::collector::reports
