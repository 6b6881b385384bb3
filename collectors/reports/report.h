// The collector's reports, computed from the stored calls, rollups, heartbeats and gaps, for the three
// audiences: showback (FinOps), shadow-AI findings (security), coverage (what share of AI traffic we
// saw exactly, estimated or only at connection level, and why) and the FOCUS cost export. Each report
// is a JSON document (the API's and the CLI's `--format json`), which the CSV and HTML renderers read.
// Costs are estimates (agent-side list prices), labelled so everywhere; never an invoice.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "storage/store.h"

namespace shadowmeter::collector::reports {

// Dimensions a showback can be grouped by (any combination, in the given order). Names as in the API:
// owner, namespace, workload ("<kind>/<name>", else the executable), node, provider, model, key
// (api key fingerprint), environment; and any custom dimension as "dimension.<name>" (below).
inline const std::vector<std::string>& showback_dimensions() {
  static const std::vector<std::string> d = {"owner", "namespace", "workload", "node",
                                             "provider", "model", "key", "environment"};
  return d;
}

// A custom dimension (shadowmeter.dimension.<name> of the events) as a showback group: "dimension.<name>".
inline constexpr const char* kDimensionPrefix = "dimension.";
// [a-z0-9_]{1,32}, the names the agents may send.
bool valid_dimension_name(const std::string& name);
// A known group_by value: one of showback_dimensions(), or "dimension.<valid name>".
bool valid_group_by(const std::string& value);

enum class Granularity { total, day, week, month };  // week: ISO weeks starting Monday, UTC

// What a report is asked for. Times are nanoseconds since the epoch, [from, to).
struct ReportQuery {
  std::uint64_t from_unix_nano = 0;
  std::uint64_t to_unix_nano = 0;
  std::vector<std::string> group_by = {"owner"};  // showback only
  Granularity granularity = Granularity::total;   // showback only
  std::string owner;                              // "" = all owners (every report honours it)
  std::optional<std::uint64_t> since_unix_nano;   // shadow: findings first seen at/after this are "new"
  std::uint64_t now_unix_nano = 0;                // coverage: heartbeat staleness is judged against it
  std::size_t limit = 1000;                       // max rows of each list in the answer (1..100000)
  std::uint64_t heartbeat_interval_seconds = 60;  // coverage: an agent is stale after 3 of these
};

// A malformed query (unknown dimension, from >= to, a range over kMaxReportDays): the API answers 400.
struct BadReportQuery : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};
inline constexpr std::uint64_t kMaxReportDays = 1100;
inline constexpr std::size_t kMaxReportLimit = 100000;
inline constexpr const char* kCostNote = "estimated list-price cost from the agents' price tables; not an invoice";

// Parses the API's / CLI's textual parameters: from/to as RFC 3339 ("2026-11-01T00:00:00Z"), a date
// ("2026-11-01", UTC midnight) or nanoseconds since the epoch; group_by comma-separated; granularity
// total|day|week|month; since like from; limit 1..kMaxReportLimit. Defaults: to = now, from = to - 30
// days, group_by owner, granularity total, limit 1000. Throws BadReportQuery.
ReportQuery parse_query(const std::string& from, const std::string& to, const std::string& group_by,
                        const std::string& granularity, const std::string& owner, const std::string& since,
                        std::uint64_t now_unix_nano, const std::string& limit = "");

// The report names of the API (/api/v1/reports/NAME), the CLI (`report NAME`) and the dashboard.
inline const std::vector<std::string>& report_names() {
  static const std::vector<std::string> n = {"showback", "shadow", "coverage", "focus"};
  return n;
}

