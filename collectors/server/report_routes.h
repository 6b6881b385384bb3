// Internal to the server: GET /api/v1/reports/NAME and the dashboard (GET /), on a query thread.
#pragma once

#include <string>

#include "server/http_session.h"

namespace shadowmeter::collector::detail {

inline constexpr std::string_view kReportsPrefix = "/api/v1/reports/";

// ?from=&to=&group_by=&granularity=&owner=&since=&limit=&format=json|csv (focus defaults to csv).
Reply report_reply(const ServerState& state, const std::string& path, const std::string& query_string);
// ?from=&to=&owner= (default: the last 30 days, all owners).
Reply dashboard_reply(const ServerState& state, const std::string& query_string);

}  // namespace shadowmeter::collector::detail
