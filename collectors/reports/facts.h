// The one table every report aggregates: raw call rows of [from, to) UNION ALL the daily rollups of
// the days whose raw rows expired, with the same columns, so a report never has to know which
// calls were rolled up. Rollups carry fewer dimensions: their workload, key, environment, operation,
// executable and pricing source are NULL. A rollup day is counted when its UTC midnight lies in
// [from, to) (exact for ranges on day boundaries, which is what the dashboard and CLI send).
//
// Columns of the subquery "f": t (nanoseconds; a rollup's UTC midnight), d_owner, d_namespace,
// d_workload ("<kind>/<name>", else the executable), d_node, d_provider, d_model, d_key,
// d_environment, operation, executable, usage_source, visibility, shadow (1/0/NULL), calls (readable
// calls: a connection_only event is one connection of unknown calls, counted in connections instead),
// input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens, reasoning_tokens, cost_usd
// (0 when unpriced), priced_calls, priced_tokens (input + output tokens of priced calls), pricing_source,
// rolled_up (1 for rollup rows), connections (blind connections: connection_only events), d_dimensions
// (the canonical JSON object of the call's shadowmeter.dimension.* attributes, NULL when none; until
// the rollups keep them it is NULL everywhere).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "storage/sql_value.h"

namespace shadowmeter::collector::reports {

// SQL text with "?" placeholders and their values, appended to in order.
struct SqlText {
  std::string text;
  std::vector<sql::Value> params;

  SqlText& operator<<(const std::string& s) {
    text += s;
    return *this;
  }
  // Appends "?" bound to v.
  SqlText& bind(sql::Value v) {
    text += "?";
    params.push_back(std::move(v));
    return *this;
  }
  SqlText& operator<<(const SqlText& other) {
    text += other.text;
    params.insert(params.end(), other.params.begin(), other.params.end());
    return *this;
  }
};

std::int64_t sql_time(std::uint64_t unix_nano);  // saturating at INT64_MAX

// "(SELECT ... ) f" over [from, to), only `owner`'s calls when not empty.
SqlText facts(sql::Dialect d, std::uint64_t from, std::uint64_t to, const std::string& owner);

// The SQL expression of a workload over the calls table ("<kind>/<name>", else the executable).
std::string workload_expression();

// The bucket ("YYYY-MM-DD", its first day) of a nanosecond time expression.
std::string day_bucket(sql::Dialect d, const std::string& t);
std::string week_bucket(sql::Dialect d, const std::string& t);  // ISO week, starting Monday
std::string month_bucket(sql::Dialect d, const std::string& t);

// Distinct non-NULL values of a text expression, joined by ',' (order unspecified).
std::string distinct_list(sql::Dialect d, const std::string& expr);

// A numeric attribute of a JSON `attributes` column (NULL when absent).
std::string json_number(sql::Dialect d, const std::string& column, const std::string& key);

// "x IS NULL, x" for a portable NULLS LAST order (SQLite and PostgreSQL disagree by default).
std::string nulls_last(const std::string& expr, bool descending = false);

}  // namespace shadowmeter::collector::reports
