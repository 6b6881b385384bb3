// `report NAME --format html`: one report's JSON as a standalone page (same look as the dashboard).
#include "dashboard/charts.h"
#include "dashboard/dashboard.h"
#include "dashboard/html.h"
#include "dashboard/page.h"
#include "dashboard/sections.h"

namespace shadowmeter::collector::dashboard {
namespace {

constexpr std::size_t kPageRows = 5000;  // a bigger list belongs in the CSV / JSON export

std::string showback_page(const json& r) {
  const std::string src = "showback";
  std::string body = showback_cards(r, src) + "<div class=\"grid\">";
  const json& dims = array(r, "group_by");
  const std::string gran = text(r, "granularity");
  if (gran != "total" && !gran.empty() && !dims.empty() && dims[0].is_string())
    body += panel("Estimated spend over time by " + dims[0].get<std::string>(),
                  spend_over_time(r, src, dims[0].get<std::string>()), true);
  body += panel("Showback", showback_table(r, src, kPageRows), true);
  body += panel("By model tier", model_tiers(r, src));
  body += panel("Top movers against the previous period", top_movers(r, src, 20));
  return body + "</div>";
}

std::string shadow_page(const json& r) {
  const std::string src = "shadow";
  return shadow_cards(r, src) + "<div class=\"grid\">" +
         panel("Top shadow AI workloads", top_shadow_workloads(r, src, 10), true) +
         panel("Findings", shadow_findings_table(r, src, kPageRows), true) + "</div>";
}

std::string coverage_page(const json& r) {
  const std::string src = "coverage";
  return coverage_cards(r, src) + "<div class=\"grid\">" +
         panel("What we could read", visibility_breakdown(r, src)) +
         panel("Cost allocation", allocation_breakdown(r, src, 100)) +
         panel("Pricing coverage", pricing_breakdown(r, src, 100)) +
         panel("Blind spots", blind_spots(r, src, 100)) +
         panel("By node", visibility_table(r, src, "by_node", "node", 500), true) +
         panel("By namespace", visibility_table(r, src, "by_namespace", "k8s.namespace.name", 500), true) +
         panel("By executable", visibility_table(r, src, "by_executable", "process.executable.name", 500),
               true) +
         panel("Fleet health", fleet_health(r, src, 2000), true) + "</div>";
}

std::string cell(const json& v) {
  if (v.is_null()) return "";
  return esc(v.is_string() ? v.get<std::string>() : v.dump(-1, ' ', false, json::error_handler_t::replace));
}

std::string focus_page(const json& r) {
  const json& cols = array(r, "columns");
  const json& rows = array(r, "rows");
  std::string body = "<p>FOCUS " + esc(text(r, "focus_version")) + " cost and usage rows (" +
                     esc(count(static_cast<double>(rows.size()))) +
                     "). Billed and list costs here are the agents' estimates.</p>";
  if (rows.empty()) return body + no_data();
  body += "<div class=\"table-wrap\"><table><thead><tr>";
  for (const json& c : cols) body += "<th>" + cell(c) + "</th>";
  body += "</tr></thead><tbody>";
  std::size_t shown = 0;
  for (; shown < rows.size() && shown < kPageRows; ++shown) {
    body += "<tr>";
    if (rows[shown].is_array())
      for (const json& v : rows[shown]) body += "<td>" + cell(v) + "</td>";
    body += "</tr>";
  }
  return body + "</tbody></table></div>" + cut_note(shown, rows.size());
}

}  // namespace

std::string render_report_html(const json& report) {
  const std::string name = text(report, "report");
  std::string body;
  if (name == "showback")
    body = showback_page(report);
  else if (name == "shadow")
    body = shadow_page(report);
  else if (name == "coverage")
    body = coverage_page(report);
  else if (name == "focus")
    body = focus_page(report);
  else
    body = "<pre>" + esc(report.dump(2, ' ', false, json::error_handler_t::replace)) + "</pre>";
  const std::string owner = text(report, "owner");
  std::string sub = esc(text(report, "from")) + " to " + esc(text(report, "to")) + " (UTC)";
  sub += owner.empty() ? " \u00b7 all owners" : " \u00b7 owner " + esc(owner);
  return page("Shadowmeter " + (name.empty() ? std::string("report") : name) + " report", sub, body,
              text(report, "generated_at"));
}

}  // namespace shadowmeter::collector::dashboard
