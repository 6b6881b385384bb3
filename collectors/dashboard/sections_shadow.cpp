// Shadow-AI panels: headline figures, top shadow workloads, the findings.
#include "dashboard/charts.h"
#include "dashboard/html.h"
#include "dashboard/page.h"
#include "dashboard/palette.h"
#include "dashboard/sections.h"

namespace shadowmeter::collector::dashboard {
namespace {

// What runs the calls: the workload, else the executable, with the namespace when known.
std::string who(const json& f) {
  std::string w = text(f, "workload");
  if (w.empty()) w = text(f, "process.executable.name");
  if (w.empty()) w = "(unknown workload)";
  const std::string ns = text(f, "k8s.namespace.name");
  return ns.empty() ? w : ns + "/" + w;
}

}  // namespace

std::string shadow_cards(const json& s, std::string_view src) {
  std::string out = "<div class=\"cards\">";
  out += card("Shadow AI findings", figure("shadow-findings", src, s, "/totals/findings", Kind::count));
  out += card("New findings", figure("shadow-new-findings", src, s, "/totals/new_findings", Kind::count),
              "first seen in this range");
  out += card("Shadow calls", figure("shadow-calls", src, s, "/totals/calls", Kind::count));
  out += card("Shadow spend", figure("shadow-cost-usd", src, s, "/totals/cost_usd", Kind::money),
              "estimated list price");
  return out + "</div>";
}

std::string top_shadow_workloads(const json& s, std::string_view src, std::size_t limit) {
  const json& findings = array(s, "findings");
  std::vector<Bar> bars;
  for (std::size_t i = 0; i < findings.size() && i < limit; ++i) {
    const json& f = findings[i];
    const std::string ptr = pointer_join("/findings", i);
    std::string label = who(f) + " \u2192 " + key_label(f, "gen_ai.provider.name");
    const std::string host = text(f, "server.address");
    if (!host.empty()) label += " (" + host + ")";
    bars.push_back({label, number(f, "cost_usd").value_or(0),
                    figure("finding-cost-usd", src, s, ptr + "/cost_usd", Kind::money) +
                        " <span class=\"sub\">" +
                        figure("finding-calls", src, s, ptr + "/calls", Kind::count) + " calls</span>",
                    palette::kConnectionOnly});
  }
  if (bars.empty()) return no_data("No shadow AI calls in this range.");
  return horizontal_bars(bars, "Top shadow AI workloads by estimated spend") +
         cut_note(bars.size(), findings.size());
}

std::string shadow_findings_table(const json& s, std::string_view src, std::size_t limit) {
  const json& findings = array(s, "findings");
  if (findings.empty()) return no_data("No shadow AI calls in this range.");
  std::string out =
      "<div class=\"table-wrap\"><table><thead><tr><th>Workload</th><th>Provider</th><th>Host</th>"
      "<th>Key fingerprint</th><th>Reason</th><th>First seen</th><th>Last seen</th><th>Nodes</th>"
      "<th class=\"num\">Calls</th><th class=\"num\">Est. cost</th></tr></thead><tbody>";
  std::size_t shown = 0;
  for (; shown < findings.size() && shown < limit; ++shown) {
    const json& f = findings[shown];
    const std::string ptr = pointer_join("/findings", shown);
    std::string nodes;
    for (const json& n : array(f, "nodes")) {
      if (!nodes.empty()) nodes += ", ";
      nodes += n.is_string() ? n.get<std::string>() : n.dump();
    }
    const json* is_new = field(f, "new");
    out += "<tr><td>" + esc(who(f));
    if (is_new && is_new->is_boolean() && is_new->get<bool>()) out += " <span class=\"tag new\">new</span>";
    out += "</td><td>" + esc(key_label(f, "gen_ai.provider.name")) + "</td><td>" +
           esc(key_label(f, "server.address")) + "</td><td>" +
           esc(key_label(f, "shadowmeter.api_key.fingerprint")) + "</td><td>" + esc(key_label(f, "reason")) +
           "</td><td>" + esc(text(f, "first_seen")) + "</td><td>" + esc(text(f, "last_seen")) + "</td><td>" +
           esc(nodes) + "</td><td class=\"num\">" +
           figure("finding-calls", src, s, ptr + "/calls", Kind::count) + "</td><td class=\"num\">" +
           figure("finding-cost-usd", src, s, ptr + "/cost_usd", Kind::money) + "</td></tr>";
  }
  return out + "</tbody></table></div>" + cut_note(shown, findings.size());
}

}  // namespace shadowmeter::collector::dashboard
