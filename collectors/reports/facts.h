// The one table every report aggregates: the rollups of [from, to), maintained at ingest
// (storage/rollups.h). Whole UTC days come from the daily rows, the partial days at the edges from
// the hourly rows; an hour counts when its start lies in [from, to), so a range is exact when it
// starts and ends on whole hours (the dashboard and the CLI send days). Every dimension is kept.
//
// Columns of the subquery "f" (one row per rollup row): t (the bucket's start, nanoseconds), d_owner,
// d_namespace, d_workload ("<kind>/<name>", else the executable), d_node, d_provider, d_model, d_key,
// d_environment, d_dimensions (canonical JSON object of the custom dimensions, NULL when none),
// operation, executable, usage_source, visibility, visibility_reason, tls_library, server_address,
// shadow_reason, shadow (1/0/NULL), calls (readable calls: a connection_only event is one connection
// of unknown calls, counted in connections instead), input_tokens, output_tokens, cache_read_tokens,
// cache_creation_tokens, reasoning_tokens, cost_usd (0 when unpriced), priced_calls, priced_tokens
// (input + output tokens of priced calls), pricing_source, rolled_up (1 when the row holds calls
// migrated from the old daily rollups, whose workload/key/environment were lost), rolled_up_calls (how
// many), connections (blind connections), bytes_sent, bytes_received (of blind connections),
// first_seen, last_seen (times of the row's first and last event). Unknown text is NULL.
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

// "(SELECT ... ) f" over [from, to), only `owner`'s calls when not empty, only shadow calls when asked.
SqlText facts(sql::Dialect d, std::uint64_t from, std::uint64_t to, const std::string& owner,
              bool shadow_only = false);

// The SQL expression of a custom dimension's value in f (NULL when the row has none); `name` must be
// valid (reports::valid_dimension_name).
std::string dimension_expression(sql::Dialect d, const std::string& name);

// The SQL expression of a workload over the raw calls table ("<kind>/<name>", else the executable).
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
