// The collector's HTML dashboard (GET /) and the standalone HTML of `report ... --format html`: one
// self-contained page (inline CSS, charts drawn server-side as inline SVG, no script, nothing loaded
// from outside the box), responsive, readable in print. Figures are taken from the reports' JSON
// (collectors/reports/report.h) and never recomputed here, so the page and the API always agree.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace shadowmeter::collector::dashboard {

// The Content-Security-Policy of the pages (sent as a header by GET / and repeated as a meta element in
// the page): no script at all, inline styles, data: images; nothing is loaded from anywhere.
inline constexpr const char* kContentSecurityPolicy =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'";

struct DashboardInput {
  nlohmann::json showback_by_owner_day;  // showback, group_by owner, granularity day
  nlohmann::json showback_by_model;      // showback, group_by provider,model, total (model mix, tiers)
  nlohmann::json shadow;                 // shadow report
  nlohmann::json coverage;               // coverage report
  std::string from;                      // the filter as given (echoed into the form), RFC 3339 or date
  std::string to;
  std::string owner;                // "" = all
  std::vector<std::string> owners;  // choices for the owner filter
  std::string generated_at;         // RFC 3339
};

// The dashboard page: spend over time by owner (stacked bars per day), top shadow workloads, coverage
// breakdown (exact / estimated / none / connection-only, allocation, pricing), model mix, fleet health,
// and a GET form with from / to / owner. Every figure is HTML-escaped; elements carrying figures have
// stable ids / data attributes (data-metric="...") so tests can compare them with the API.
std::string render_dashboard(const DashboardInput& in);

// A standalone page for one report's JSON (report.h shapes), as `report NAME --format html` writes it.
std::string render_report_html(const nlohmann::json& report);

}  // namespace shadowmeter::collector::dashboard
