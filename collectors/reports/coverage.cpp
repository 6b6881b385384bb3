// Coverage: what share of the cost is allocated to an owner (the FinOps control), what share of the
// readable AI calls we saw exactly, estimated or without usage, how many connections (and bytes) we
// could not read at all and why, what share had no price, and the fleet's health (fleet.cpp).
// A connection_only event is one connection, not one call: it is never counted among the calls.
#include "reports/facts.h"
#include "reports/metrics.h"
#include "reports/report_parts.h"

namespace shadowmeter::collector::reports {
namespace {

// The visibility class of a facts row. Rows without a visibility attribute (agents before it existed)
// count as plaintext.
const char* const kClass =
    "CASE WHEN visibility = 'connection_only' THEN 'connection_only' "
    "WHEN usage_source IN ('response', 'stream', 'header') THEN 'exact' "
    "WHEN usage_source = 'estimated' THEN 'estimated' ELSE 'none' END";

constexpr const char* kReadable[] = {"exact", "estimated", "none"};

// Per group: readable calls, each readable class, then blind connections.
std::string vis_select() {
  std::string s = "COALESCE(SUM(calls), 0)";
  for (const char* c : kReadable)
    s += std::string(", COALESCE(SUM(CASE WHEN ") + kClass + " = '" + c + "' THEN calls ELSE 0 END), 0)";
  return s + ", COALESCE(SUM(connections), 0)";
}

nlohmann::json vis_json(const sql::Row& r, std::size_t at) {
  const std::int64_t calls = int_of(r[at]);
  nlohmann::json v = {{"calls", calls}};
  std::size_t i = at + 1;
  for (const char* c : kReadable) {
    const std::int64_t n = int_of(r[i++]);
    v[c] = n;
    v[std::string(c) + "_share"] = share(static_cast<double>(n), static_cast<double>(calls));
  }
  v["blind_connections"] = int_of(r[i]);
  return v;
}

nlohmann::json visibility_by(Store& store, const SqlText& in_range, const std::string& column,
                             const std::string& key, std::size_t limit) {
  SqlText s;
  s << "SELECT " << column << ", " << vis_select() << " FROM " << in_range << " GROUP BY 1 ORDER BY SUM(calls) + SUM(connections) DESC, "
    << nulls_last(column) << " LIMIT ";
  s.bind(static_cast<std::int64_t>(limit));
  nlohmann::json out = nlohmann::json::array();
  for (const sql::Row& r : store.report_rows(s.text, s.params)) {
    nlohmann::json v = vis_json(r, 1);
    v[key] = text_or_null(r[0]);
    out.push_back(std::move(v));
  }
  return out;
}

std::string blind_reason(const sql::Row& r) {
  if (auto stored = sql::as_text(r[5])) return *stored;
  const auto library = sql::as_text(r[3]);
  return "connection seen, exchange not readable (TLS library " + (library ? *library : std::string("unknown")) +
         " has no plaintext probe)";
}

void allocation(Store& store, const ReportQuery& q, const SqlText& in_range, nlohmann::json& out) {
  SqlText s;
  s << "SELECT COALESCE(SUM(cost_usd), 0), COALESCE(SUM(CASE WHEN d_owner IS NOT NULL AND d_owner <> "
       "'unallocated' THEN cost_usd ELSE 0 END), 0) FROM "
    << in_range;
  const auto t = store.report_rows(s.text, s.params);
  const double total = t.empty() ? 0 : money(double_of(t[0][0]));
  const double allocated = t.empty() ? 0 : money(double_of(t[0][1]));

  // Workloads whose calls carry no owner.
  SqlText w;
  w << "SELECT d_workload, d_namespace, d_node, SUM(calls + connections), COALESCE(SUM(cost_usd), 0) FROM "
    << in_range << " WHERE d_owner IS NULL OR d_owner = 'unallocated' GROUP BY 1, 2, 3 "
    << "ORDER BY COALESCE(SUM(cost_usd), 0) DESC, SUM(calls + connections) DESC, " << nulls_last("d_workload") << ", "
    << nulls_last("d_namespace") << ", " << nulls_last("d_node") << " LIMIT ";
  w.bind(static_cast<std::int64_t>(q.limit));
  nlohmann::json unowned = nlohmann::json::array();
  for (const sql::Row& r : store.report_rows(w.text, w.params)) {
    unowned.push_back({{"workload", text_or_null(r[0])},
                       {"k8s.namespace.name", text_or_null(r[1])},
                       {"node", text_or_null(r[2])},
                       {"calls", int_of(r[3])},
                       {"cost_usd", money(double_of(r[4]))}});
  }
  out["allocation"] = {{"total_cost_usd", total},
                       {"allocated_cost_usd", allocated},
                       {"unallocated_cost_usd", money(total - allocated)},
                       {"allocated_share", share(allocated, total)},
                       {"unowned_workloads", std::move(unowned)}};
}

void visibility(Store& store, const ReportQuery& q, const SqlText& in_range, nlohmann::json& out) {
  SqlText all;
  all << "SELECT " << vis_select() << " FROM " << in_range;
  const auto overall = store.report_rows(all.text, all.params);
  nlohmann::json v;
  v["overall"] = overall.empty() ? vis_json(sql::Row(5, sql::Value{std::int64_t{0}}), 0) : vis_json(overall[0], 0);
  v["by_node"] = visibility_by(store, in_range, "d_node", "node", q.limit);
  v["by_namespace"] = visibility_by(store, in_range, "d_namespace", "k8s.namespace.name", q.limit);
  v["by_executable"] = visibility_by(store, in_range, "executable", "process.executable.name", q.limit);

  // Blind connections by where they were and why; with the readable calls of the same executable on
  // the same node: its TLS library is known to carry AI calls we can read, so the blind connections are
  // a gap in a process we otherwise see (all owners: the process is the same).
  const sql::Dialect d = store.dialect();
  const char* const kBlindKeys[] = {"d_node", "d_namespace", "executable", "tls_library", "server_address",
                                    "visibility_reason"};
  SqlText b;
  b << "SELECT b.d_node, b.d_namespace, b.executable, b.tls_library, b.server_address, b.visibility_reason, b.n, "
       "b.sent, b.received, COALESCE(p.calls, 0) FROM (SELECT d_node, d_namespace, executable, tls_library, "
       "server_address, visibility_reason, SUM(connections) AS n, SUM(bytes_sent) AS sent, SUM(bytes_received) "
       "AS received FROM "
    << in_range << " WHERE connections > 0 GROUP BY 1, 2, 3, 4, 5, 6) b LEFT JOIN (SELECT d_node, executable, "
    << "SUM(calls) AS calls FROM " << facts(d, q.from_unix_nano, q.to_unix_nano, "")
    << " GROUP BY 1, 2) p ON p.d_node = b.d_node AND p.executable = b.executable ORDER BY b.n DESC";
  for (const char* c : kBlindKeys) b << ", " << nulls_last(std::string("b.") + c);
  b << " LIMIT ";
  b.bind(static_cast<std::int64_t>(q.limit));
  nlohmann::json blind = nlohmann::json::array();
  for (const sql::Row& r : store.report_rows(b.text, b.params)) {
    blind.push_back({{"node", text_or_null(r[0])},
                     {"k8s.namespace.name", text_or_null(r[1])},
                     {"process.executable.name", text_or_null(r[2])},
                     {"shadowmeter.tls.library", text_or_null(r[3])},
                     {"server.address", text_or_null(r[4])},
                     {"reason", blind_reason(r)},
                     {"connections", int_of(r[6])},
                     {"bytes_sent", int_of(r[7])},
                     {"bytes_received", int_of(r[8])},
                     {"plaintext_calls_same_executable", int_of(r[9])}});
  }
  v["blind_spots"] = std::move(blind);
  out["visibility"] = std::move(v);
}

// Connections seen only at connection level have no model to price: they are left out of the pricing share.
void pricing(Store& store, const ReportQuery& q, const SqlText& in_range, nlohmann::json& out) {
  const std::string readable = " WHERE visibility IS NULL OR visibility <> 'connection_only'";
  SqlText s;
  s << "SELECT COALESCE(SUM(calls), 0), COALESCE(SUM(priced_calls), 0) FROM " << in_range << readable;
  const auto t = store.report_rows(s.text, s.params);
  const std::int64_t calls = t.empty() ? 0 : int_of(t[0][0]);
  const std::int64_t priced = t.empty() ? 0 : int_of(t[0][1]);

  SqlText m;
  m << "SELECT d_provider, d_model, SUM(calls - priced_calls) FROM " << in_range << readable
    << " GROUP BY 1, 2 HAVING SUM(calls - priced_calls) > 0 ORDER BY SUM(calls - priced_calls) DESC, "
    << nulls_last("d_provider") << ", " << nulls_last("d_model") << " LIMIT ";
  m.bind(static_cast<std::int64_t>(q.limit));
  nlohmann::json models = nlohmann::json::array();
  for (const sql::Row& r : store.report_rows(m.text, m.params)) {
    models.push_back(
        {{"gen_ai.provider.name", text_or_null(r[0])}, {"model", text_or_null(r[1])}, {"calls", int_of(r[2])}});
  }
  out["pricing"] = {{"calls", calls},
                    {"priced_calls", priced},
                    {"unpriced_calls", calls - priced},
                    {"unpriced_share", share(static_cast<double>(calls - priced), static_cast<double>(calls))},
                    {"unpriced_models", std::move(models)}};
}

}  // namespace

void coverage_report(Store& store, const ReportQuery& q, nlohmann::json& out) {
  const SqlText in_range = facts(store.dialect(), q.from_unix_nano, q.to_unix_nano, q.owner);
  allocation(store, q, in_range, out);
  visibility(store, q, in_range, out);
  pricing(store, q, in_range, out);
  fleet_health(store, q, out);
}

}  // namespace shadowmeter::collector::reports
