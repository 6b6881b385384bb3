// parse_query() and run_report(): the common fields of every report, then the report itself.
#include "reports/report.h"

#include <algorithm>
#include <chrono>
#include <set>

#include "reports/report_parts.h"
#include "reports/time_text.h"

namespace shadowmeter::collector::reports {
namespace {

std::uint64_t time_param(const char* name, const std::string& value) {
  try {
    return parse_time_text(value);
  } catch (const std::exception& e) {
    throw BadReportQuery(std::string(name) + ": " + e.what() + " (got '" + value.substr(0, 64) + "')");
  }
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    const std::size_t comma = std::min(s.find(',', start), s.size());
    out.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

}  // namespace

bool valid_dimension_name(const std::string& name) {
  if (name.empty() || name.size() > 32) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

bool valid_group_by(const std::string& value) {
  const auto& known = showback_dimensions();
  if (std::find(known.begin(), known.end(), value) != known.end()) return true;
  const std::string prefix = kDimensionPrefix;
  return value.rfind(prefix, 0) == 0 && valid_dimension_name(value.substr(prefix.size()));
}

ReportQuery parse_query(const std::string& from, const std::string& to, const std::string& group_by,
                        const std::string& granularity, const std::string& owner, const std::string& since,
                        std::uint64_t now_unix_nano, const std::string& limit) {
  ReportQuery q;
  q.now_unix_nano = now_unix_nano;
  q.to_unix_nano = to.empty() ? now_unix_nano : time_param("to", to);
  constexpr std::uint64_t kThirtyDays = 30 * kDayNs;
  q.from_unix_nano = !from.empty() ? time_param("from", from)
                                   : (q.to_unix_nano > kThirtyDays ? q.to_unix_nano - kThirtyDays : 0);
  if (q.from_unix_nano >= q.to_unix_nano) throw BadReportQuery("from must be before to");
  if (q.to_unix_nano - q.from_unix_nano > kMaxReportDays * kDayNs)
    throw BadReportQuery("the range is longer than " + std::to_string(kMaxReportDays) + " days");
  if (!group_by.empty()) {
    q.group_by.clear();
    std::set<std::string> seen;
    for (const std::string& d : split(group_by)) {
      if (!valid_group_by(d))
        throw BadReportQuery("group_by: unknown dimension '" + d.substr(0, 64) +
                             "' (owner, namespace, workload, node, provider, model, key, environment, or "
                             "dimension.<name> with a name of 1..32 characters a-z 0-9 _)");
      if (!seen.insert(d).second) throw BadReportQuery("group_by: '" + d + "' given twice");
      q.group_by.push_back(d);
    }
  }
  if (granularity.empty() || granularity == "total") {
    q.granularity = Granularity::total;
  } else if (granularity == "day") {
    q.granularity = Granularity::day;
  } else if (granularity == "week") {
    q.granularity = Granularity::week;
  } else if (granularity == "month") {
    q.granularity = Granularity::month;
  } else {
    throw BadReportQuery("granularity: expected total, day, week or month");
  }
  if (owner.size() > 1024) throw BadReportQuery("owner: longer than 1024 bytes");
  q.owner = owner;
  if (!since.empty()) q.since_unix_nano = time_param("since", since);
  if (!limit.empty()) {
    const bool digits = limit.size() <= 6 && std::all_of(limit.begin(), limit.end(), [](char c) {
                          return c >= '0' && c <= '9';
                        });
    const std::size_t n = digits ? std::stoul(limit) : 0;
    if (n < 1 || n > kMaxReportLimit) throw BadReportQuery("limit: expected 1.." + std::to_string(kMaxReportLimit));
    q.limit = n;
  }
  return q;
}

void check_query(const ReportQuery& query) {
  if (query.from_unix_nano >= query.to_unix_nano) throw BadReportQuery("from must be before to");
  if (query.limit < 1 || query.limit > kMaxReportLimit) throw BadReportQuery("limit out of range");
  for (const std::string& d : query.group_by) {
    if (!valid_group_by(d)) throw BadReportQuery("unknown dimension '" + d.substr(0, 64) + "'");
  }
}

nlohmann::json run_report(Store& store, const std::string& name, const ReportQuery& query) {
  const auto& names = report_names();
  if (std::find(names.begin(), names.end(), name) == names.end())
    throw BadReportQuery("unknown report '" + name.substr(0, 64) + "' (showback, shadow, coverage, focus)");
  check_query(query);
  const std::uint64_t generated =
      query.now_unix_nano != 0 ? query.now_unix_nano
                               : static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                                std::chrono::system_clock::now().time_since_epoch())
                                                                .count());
  nlohmann::json out = {{"report", name},
                        {"from", rfc3339(query.from_unix_nano)},
                        {"to", rfc3339(query.to_unix_nano)},
                        {"generated_at", rfc3339(generated)},
                        {"owner", query.owner.empty() ? nlohmann::json(nullptr) : nlohmann::json(query.owner)},
                        {"cost_note", kCostNote}};
  ReportQuery q = query;
  q.now_unix_nano = generated;
  try {
    if (name == "showback") showback_report(store, q, out);
    if (name == "shadow") shadow_report(store, q, out);
    if (name == "coverage") coverage_report(store, q, out);
    if (name == "focus") focus_report(store, q, out);
  } catch (const std::length_error& e) {
    throw BadReportQuery(std::string(e.what()));
  }
  return out;
}

}  // namespace shadowmeter::collector::reports
