#include "server/report_routes.h"

#include <algorithm>
#include <chrono>
#include <map>

#include "dashboard/dashboard.h"
#include "server/query_params.h"
#include "reports/time_text.h"

namespace shadowmeter::collector::detail {
namespace {

std::uint64_t now_unix_nano() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

// The parameters of the query string, each at most once and among `allowed`; throws QueryError.
std::map<std::string, std::string> params_of(const std::string& query_string,
                                             std::initializer_list<const char*> allowed) {
  std::map<std::string, std::string> out;
  for (auto& [key, value] : parse_query_string(query_string)) {
    if (std::none_of(allowed.begin(), allowed.end(), [&key](const char* a) { return key == a; }))
      throw QueryError("unknown parameter '" + key.substr(0, 64) + "'");
    if (!out.emplace(key, std::move(value)).second) throw QueryError("parameter '" + key + "' given twice");
  }
  return out;
}

std::string get(const std::map<std::string, std::string>& p, const char* key) {
  const auto it = p.find(key);
  return it == p.end() ? std::string() : it->second;
}

Reply text_reply(http::status status, const std::string& text) {
  Reply r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = text + "\n";
  return r;
}

}  // namespace

Reply report_reply(const ServerState& state, const std::string& path, const std::string& query_string) {
  const std::string name = path.substr(kReportsPrefix.size());
  const auto& names = reports::report_names();
  if (std::find(names.begin(), names.end(), name) == names.end())
    return api_error(http::status::not_found, "no such report (showback, shadow, coverage, focus)");
  reports::ReportQuery query;
  std::string format;
  try {
    const auto p = params_of(query_string,
                             {"from", "to", "group_by", "granularity", "owner", "since", "limit", "format"});
    format = get(p, "format");
    if (format.empty()) format = name == "focus" ? "csv" : "json";
    if (format != "json" && format != "csv") throw QueryError("format: expected json or csv");
    query = reports::parse_query(get(p, "from"), get(p, "to"), get(p, "group_by"), get(p, "granularity"),
                                 get(p, "owner"), get(p, "since"), now_unix_nano(), get(p, "limit"));
  } catch (const std::invalid_argument& e) {  // QueryError, BadReportQuery
    return api_error(http::status::bad_request, e.what());
  }
  if (name == "focus" && format == "csv" && state.api.focus_csv) {
    try {
      reports::check_query(query);
    } catch (const reports::BadReportQuery& e) {
      return api_error(http::status::bad_request, e.what());
    }
    Reply r;
    r.headers.emplace_back(http::field::cache_control, "no-store");
    r.content_type = "text/csv; charset=utf-8";
    r.headers.emplace_back(http::field::content_disposition,
                           "attachment; filename=\"shadowmeter-focus-" + reports::rfc3339(query.from_unix_nano).substr(0, 10) +
                               "-" + reports::rfc3339(query.to_unix_nano).substr(0, 10) + ".csv\"");
    // Streamed from a row-at-a-time store read: no row cap, bounded memory (kStreamChunkBytes).
    r.stream = [&state, query](const std::function<void(std::string_view)>& write) { state.api.focus_csv(query, write); };
    return r;
  }
  if (!state.api.report) return service_unavailable(state.options, false, "no store");
  nlohmann::json report;
  try {
    report = state.api.report(name, query);
  } catch (const reports::BadReportQuery& e) {
    return api_error(http::status::bad_request, e.what());
  }
  Reply r;
  r.headers.emplace_back(http::field::cache_control, "no-store");
  if (format == "csv") {
    r.content_type = "text/csv; charset=utf-8";
    r.body = reports::to_csv(report);
    // Days only: the file name stays within [0-9A-Za-z-] whatever the query was.
    const std::string from = report.value("from", "").substr(0, 10);
    const std::string to = report.value("to", "").substr(0, 10);
    r.headers.emplace_back(http::field::content_disposition,
                           "attachment; filename=\"shadowmeter-" + name + "-" + from + "-" + to + ".csv\"");
  } else {
    r.body = report.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return r;
}

Reply dashboard_reply(const ServerState& state, const std::string& query_string) {
  DashboardRequest request;
  try {
    const auto p = params_of(query_string, {"from", "to", "owner"});
    request.from = get(p, "from");
    request.to = get(p, "to");
    request.owner = get(p, "owner");
    request.query = reports::parse_query(request.from, request.to, "", "", request.owner, "", now_unix_nano());
  } catch (const std::invalid_argument& e) {
    return text_reply(http::status::bad_request, std::string("bad dashboard query: ") + e.what());
  }
  if (!state.api.dashboard) return text_reply(http::status::service_unavailable, "no dashboard");
  Reply r;
  try {
    r.body = state.api.dashboard(request);
  } catch (const reports::BadReportQuery& e) {
    return text_reply(http::status::bad_request, std::string("bad dashboard query: ") + e.what());
  }
  r.content_type = "text/html; charset=utf-8";
  r.headers.emplace_back(http::field::cache_control, "no-store");
  // The page has no script and loads nothing: the header says so to the browser too (the <meta> copy
  // covers the standalone `--format html` file).
  r.named_headers.emplace_back("Content-Security-Policy", dashboard::kContentSecurityPolicy);
  r.named_headers.emplace_back("X-Content-Type-Options", "nosniff");
  return r;
}

}  // namespace shadowmeter::collector::detail
