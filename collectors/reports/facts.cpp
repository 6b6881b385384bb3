#include "reports/facts.h"

#include <algorithm>
#include <limits>

#include "reports/time_text.h"

namespace shadowmeter::collector::reports {

std::int64_t sql_time(std::uint64_t unix_nano) {
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  return static_cast<std::int64_t>(std::min(unix_nano, kMax));
}

std::string workload_expression() {
  return "CASE WHEN k8s_workload_name IS NOT NULL THEN COALESCE(k8s_workload_kind, '') || '/' || "
         "k8s_workload_name ELSE process_executable_name END";
}

SqlText facts(sql::Dialect d, std::uint64_t from, std::uint64_t to, const std::string& owner) {
  const std::string rollup_t = d == sql::Dialect::postgresql
                                   ? "CAST(EXTRACT(EPOCH FROM CAST(day AS date)) AS BIGINT) * 1000000000"
                                   : "CAST(strftime('%s', day) AS INTEGER) * 1000000000";
  SqlText s;
  s << "(SELECT time_unix_nano AS t, owner AS d_owner, k8s_namespace AS d_namespace, " << workload_expression()
    << " AS d_workload, host_name AS d_node, provider AS d_provider, "
       "COALESCE(request_model, response_model) AS d_model, api_key_fingerprint AS d_key, "
       "environment AS d_environment, operation, process_executable_name AS executable, usage_source, "
       "visibility, CASE WHEN shadow IS NULL THEN NULL WHEN shadow THEN 1 ELSE 0 END AS shadow, "
       "CASE WHEN visibility = 'connection_only' THEN 0 ELSE 1 END AS calls, "
       "COALESCE(input_tokens, 0) AS input_tokens, COALESCE(output_tokens, 0) AS output_tokens, "
       "COALESCE(cache_read_tokens, 0) AS cache_read_tokens, "
       "COALESCE(cache_creation_tokens, 0) AS cache_creation_tokens, "
       "COALESCE(reasoning_tokens, 0) AS reasoning_tokens, COALESCE(cost_usd, 0) AS cost_usd, "
       "CASE WHEN cost_usd IS NULL THEN 0 ELSE 1 END AS priced_calls, "
       "CASE WHEN cost_usd IS NULL THEN 0 ELSE COALESCE(input_tokens, 0) + COALESCE(output_tokens, 0) END "
       "AS priced_tokens, pricing_source, 0 AS rolled_up, "
       "CASE WHEN visibility = 'connection_only' THEN 1 ELSE 0 END AS connections, "
       "NULL AS d_dimensions FROM calls WHERE time_unix_nano >= ";
  s.bind(sql_time(from)) << " AND time_unix_nano < ";
  s.bind(sql_time(to));
  if (!owner.empty()) s << " AND owner = ", s.bind(owner);
  // Rolled-up tokens of priced calls are known only when all or none of the row's calls were priced;
  // in between they are apportioned by the number of calls.
  s << " UNION ALL SELECT " << rollup_t
    << ", NULLIF(owner, ''), NULLIF(k8s_namespace, ''), NULL, NULLIF(host_name, ''), NULLIF(provider, ''), "
       "NULLIF(request_model, ''), NULL, NULL, NULL, NULL, NULLIF(usage_source, ''), NULLIF(visibility, ''), "
       "CASE WHEN shadow < 0 THEN NULL ELSE shadow END, CASE WHEN visibility = 'connection_only' THEN 0 ELSE calls END, "
       "input_tokens, output_tokens, cache_read_tokens, "
       "cache_creation_tokens, reasoning_tokens, cost_usd, priced_calls, "
       "CASE WHEN priced_calls = calls THEN input_tokens + output_tokens WHEN priced_calls = 0 THEN 0 "
       "ELSE (input_tokens + output_tokens) * priced_calls / calls END, NULL, 1, "
       "CASE WHEN visibility = 'connection_only' THEN calls ELSE 0 END, NULL AS d_dimensions FROM daily_rollups "
       "WHERE day >= ";
  s.bind(utc_day(day_ceil(from))) << " AND day < ";
  s.bind(utc_day(day_ceil(to)));
  if (!owner.empty()) s << " AND owner = ", s.bind(owner);
  s << ") f";
  return s;
}

namespace {
std::string seconds(const std::string& t) { return "(" + t + ") / 1000000000"; }
std::string pg_utc(const std::string& t) { return "(to_timestamp(" + seconds(t) + ") AT TIME ZONE 'UTC')"; }
}  // namespace

std::string day_bucket(sql::Dialect d, const std::string& t) {
  if (d == sql::Dialect::postgresql) return "to_char(" + pg_utc(t) + ", 'YYYY-MM-DD')";
  return "strftime('%Y-%m-%d', " + seconds(t) + ", 'unixepoch')";
}

std::string week_bucket(sql::Dialect d, const std::string& t) {
  if (d == sql::Dialect::postgresql) return "to_char(date_trunc('week', " + pg_utc(t) + "), 'YYYY-MM-DD')";
  // 'weekday 0' moves forward to the next Sunday (or stays on one); six days back is that week's Monday.
  return "date(" + seconds(t) + ", 'unixepoch', 'weekday 0', '-6 days')";
}

std::string month_bucket(sql::Dialect d, const std::string& t) {
  if (d == sql::Dialect::postgresql) return "to_char(" + pg_utc(t) + ", 'YYYY-MM') || '-01'";
  return "strftime('%Y-%m-01', " + seconds(t) + ", 'unixepoch')";
}

std::string distinct_list(sql::Dialect d, const std::string& expr) {
  if (d == sql::Dialect::postgresql) return "string_agg(DISTINCT " + expr + ", ',')";
  return "group_concat(DISTINCT " + expr + ")";
}

std::string json_number(sql::Dialect d, const std::string& column, const std::string& key) {
  // A value of another JSON type is NULL, not a failing cast (rows stored before ingest checked types).
  if (d == sql::Dialect::postgresql)
    return "CASE WHEN jsonb_typeof(CAST(" + column + " AS jsonb) -> '" + key + "') = 'number' THEN CAST(CAST(" +
           column + " AS jsonb) ->> '" + key + "' AS NUMERIC) END";
  return "json_extract(" + column + ", '$.\"" + key + "\"')";
}

std::string nulls_last(const std::string& expr, bool descending) {
  return "(" + expr + ") IS NULL, " + expr + (descending ? " DESC" : "");
}

}  // namespace shadowmeter::collector::reports
