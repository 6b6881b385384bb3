// Fleet health for the coverage report: each agent seen in or after the range, its last heartbeat,
// and what it lost within the range. Heartbeat counters are cumulative since the agent started
// (shadowmeter.agent.start_time_unix_nano), so the loss of a range is summed per agent run: a run
// that started within the range counts its last value, a run already going at `from` the growth
// between its first and last heartbeat of the range.
#include <map>
#include <string>

#include "reports/facts.h"
#include "reports/metrics.h"
#include "reports/report_parts.h"
#include "reports/time_text.h"

namespace shadowmeter::collector::reports {
namespace {

struct Counter {
  const char* name;  // in the report
  const char* attribute;
};
constexpr Counter kCounters[] = {
    {"ringbuf_drops", "shadowmeter.capture.ringbuf_drops"},
    {"uncopied_bytes", "shadowmeter.capture.uncopied_bytes"},
    {"parse_errors", "shadowmeter.capture.parse_errors"},
    {"attach_failures", "shadowmeter.probes.attach_failures"},
};
constexpr std::size_t kNumCounters = sizeof(kCounters) / sizeof(kCounters[0]);

struct Loss {
  std::int64_t counters[kNumCounters] = {};
  std::int64_t heartbeats = 0;
  std::int64_t spool_dropped = 0;
  std::int64_t gap_records = 0;
};

std::map<std::string, Loss> losses(Store& store, const ReportQuery& q) {
  const sql::Dialect d = store.dialect();
  std::map<std::string, Loss> by_host;
  SqlText h;
  h << "SELECT host_name, run, COUNT(*)";
  for (std::size_t i = 0; i < kNumCounters; ++i)
    h << ", MIN(c" << std::to_string(i) << "), MAX(c" << std::to_string(i) << ")";
  h << " FROM (SELECT host_name, " << json_number(d, "attributes", "shadowmeter.agent.start_time_unix_nano")
    << " AS run";
  for (std::size_t i = 0; i < kNumCounters; ++i)
    h << ", " << json_number(d, "attributes", kCounters[i].attribute) << " AS c" << std::to_string(i);
  h << " FROM heartbeats WHERE host_name IS NOT NULL AND time_unix_nano >= ";
  h.bind(sql_time(q.from_unix_nano)) << " AND time_unix_nano < ";
  h.bind(sql_time(q.to_unix_nano)) << ") hb GROUP BY 1, 2 LIMIT 100001";
  for (const sql::Row& r : store.report_rows(h.text, h.params)) {
    const auto host = sql::as_text(r[0]);
    if (!host) continue;
    Loss& l = by_host[*host];
    l.heartbeats += int_of(r[2]);
    const auto run_start = sql::as_double(r[1]);
    const bool started_in_range = run_start && *run_start >= static_cast<double>(q.from_unix_nano);
    for (std::size_t i = 0; i < kNumCounters; ++i) {
      const std::int64_t lo = int_of(r[3 + 2 * i]);
      const std::int64_t hi = int_of(r[4 + 2 * i]);
      l.counters[i] += started_in_range ? hi : hi - lo;
    }
  }
  SqlText g;
  g << "SELECT host_name, COALESCE(SUM(dropped_events), 0), COUNT(*) FROM gaps WHERE host_name IS NOT NULL AND "
       "time_unix_nano >= ";
  g.bind(sql_time(q.from_unix_nano)) << " AND time_unix_nano < ";
  g.bind(sql_time(q.to_unix_nano)) << " GROUP BY 1 LIMIT 100001";
  for (const sql::Row& r : store.report_rows(g.text, g.params)) {
    const auto host = sql::as_text(r[0]);
    if (!host) continue;
    by_host[*host].spool_dropped += int_of(r[1]);
    by_host[*host].gap_records += int_of(r[2]);
  }
  return by_host;
}

}  // namespace

void fleet_health(Store& store, const ReportQuery& q, nlohmann::json& out) {
  const std::map<std::string, Loss> by_host = losses(store, q);
  SqlText a;
  a << "SELECT host_name, agent_version, last_heartbeat_unix_nano FROM agents WHERE last_seen_unix_nano >= ";
  a.bind(sql_time(q.from_unix_nano)) << " ORDER BY host_name LIMIT ";
  a.bind(static_cast<std::int64_t>(q.limit));
  const std::uint64_t stale_after = 3 * q.heartbeat_interval_seconds * kSecondNs;

  nlohmann::json agents = nlohmann::json::array();
  nlohmann::json incomplete_nodes = nlohmann::json::array();
  std::int64_t reporting = 0, stale_count = 0;
  for (const sql::Row& r : store.report_rows(a.text, a.params)) {
    const std::string host = sql::as_text(r[0]).value_or("");
    const auto last = sql::as_int(r[2]);
    const auto it = by_host.find(host);
    const Loss loss = it == by_host.end() ? Loss{} : it->second;
    const bool stale = !last || q.now_unix_nano < static_cast<std::uint64_t>(*last) ||
                       q.now_unix_nano - static_cast<std::uint64_t>(*last) > stale_after;
    nlohmann::json agent = {{"node", host},
                            {"agent_version", text_or_null(r[1])},
                            {"last_heartbeat", last ? nlohmann::json(rfc3339(static_cast<std::uint64_t>(*last)))
                                                    : nlohmann::json(nullptr)},
                            {"stale", stale},
                            {"heartbeats", loss.heartbeats}};
    nlohmann::json reasons = nlohmann::json::array();
    if (!last) {
      reasons.push_back("no heartbeat ever received");
    } else if (stale) {
      reasons.push_back("stale: last heartbeat " + rfc3339(static_cast<std::uint64_t>(*last)));
    }
    static const char* const kWhy[] = {"ring buffer dropped %d events", "%d bytes of exchanges not copied",
                                       "%d parse errors", "%d probe attach failures"};
    for (std::size_t i = 0; i < kNumCounters; ++i) {
      const std::int64_t n = std::max<std::int64_t>(loss.counters[i], 0);
      agent[kCounters[i].name] = n;
      if (n > 0) {
        std::string why = kWhy[i];
        why.replace(why.find("%d"), 2, std::to_string(n));
        reasons.push_back(why);
      }
    }
    agent["spool_dropped_events"] = loss.spool_dropped;
    if (loss.spool_dropped > 0 || loss.gap_records > 0)
      reasons.push_back("spool dropped " + std::to_string(loss.spool_dropped) + " events (" +
                        std::to_string(loss.gap_records) + " gap records)");
    const bool incomplete = !reasons.empty();
    agent["incomplete"] = incomplete;
    agent["reasons"] = std::move(reasons);
    if (incomplete) incomplete_nodes.push_back(host);
    if (loss.heartbeats > 0) ++reporting;
    if (stale) ++stale_count;
    agents.push_back(std::move(agent));
  }
  out["fleet"] = {{"agents", std::move(agents)},
                  {"agents_reporting", reporting},
                  {"agents_stale", stale_count},
                  {"incomplete_nodes", std::move(incomplete_nodes)}};
}

}  // namespace shadowmeter::collector::reports