// Computes a report over `store` (both back ends, same answer). Throws BadReportQuery, StoreError.
// Shapes (every report has "report", "from", "to" (RFC 3339 UTC), "generated_at", "owner" and
// "cost_note": "estimated list-price cost from the agents' price tables; not an invoice"):
//
// showback: {"group_by": [...], "granularity", "currency": "USD",
//   "totals": METRICS, "rows": [{"period" (first day of the bucket, "YYYY-MM-DD"; absent for total),
//   <one key per group_by dimension ("dimension.<name>" for a custom one), null when unknown>, METRICS..., "pricing_sources": [...]}]
//   (sorted by period, then cost desc), "model_tiers": [{"tier", "calls", "cost_usd", "cost_share"}],
//   "top_movers": [{<group_by keys>, "cost_usd", "previous_cost_usd", "change_usd", "change_ratio"
//   (null when the previous period had no cost)}] (the previous period is the same length just before
//   `from`; sorted by |change_usd| desc), "rolled_up_calls" (calls migrated from the daily rollups of
//   collectors before hourly/daily rollups at ingest: their workload/key/environment are null), "truncated" (rows cut at limit),
//   "previous_period": {"from", "to"}} (top movers: at most min(limit, 10) groups, those with a change)
//   METRICS = {"calls", "input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens",
//   "reasoning_tokens", "cost_usd", "priced_calls", "unpriced_calls", "cost_per_call_usd",
//   "cost_per_1k_tokens_usd"} (per-call and per-1k figures over priced calls only; null when none).
//
// shadow: {"since", "totals": {"findings", "new_findings", "calls", "cost_usd"}, "findings": [{
//   "workload", "k8s.namespace.name", "process.executable.name", "gen_ai.provider.name",
//   "server.address", "shadowmeter.api_key.fingerprint", "reason", "first_seen", "last_seen" (RFC 3339;
//   first_seen over all stored history, not only the range), "nodes": [...], "calls", "input_tokens",
//   "output_tokens", "cost_usd", "new" (first_seen >= since)}] (cost desc)}
//
// coverage: {
//   "allocation": {"total_cost_usd", "allocated_cost_usd", "unallocated_cost_usd", "allocated_share",
//                  "unowned_workloads": [{"workload", "k8s.namespace.name", "node", "calls", "cost_usd"}]},
//   "visibility": {"overall": VIS, "by_node": [VIS + "node"], "by_namespace": [VIS + "k8s.namespace.name"],
//                  "by_executable": [VIS + "process.executable.name"],
//                  "blind_spots": [{"node", "k8s.namespace.name", "process.executable.name",
//                                   "shadowmeter.tls.library", "server.address", "reason", "calls"}]},
//   "pricing": {"calls", "priced_calls", "unpriced_calls", "unpriced_share",
//               "unpriced_models": [{"gen_ai.provider.name", "model", "calls"}]},
//   "fleet": {"agents": [{"node", "agent_version", "last_heartbeat" (RFC 3339 or null), "stale"
//              (no heartbeat in the last 3 heartbeat intervals, default 60 s), "ringbuf_drops",
//              "uncopied_bytes", "parse_errors", "attach_failures", "spool_dropped_events" (gap records in
//              the range), "heartbeats" (in the range), "incomplete", "reasons": [...]}] (agents seen at or
//              after `from`; agents_reporting: those with a heartbeat in the range), "agents_reporting", "agents_stale",
//              "incomplete_nodes": [...]}}
//   VIS = {"calls", "exact", "estimated", "none", "connection_only", "exact_share", "estimated_share",
//          "none_share", "connection_only_share"}: exact = usage source response|stream|header and
//          visibility plaintext; connection_only = visibility connection_only (a call we could not read).
//
// focus: {"focus_version": "1.4", "columns": [...], "rows": [[...], ...]} (one row per UTC day ×
//   provider × model × owner × namespace × workload × key fingerprint × custom dimensions × token kind;
//   see focus.h for the columns). As JSON it keeps the row cap; as CSV (focus.h: focus_csv) it streams.
nlohmann::json run_report(Store& store, const std::string& name, const ReportQuery& query);

// The checks run_report makes of a query that parse_query did not (range order, limit, dimensions).
// Throws BadReportQuery.
void check_query(const ReportQuery& query);

// The distinct owners of the calls (raw and rolled up) of [from, to), sorted, at most `limit`: the
// choices of the dashboard's owner filter.
std::vector<std::string> owners(Store& store, std::uint64_t from_unix_nano, std::uint64_t to_unix_nano,
                                std::size_t limit = 1000);

// RFC 4180 CSV of a report: showback rows, shadow findings, coverage's visibility rows (one line per
// scope: overall, node, namespace, executable), FOCUS rows. A header line first; strings quoted when
// needed; cells starting with = + - @ are prefixed with ' (CSV injection).
std::string to_csv(const nlohmann::json& report);
// One CSV record (with its CRLF) of an array of cells, formatted as to_csv formats them.
std::string csv_record(const nlohmann::json& cells);

}  // namespace shadowmeter::collector::reports
