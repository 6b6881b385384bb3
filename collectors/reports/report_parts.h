// Internal to the reports: one function per report, called by run_report() after the common fields.
#pragma once

#include <nlohmann/json.hpp>

#include "reports/report.h"

namespace shadowmeter::collector::reports {

void showback_report(Store& store, const ReportQuery& q, nlohmann::json& out);
void shadow_report(Store& store, const ReportQuery& q, nlohmann::json& out);
void coverage_report(Store& store, const ReportQuery& q, nlohmann::json& out);
void fleet_health(Store& store, const ReportQuery& q, nlohmann::json& out);  // coverage's "fleet"
void focus_report(Store& store, const ReportQuery& q, nlohmann::json& out);

// The share a / b, null when b is 0.
inline nlohmann::json share(double a, double b) {
  if (b == 0) return nullptr;
  return a / b;
}

}  // namespace shadowmeter::collector::reports
