// Shadow-AI findings: the calls the agents judged outside the sanctioned policy (shadowmeter.shadow),
// one finding per (workload or process, namespace, provider, endpoint, key fingerprint, reason), from
// the rollups (which keep every one of these); first_seen and last_seen look at all stored history
// before `to` (exact times: each rollup row keeps its first and last event time).
#include "reports/facts.h"
#include "reports/metrics.h"
#include "reports/report_parts.h"
#include "reports/time_text.h"

namespace shadowmeter::collector::reports {
namespace {

constexpr int kKeys = 7;

// One row per finding (keys, first, last, calls, input, output, cost, nodes), from the rollups of shadow
// calls: those before `from` only say when a finding was first seen.
SqlText findings_query(sql::Dialect d, const ReportQuery& q) {
  const std::string in_range = "in_range = 1";
  SqlText s;
  s << "SELECT d_workload AS workload, d_namespace, executable, d_provider, server_address, d_key, shadow_reason, "
       "MIN(first_seen) AS first_seen, MAX(last_seen), SUM(CASE WHEN "
    << in_range << " THEN calls + connections ELSE 0 END) AS calls, SUM(CASE WHEN " << in_range
    << " THEN input_tokens ELSE 0 END), SUM(CASE WHEN " << in_range
    << " THEN output_tokens ELSE 0 END), SUM(CASE WHEN " << in_range << " THEN cost_usd ELSE 0 END) AS cost, "
    << distinct_list(d, "CASE WHEN " + in_range + " THEN d_node END") << " FROM (SELECT f.*, 0 AS in_range FROM "
    << facts(d, 0, q.from_unix_nano, q.owner, true) << " UNION ALL SELECT f.*, 1 AS in_range FROM "
    << facts(d, q.from_unix_nano, q.to_unix_nano, q.owner, true) << ") h";
  s << " GROUP BY 1, 2, 3, 4, 5, 6, 7 HAVING SUM(CASE WHEN " << in_range << " THEN calls + connections ELSE 0 END) > 0";
  return s;
}

}  // namespace

void shadow_report(Store& store, const ReportQuery& q, nlohmann::json& out) {
  const sql::Dialect d = store.dialect();
  const std::uint64_t since = q.since_unix_nano.value_or(q.from_unix_nano);
  out["since"] = rfc3339(since);

  const SqlText grouped = findings_query(d, q);
  SqlText totals;
  totals << "SELECT COUNT(*), COALESCE(SUM(CASE WHEN first_seen >= " << std::to_string(sql_time(since))
         << " THEN 1 ELSE 0 END), 0), COALESCE(SUM(calls), 0), COALESCE(SUM(cost), 0) FROM (";
  totals << grouped << ") g";
  const auto t = store.report_rows(totals.text, totals.params);
  out["totals"] = {{"findings", t.empty() ? 0 : int_of(t[0][0])},
                   {"new_findings", t.empty() ? 0 : int_of(t[0][1])},
                   {"calls", t.empty() ? 0 : int_of(t[0][2])},
                   {"cost_usd", t.empty() ? 0.0 : money(double_of(t[0][3]))}};

  SqlText list = grouped;
  // Cost first; then a total order over the keys, the same on both back ends.
  list << " ORDER BY cost DESC, first_seen, " << nulls_last("d_workload") << ", " << nulls_last("d_namespace")
       << ", " << nulls_last("executable") << ", " << nulls_last("d_provider") << ", "
       << nulls_last("server_address") << ", " << nulls_last("d_key") << ", " << nulls_last("shadow_reason")
       << " LIMIT ";
  list.bind(static_cast<std::int64_t>(q.limit));
  nlohmann::json findings = nlohmann::json::array();
  for (const sql::Row& r : store.report_rows(list.text, list.params)) {
    const auto first = static_cast<std::uint64_t>(int_of(r[kKeys]));
    findings.push_back({{"workload", text_or_null(r[0])},
                        {"k8s.namespace.name", text_or_null(r[1])},
                        {"process.executable.name", text_or_null(r[2])},
                        {"gen_ai.provider.name", text_or_null(r[3])},
                        {"server.address", text_or_null(r[4])},
                        {"shadowmeter.api_key.fingerprint", text_or_null(r[5])},
                        {"reason", text_or_null(r[6])},
                        {"first_seen", rfc3339(first)},
                        {"last_seen", rfc3339(static_cast<std::uint64_t>(int_of(r[kKeys + 1])))},
                        {"nodes", split_list(r[kKeys + 6])},
                        {"calls", int_of(r[kKeys + 2])},
                        {"input_tokens", int_of(r[kKeys + 3])},
                        {"output_tokens", int_of(r[kKeys + 4])},
                        {"cost_usd", money(double_of(r[kKeys + 5]))},
                        {"new", first >= since}});
  }
  out["findings"] = std::move(findings);
}

}  // namespace shadowmeter::collector::reports
