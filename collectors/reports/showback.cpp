// Showback: usage and estimated cost grouped by the asked dimensions (and time buckets), the model
// tier mix and the top movers against the previous period of the same length.
#include <algorithm>
#include <cmath>

#include "reports/facts.h"
#include "reports/metrics.h"
#include "reports/model_tiers.h"
#include "reports/report_parts.h"
#include "reports/time_text.h"

namespace shadowmeter::collector::reports {
namespace {

constexpr std::size_t kMaxMovers = 10;

std::string column_of(sql::Dialect d, const std::string& dimension) {
  const std::string prefix = kDimensionPrefix;
  if (dimension.rfind(prefix, 0) == 0) return dimension_expression(d, dimension.substr(prefix.size()));
  return "d_" + dimension;
}

std::string bucket(sql::Dialect d, Granularity g) {
  switch (g) {
    case Granularity::day:
      return day_bucket(d, "t");
    case Granularity::week:
      return week_bucket(d, "t");
    case Granularity::month:
      return month_bucket(d, "t");
    case Granularity::total:
      break;
  }
  return "";
}

// "d_owner, d_model" and the matching ORDER BY items.
std::string dimension_list(sql::Dialect dialect, const std::vector<std::string>& dims) {
  std::string s;
  for (const auto& d : dims) s += (s.empty() ? "" : ", ") + column_of(dialect, d);
  return s;
}

std::string dimension_order(sql::Dialect dialect, const std::vector<std::string>& dims) {
  std::string s;
  for (const auto& d : dims) s += ", " + nulls_last(column_of(dialect, d));
  return s;
}

std::string positions(std::size_t n, std::size_t first = 1) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += (i ? ", " : "") + std::to_string(first + i);
  return s;
}

}  // namespace

void showback_report(Store& store, const ReportQuery& q, nlohmann::json& out) {
  const sql::Dialect d = store.dialect();
  const bool bucketed = q.granularity != Granularity::total;
  const std::size_t ndims = q.group_by.size();
  const SqlText in_range = facts(d, q.from_unix_nano, q.to_unix_nano, q.owner);

  out["group_by"] = q.group_by;
  static const char* const kGranularity[] = {"total", "day", "week", "month"};
  out["granularity"] = kGranularity[static_cast<int>(q.granularity)];
  out["currency"] = "USD";

  // Totals (and how many calls came from the old daily rollups, without workload/key/environment).
  SqlText totals;
  totals << "SELECT " << metric_select() << ", COALESCE(SUM(rolled_up_calls), 0) FROM " << in_range;
  const auto total_rows = store.report_rows(totals.text, totals.params);
  nlohmann::json totals_json = nlohmann::json::object();
  const Metrics total = total_rows.empty() ? Metrics{} : read_metrics(total_rows[0], 0);
  write_metrics(total, totals_json);
  out["totals"] = std::move(totals_json);
  out["rolled_up_calls"] = total_rows.empty() ? 0 : int_of(total_rows[0][kMetricColumns]);

  // Rows: [period,] dimensions, metrics, pricing sources.
  SqlText rows;
  const std::string dims = dimension_list(d, q.group_by);
  rows << "SELECT " << (bucketed ? bucket(d, q.granularity) + ", " : "") << (dims.empty() ? "" : dims + ", ")
       << metric_select() << ", " << distinct_list(d, "pricing_source") << " FROM " << in_range;
  const std::size_t keys = ndims + (bucketed ? 1 : 0);
  // A group of blind connections only (no readable call, nothing known of its spend) is no showback row.
  if (keys > 0) rows << " GROUP BY " << positions(keys) << " HAVING SUM(calls) > 0";
  rows << " ORDER BY " << (bucketed ? "1, " : "") << "SUM(cost_usd) DESC, SUM(calls) DESC"
       << dimension_order(d, q.group_by) << " LIMIT ";
  rows.bind(static_cast<std::int64_t>(q.limit) + 1);
  auto result = store.report_rows(rows.text, rows.params);
  out["truncated"] = result.size() > q.limit;
  if (result.size() > q.limit) result.resize(q.limit);
  nlohmann::json row_list = nlohmann::json::array();
  for (const sql::Row& r : result) {
    nlohmann::json row = nlohmann::json::object();
    std::size_t at = 0;
    if (bucketed) row["period"] = text_or_null(r[at++]);
    for (const auto& dim : q.group_by) row[dim] = text_or_null(r[at++]);
    write_metrics(read_metrics(r, at), row);
    row["pricing_sources"] = split_list(r[at + kMetricColumns]);
    row_list.push_back(std::move(row));
  }
  out["rows"] = std::move(row_list);

  const SqlText tiers = model_tier_query(in_range);
  out["model_tiers"] = model_tier_mix(store.report_rows(tiers.text, tiers.params));

  // Top movers: this period against the one of the same length just before it.
  const std::uint64_t length = q.to_unix_nano - q.from_unix_nano;
  const std::uint64_t previous_from = q.from_unix_nano > length ? q.from_unix_nano - length : 0;
  nlohmann::json movers = nlohmann::json::array();
  if (!q.group_by.empty()) {
    SqlText m;
    const std::string current = "SUM(CASE WHEN t >= " + std::to_string(sql_time(q.from_unix_nano)) +
                                " THEN cost_usd ELSE 0 END)";
    const std::string previous = "SUM(CASE WHEN t < " + std::to_string(sql_time(q.from_unix_nano)) +
                                 " THEN cost_usd ELSE 0 END)";
    m << "SELECT " << dims << ", " << current << ", " << previous << " FROM "
      << facts(d, previous_from, q.to_unix_nano, q.owner) << " GROUP BY " << positions(ndims) << " HAVING "
      << current << " <> " << previous << " ORDER BY ABS(" << current << " - " << previous << ") DESC"
      << dimension_order(d, q.group_by) << " LIMIT ";
    m.bind(static_cast<std::int64_t>(std::min(q.limit, kMaxMovers)));
    for (const sql::Row& r : store.report_rows(m.text, m.params)) {
      nlohmann::json mover = nlohmann::json::object();
      for (std::size_t i = 0; i < ndims; ++i) mover[q.group_by[i]] = text_or_null(r[i]);
      const double now = money(double_of(r[ndims]));
      const double before = money(double_of(r[ndims + 1]));
      mover["cost_usd"] = now;
      mover["previous_cost_usd"] = before;
      mover["change_usd"] = money(now - before);
      mover["change_ratio"] = before > 0 ? nlohmann::json(money((now - before) / before)) : nullptr;
      movers.push_back(std::move(mover));
    }
  }
  out["top_movers"] = std::move(movers);
  out["previous_period"] = {{"from", rfc3339(previous_from)}, {"to", rfc3339(q.from_unix_nano)}};
}

}  // namespace shadowmeter::collector::reports
