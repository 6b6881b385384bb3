// The usage and cost sums every showback row, total and FOCUS row is made of (the header's METRICS).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "storage/sql_value.h"

namespace shadowmeter::collector::reports {

// The aggregate SELECT items over the facts subquery, kMetricColumns of them, in this order: calls,
// input, output, cache read, cache creation, reasoning tokens, cost, priced calls, priced tokens.
std::string metric_select();
inline constexpr std::size_t kMetricColumns = 9;

struct Metrics {
  std::int64_t calls = 0, input_tokens = 0, output_tokens = 0, cache_read_tokens = 0, cache_creation_tokens = 0,
               reasoning_tokens = 0, priced_calls = 0, priced_tokens = 0;
  double cost_usd = 0;
};

// The kMetricColumns values starting at row[at].
Metrics read_metrics(const sql::Row& row, std::size_t at);
// METRICS of report.h: sums, cost per priced call and per 1k tokens of priced calls (null when none).
void write_metrics(const Metrics& m, nlohmann::json& out);

// Sums as the database returns them: integers (PostgreSQL's numeric sums arrive as text), or 0.
std::int64_t int_of(const sql::Value& v);
double double_of(const sql::Value& v);
nlohmann::json text_or_null(const sql::Value& v);
// Money rounded to 1e-9 USD, so that summation order (which differs between back ends) does not show.
double money(double usd);
// "a,b,c" from distinct_list() to a sorted JSON array.
nlohmann::json split_list(const sql::Value& v);

}  // namespace shadowmeter::collector::reports
