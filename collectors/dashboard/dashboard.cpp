// GET / : the dashboard page from the four reports the route computed for the filter.
#include "dashboard/dashboard.h"

#include "dashboard/html.h"
#include "dashboard/page.h"
#include "dashboard/sections.h"

namespace shadowmeter::collector::dashboard {
namespace {

constexpr std::size_t kTopRows = 10;
constexpr std::size_t kTableRows = 50;

// The filter: a plain GET form back to "/" (works without script); the range as given, else the range
// the reports used, so submitting it unchanged shows the same page.
std::string filter_form(const DashboardInput& in) {
  const std::string from = in.from.empty() ? text(in.showback_by_owner_day, "from") : in.from;
  const std::string to = in.to.empty() ? text(in.showback_by_owner_day, "to") : in.to;
  std::string out = "<form class=\"filters\" method=\"get\" action=\"/\">";
  out += "<label>From<input type=\"text\" name=\"from\" inputmode=\"numeric\" size=\"22\"" +
         attr("value", from) + " placeholder=\"2026-11-01 or RFC 3339\"/></label>";
  out += "<label>To (exclusive)<input type=\"text\" name=\"to\" inputmode=\"numeric\" size=\"22\"" +
         attr("value", to) + " placeholder=\"2026-12-01 or RFC 3339\"/></label>";
  out += "<label>Owner<select name=\"owner\"><option value=\"\"";
  if (in.owner.empty()) out += " selected=\"selected\"";
  out += ">All owners</option>";
  bool listed = false;
  for (const std::string& o : in.owners) {
    const bool sel = o == in.owner;
    listed = listed || sel;
    out += "<option" + attr("value", o) + (sel ? " selected=\"selected\"" : "") + ">" + esc(o) + "</option>";
  }
  // An owner given in the URL but absent from the choices stays selected (and visible).
  if (!in.owner.empty() && !listed)
    out += "<option" + attr("value", in.owner) + " selected=\"selected\">" + esc(in.owner) + "</option>";
  out += "</select></label><button type=\"submit\">Apply</button></form>";
  return out;
}

std::string subtitle(const json& report, const std::string& owner) {
  std::string s = esc(text(report, "from")) + " to " + esc(text(report, "to")) + " (UTC)";
  s += owner.empty() ? " \u00b7 all owners" : " \u00b7 owner " + esc(owner);
  return s;
}

}  // namespace

std::string render_dashboard(const DashboardInput& in) {
  const json& spend = in.showback_by_owner_day;
  const json& models = in.showback_by_model;
  std::string body = filter_form(in);
  body += showback_cards(spend, "showback_by_owner_day");
  body += shadow_cards(in.shadow, "shadow");
  body += coverage_cards(in.coverage, "coverage");
  body += "<div class=\"grid\">";
  body += panel("Estimated spend over time by owner",
                spend_over_time(spend, "showback_by_owner_day", "owner"), true, "spend");
  body +=
      panel("Top shadow AI workloads", top_shadow_workloads(in.shadow, "shadow", kTopRows), false, "shadow");
  body += panel("Model mix",
                model_mix(models, "showback_by_model", kTopRows) + "<h3>By model tier</h3>" +
                    model_tiers(models, "showback_by_model"),
                false, "models");
  body +=
      panel("Coverage: what we could read", visibility_breakdown(in.coverage, "coverage"), false, "coverage");
  body +=
      panel("Cost allocation", allocation_breakdown(in.coverage, "coverage", kTopRows), false, "allocation");
  body += panel("Pricing coverage", pricing_breakdown(in.coverage, "coverage", kTopRows), false, "pricing");
  body += panel("Blind spots", blind_spots(in.coverage, "coverage", kTopRows), false, "blind-spots");
  body += panel("Fleet health", fleet_health(in.coverage, "coverage", kTableRows), true, "fleet");
  body +=
      panel("Shadow AI findings", shadow_findings_table(in.shadow, "shadow", kTableRows), true, "findings");
  body += "</div>";
  return page("Shadowmeter: AI usage", subtitle(spend, in.owner), body, in.generated_at);
}

}  // namespace shadowmeter::collector::dashboard
