// Coverage panels: how many readable AI calls were seen exactly, estimated or without usage, and how
// many connections (never counted as calls) could not be read at all; cost allocation to owners; pricing gaps; blind spots; and the agents' health.
#include "dashboard/charts.h"
#include "dashboard/html.h"
#include "dashboard/page.h"
#include "dashboard/palette.h"
#include "dashboard/sections.h"

namespace shadowmeter::collector::dashboard {
namespace {

struct VisClass {
  const char* key;  // VIS field of the calls
  const char* label;
  const char* colour;
  const char* metric;  // data-metric of the share
};

constexpr VisClass kVisClasses[] = {
    {"exact", "Exact usage", palette::kExact, "coverage-exact-share"},
    {"estimated", "Estimated tokens", palette::kEstimated, "coverage-estimated-share"},
    {"none", "No usage", palette::kNone, "coverage-none-share"},
};

std::string uint_list(const json& j, std::string_view key) {
  std::string out;
  for (const json& v : array(j, key)) {
    if (!out.empty()) out += ", ";
    out += v.is_string() ? v.get<std::string>() : v.dump();
  }
  return out;
}

}  // namespace

std::string coverage_cards(const json& c, std::string_view src) {
  std::string out = "<div class=\"cards\">";
  out += card("Exact usage share",
              figure("coverage-exact-share", src, c, "/visibility/overall/exact_share", Kind::share),
              "calls whose tokens the provider reported");
  out += card("Blind connections",
              figure("coverage-blind-connections", src, c, "/visibility/overall/blind_connections", Kind::count),
              "connections to AI hosts we could not read (each may hold any number of calls)");
  out += card("Allocated spend",
              figure("allocated-share", src, c, "/allocation/allocated_share", Kind::share), "with an owner");
  out += card("Agents reporting", figure("agents-reporting", src, c, "/fleet/agents_reporting", Kind::count));
  out += card("Agents stale", figure("agents-stale", src, c, "/fleet/agents_stale", Kind::count),
              "no recent heartbeat");
  return out + "</div>";
}

std::string visibility_breakdown(const json& c, std::string_view src) {
  std::vector<Segment> segs;
  for (const VisClass& v : kVisClasses) {
    const std::string base = "/visibility/overall/";
    segs.push_back(
        {v.label,
         number(field(field(field(c, "visibility"), "overall"), std::string(v.key) + "_share")).value_or(0),
         v.colour,
         figure(v.metric, src, c, base + v.key + "_share", Kind::share) + " (" +
             figure(std::string("coverage-") + v.key + "-calls", src, c, base + v.key, Kind::count) +
             " calls)"});
  }
  return "<p>" + figure("coverage-calls", src, c, "/visibility/overall/calls", Kind::count) +
         " readable AI calls in the range, by what we could read of them; besides, " +
         figure("coverage-blind-connections-text", src, c, "/visibility/overall/blind_connections", Kind::count) +
         " connections to AI hosts could not be read at all (how many calls they held is unknown).</p>" +
         share_bar(segs, "Share of readable calls by usage visibility");
}

std::string allocation_breakdown(const json& c, std::string_view src, std::size_t limit) {
  const json* a = field(c, "allocation");
  const double allocated = number(field(a, "allocated_share")).value_or(0);
  const double total = number(field(a, "total_cost_usd")).value_or(0);
  std::string out = "<p>Estimated spend " +
                    figure("allocation-total-cost-usd", src, c, "/allocation/total_cost_usd", Kind::money) +
                    ", of which unallocated " +
                    figure("unallocated-cost-usd", src, c, "/allocation/unallocated_cost_usd", Kind::money) +
                    ".</p>";
  if (total > 0)
    out += share_bar(
        {{"Allocated to an owner", allocated, palette::kAllocated,
          figure("allocated-share", src, c, "/allocation/allocated_share", Kind::share) + " (" +
              figure("allocated-cost-usd", src, c, "/allocation/allocated_cost_usd", Kind::money) + ")"},
         {"Unallocated", 1.0 - allocated, palette::kUnallocated,
          figure("unallocated-cost-usd", src, c, "/allocation/unallocated_cost_usd", Kind::money)}},
        "Share of estimated spend allocated to an owner");
  const json& unowned = array(a, "unowned_workloads");
  if (unowned.empty()) return out;
  out +=
      "<h3>Workloads without an owner</h3><div class=\"table-wrap\"><table><thead><tr><th>Workload</th>"
      "<th>Namespace</th><th>Node</th><th class=\"num\">Calls</th><th class=\"num\">Est. "
      "cost</th></tr></thead>"
      "<tbody>";
  std::size_t shown = 0;
  for (; shown < unowned.size() && shown < limit; ++shown) {
    const json& w = unowned[shown];
    const std::string ptr = pointer_join("/allocation/unowned_workloads", shown);
    out += "<tr><td>" + esc(key_label(w, "workload")) + "</td><td>" +
           esc(key_label(w, "k8s.namespace.name")) + "</td><td>" + esc(key_label(w, "node")) +
           "</td><td class=\"num\">" + figure("unowned-calls", src, c, ptr + "/calls", Kind::count) +
           "</td><td class=\"num\">" + figure("unowned-cost-usd", src, c, ptr + "/cost_usd", Kind::money) +
           "</td></tr>";
  }
  return out + "</tbody></table></div>" + cut_note(shown, unowned.size());
}

std::string pricing_breakdown(const json& c, std::string_view src, std::size_t limit) {
  std::string out = "<p>" + figure("unpriced-share", src, c, "/pricing/unpriced_share", Kind::share) +
                    " of calls (" +
                    figure("pricing-unpriced-calls", src, c, "/pricing/unpriced_calls", Kind::count) +
                    ") had no price: their cost is not in the totals.</p>";
  const json& models = array(field(c, "pricing"), "unpriced_models");
  if (models.empty()) return out;
  out +=
      "<div class=\"table-wrap\"><table><thead><tr><th>Provider</th><th>Model</th><th "
      "class=\"num\">Calls</th>"
      "</tr></thead><tbody>";
  std::size_t shown = 0;
  for (; shown < models.size() && shown < limit; ++shown) {
    const json& m = models[shown];
    out += "<tr><td>" + esc(key_label(m, "gen_ai.provider.name")) + "</td><td>" + esc(key_label(m, "model")) +
           "</td><td class=\"num\">" +
           figure("unpriced-model-calls", src, c, pointer_join("/pricing/unpriced_models", shown) + "/calls",
                  Kind::count) +
           "</td></tr>";
  }
  return out + "</tbody></table></div>" + cut_note(shown, models.size());
}

std::string blind_spots(const json& c, std::string_view src, std::size_t limit) {
  const json& spots = array(field(c, "visibility"), "blind_spots");
  if (spots.empty()) return no_data("No blind spots: every AI connection in this range was readable.");
  std::string out =
      "<div class=\"table-wrap\"><table><thead><tr><th>Node</th><th>Namespace</th><th>Executable</th>"
      "<th>TLS library</th><th>Host</th><th>Reason</th><th class=\"num\">Connections</th>"
      "<th class=\"num\">Bytes sent</th><th class=\"num\">Bytes received</th>"
      "<th class=\"num\">Readable calls, same executable</th></tr></thead><tbody>";
  std::size_t shown = 0;
  for (; shown < spots.size() && shown < limit; ++shown) {
    const json& b = spots[shown];
    out += "<tr><td>" + esc(key_label(b, "node")) + "</td><td>" + esc(key_label(b, "k8s.namespace.name")) +
           "</td><td>" + esc(key_label(b, "process.executable.name")) + "</td><td>" +
           esc(key_label(b, "shadowmeter.tls.library")) + "</td><td>" + esc(key_label(b, "server.address")) +
           "</td><td>" + esc(key_label(b, "reason")) + "</td><td class=\"num\">" +
           figure("blind-spot-connections", src, c, pointer_join("/visibility/blind_spots", shown) + "/connections",
                  Kind::count) +
           "</td><td class=\"num\">" +
           figure("blind-spot-bytes-sent", src, c, pointer_join("/visibility/blind_spots", shown) + "/bytes_sent",
                  Kind::count) +
           "</td><td class=\"num\">" +
           figure("blind-spot-bytes-received", src, c,
                  pointer_join("/visibility/blind_spots", shown) + "/bytes_received", Kind::count) +
           "</td><td class=\"num\">" +
           figure("blind-spot-readable-calls", src, c,
                  pointer_join("/visibility/blind_spots", shown) + "/plaintext_calls_same_executable", Kind::count) +
           "</td></tr>";
  }
  return out + "</tbody></table></div>" + cut_note(shown, spots.size());
}

std::string visibility_table(const json& c, std::string_view src, const std::string& scope,
                             const std::string& key, std::size_t limit) {
  const json& rows = array(field(c, "visibility"), scope);
  if (rows.empty()) return no_data();
  std::string out =
      "<div class=\"table-wrap\"><table><thead><tr><th>" + esc(key) +
      "</th><th class=\"num\">Readable calls</th><th class=\"num\">Exact</th><th class=\"num\">Estimated</th>"
      "<th class=\"num\">No usage</th><th class=\"num\">Blind connections</th></tr></thead><tbody>";
  std::size_t shown = 0;
  for (; shown < rows.size() && shown < limit; ++shown) {
    const std::string ptr = pointer_join("/visibility/" + scope, shown);
    out += "<tr><td>" + esc(key_label(rows[shown], key)) + "</td><td class=\"num\">" +
           figure("vis-calls", src, c, ptr + "/calls", Kind::count) + "</td>";
    for (const char* k : {"exact_share", "estimated_share", "none_share"})
      out += "<td class=\"num\">" + figure("vis-share", src, c, ptr + "/" + k, Kind::share) + "</td>";
    out += "<td class=\"num\">" + figure("vis-blind-connections", src, c, ptr + "/blind_connections", Kind::count) +
           "</td></tr>";
  }
  return out + "</tbody></table></div>" + cut_note(shown, rows.size());
}

std::string fleet_health(const json& c, std::string_view src, std::size_t limit) {
  const json& agents = array(field(c, "fleet"), "agents");
  std::string out = "<p>" + figure("agents-reporting", src, c, "/fleet/agents_reporting", Kind::count) +
                    " agents reporting, " +
                    figure("agents-stale", src, c, "/fleet/agents_stale", Kind::count) + " stale.</p>";
  if (agents.empty()) return out + no_data("No agent has reported.");
  out +=
      "<div class=\"table-wrap\"><table><thead><tr><th>Node</th><th>Version</th><th>Last heartbeat</th>"
      "<th>Status</th><th class=\"num\">Ring buffer drops</th><th class=\"num\">Uncopied bytes</th>"
      "<th class=\"num\">Parse errors</th><th class=\"num\">Attach failures</th>"
      "<th class=\"num\">Spool drops</th></tr></thead><tbody>";
  std::size_t shown = 0;
  for (; shown < agents.size() && shown < limit; ++shown) {
    const json& a = agents[shown];
    const std::string ptr = pointer_join("/fleet/agents", shown);
    const json* stale = field(a, "stale");
    const json* incomplete = field(a, "incomplete");
    std::string status;
    if (stale && stale->is_boolean() && stale->get<bool>()) status += "<span class=\"tag bad\">stale</span> ";
    if (incomplete && incomplete->is_boolean() && incomplete->get<bool>())
      status += "<span class=\"tag bad\">incomplete</span> ";
    if (status.empty()) status = "<span class=\"tag ok\">ok</span>";
    const std::string reasons = uint_list(a, "reasons");
    if (!reasons.empty()) status += " <span class=\"sub\">" + esc(reasons) + "</span>";
    const std::string hb = text(a, "last_heartbeat");
    out += "<tr><td>" + esc(key_label(a, "node")) + "</td><td>" + esc(key_label(a, "agent_version")) +
           "</td><td>" + esc(hb.empty() ? "never" : hb) + "</td><td>" + status + "</td>";
    for (const auto& [k, m] : {std::pair{"ringbuf_drops", "agent-ringbuf-drops"},
                               std::pair{"uncopied_bytes", "agent-uncopied-bytes"},
                               std::pair{"parse_errors", "agent-parse-errors"},
                               std::pair{"attach_failures", "agent-attach-failures"},
                               std::pair{"spool_dropped_events", "agent-spool-dropped-events"}})
      out += "<td class=\"num\">" + figure(m, src, c, ptr + "/" + k, Kind::count) + "</td>";
    out += "</tr>";
  }
  return out + "</tbody></table></div>" + cut_note(shown, agents.size());
}

}  // namespace shadowmeter::collector::dashboard
