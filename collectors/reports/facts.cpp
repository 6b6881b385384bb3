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

namespace {

constexpr std::uint64_t kHourNs = 3600ull * kSecondNs;

std::uint64_t ceil_to(std::uint64_t t, std::uint64_t unit) {
  const std::uint64_t down = t / unit * unit;
  if (down == t) return t;
  return down > UINT64_MAX - unit ? UINT64_MAX : down + unit;
}

// The columns of "f" from one rollup table ('' back to NULL, -1 shadow back to NULL).
const char* const kRollupColumns =
    "SELECT bucket_unix_nano AS t, NULLIF(owner, '') AS d_owner, NULLIF(k8s_namespace, '') AS d_namespace, "
    "NULLIF(workload, '') AS d_workload, NULLIF(host_name, '') AS d_node, NULLIF(provider, '') AS d_provider, "
    "NULLIF(model, '') AS d_model, NULLIF(api_key_fingerprint, '') AS d_key, "
    "NULLIF(environment, '') AS d_environment, NULLIF(dimensions, '') AS d_dimensions, "
    "NULLIF(operation, '') AS operation, NULLIF(executable, '') AS executable, "
    "NULLIF(usage_source, '') AS usage_source, NULLIF(visibility, '') AS visibility, "
    "NULLIF(visibility_reason, '') AS visibility_reason, NULLIF(tls_library, '') AS tls_library, "
    "NULLIF(server_address, '') AS server_address, NULLIF(shadow_reason, '') AS shadow_reason, "
    "CASE WHEN shadow < 0 THEN NULL ELSE shadow END AS shadow, calls, input_tokens, output_tokens, "
    "cache_read_tokens, cache_creation_tokens, reasoning_tokens, cost_usd, priced_calls, priced_tokens, "
    "NULLIF(pricing_source, '') AS pricing_source, CASE WHEN legacy_calls > 0 THEN 1 ELSE 0 END AS rolled_up, "
    "legacy_calls AS rolled_up_calls, connections, bytes_sent, bytes_received, "
    "first_seen_unix_nano AS first_seen, last_seen_unix_nano AS last_seen FROM ";

void one_table(SqlText& s, const char* table, const std::vector<std::pair<std::uint64_t, std::uint64_t>>& ranges,
               const std::string& owner, bool shadow_only) {
  s << kRollupColumns << table << " WHERE (";
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    s << (i ? " OR " : "") << "(bucket_unix_nano >= ";
    s.bind(sql_time(ranges[i].first)) << " AND bucket_unix_nano < ";
    s.bind(sql_time(ranges[i].second)) << ")";
  }
  s << ")";
  if (!owner.empty()) s << " AND owner = ", s.bind(owner);
  if (shadow_only) s << " AND shadow = 1";
}

}  // namespace

SqlText facts(sql::Dialect, std::uint64_t from, std::uint64_t to, const std::string& owner, bool shadow_only) {
  // Whole UTC days inside [from, to) come from the daily rows, the hours at the edges from the hourly
  // rows; a bucket counts when its start lies in the range.
  const std::uint64_t first_day = ceil_to(from, kDayNs);
  const std::uint64_t last_day = to / kDayNs * kDayNs;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> daily, hourly;
  if (first_day < last_day) {
    daily.emplace_back(first_day, last_day);
    hourly.emplace_back(ceil_to(from, kHourNs), first_day);
    hourly.emplace_back(last_day, ceil_to(to, kHourNs));
  } else {
    hourly.emplace_back(ceil_to(from, kHourNs), ceil_to(to, kHourNs));
  }
  SqlText s;
  s << "(";
  if (!daily.empty()) {
    one_table(s, "rollups_daily", daily, owner, shadow_only);
    s << " UNION ALL ";
  }
  one_table(s, "rollups_hourly", hourly, owner, shadow_only);
  s << ") f";
  return s;
}

std::string dimension_expression(sql::Dialect d, const std::string& name) {
  // The name is [a-z0-9_]{1,32} (checked by the caller), so it can be written into the path as is.
  if (d == sql::Dialect::postgresql) return "(CAST(d_dimensions AS jsonb) ->> '" + name + "')";
  return "json_extract(d_dimensions, '$.\"" + name + "\"')";
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
