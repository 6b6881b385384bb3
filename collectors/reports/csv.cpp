// RFC 4180 CSV of a report's main table (report.h: to_csv).
#include <stdexcept>
#include <string>
#include <vector>

#include "reports/report.h"

namespace shadowmeter::collector::reports {
namespace {

using nlohmann::json;

std::string cell_text(const json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) {
    std::string s = v.get<std::string>();
    // A spreadsheet would run a cell starting with these as a formula (CSV injection).
    if (!s.empty() && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r'))
      s.insert(0, 1, '\'');
    return s;
  }
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_array()) {
    std::string joined;
    for (const json& item : v) joined += (joined.empty() ? "" : ";") + cell_text(item);
    return joined;
  }
  if (v.is_object()) return v.dump(-1, ' ', false, json::error_handler_t::replace);
  return v.dump();  // numbers
}

// Quoted when it holds a separator of any locale's spreadsheet (',' or ';'), a TAB, a quote or a line
// break, or has edge spaces: a ';' left bare would split the cell where ';' is the list separator,
// and the rest of the cell could start with a formula character.
std::string quoted(const std::string& s) {
  if (s.find_first_of(",;\t\"\r\n") == std::string::npos && (s.empty() || (s.front() != ' ' && s.back() != ' ')))
    return s;
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

void line(std::string& out, const std::vector<std::string>& cells) {
  for (std::size_t i = 0; i < cells.size(); ++i) out += (i ? "," : "") + quoted(cells[i]);
  out += "\r\n";
}

// Objects of `rows` under `keys` (missing keys are empty cells).
std::string table(const std::vector<std::string>& keys, const json& rows) {
  std::string out;
  line(out, keys);
  for (const json& row : rows) {
    std::vector<std::string> cells;
    for (const auto& k : keys) cells.push_back(row.contains(k) ? cell_text(row[k]) : "");
    line(out, cells);
  }
  return out;
}

const std::vector<std::string>& metric_keys() {
  static const std::vector<std::string> k = {
      "calls",        "input_tokens", "output_tokens",  "cache_read_tokens", "cache_creation_tokens",
      "reasoning_tokens", "cost_usd", "priced_calls", "unpriced_calls",    "cost_per_call_usd",
      "cost_per_1k_tokens_usd", "pricing_sources"};
  return k;
}

std::string showback_csv(const json& r) {
  std::vector<std::string> keys;
  if (r.value("granularity", "total") != "total") keys.emplace_back("period");
  for (const json& d : r.at("group_by")) keys.push_back(d.get<std::string>());
  for (const auto& k : metric_keys()) keys.push_back(k);
  return table(keys, r.at("rows"));
}

std::string shadow_csv(const json& r) {
  return table({"workload", "k8s.namespace.name", "process.executable.name", "gen_ai.provider.name", "server.address",
                "shadowmeter.api_key.fingerprint", "reason", "first_seen", "last_seen", "nodes", "calls",
                "input_tokens", "output_tokens", "cost_usd", "new"},
               r.at("findings"));
}

std::string coverage_csv(const json& r) {
  const json& v = r.at("visibility");
  json rows = json::array();
  auto add = [&rows](const std::string& scope, const json& name, json vis) {
    vis["scope"] = scope;
    vis["name"] = name;
    rows.push_back(std::move(vis));
  };
  add("overall", nullptr, v.at("overall"));
  for (const json& x : v.at("by_node")) add("node", x.value("node", json()), x);
  for (const json& x : v.at("by_namespace")) add("namespace", x.value("k8s.namespace.name", json()), x);
  for (const json& x : v.at("by_executable")) add("executable", x.value("process.executable.name", json()), x);
  // calls are readable calls; blind_connections are connections (any number of calls each), not calls.
  return table({"scope", "name", "calls", "exact", "estimated", "none", "exact_share", "estimated_share",
                "none_share", "blind_connections"},
               rows);
}

}  // namespace

std::string csv_record(const json& cells) {
  std::vector<std::string> texts;
  texts.reserve(cells.size());
  for (const json& c : cells) texts.push_back(cell_text(c));
  std::string out;
  line(out, texts);
  return out;
}

namespace {
std::string focus_csv(const json& r) {
  std::string out = csv_record(r.at("columns"));
  for (const json& row : r.at("rows")) out += csv_record(row);
  return out;
}
}  // namespace

std::string to_csv(const json& report) {
  const std::string name = report.value("report", "");
  try {
    if (name == "showback") return showback_csv(report);
    if (name == "shadow") return shadow_csv(report);
    if (name == "coverage") return coverage_csv(report);
    if (name == "focus") return focus_csv(report);
  } catch (const json::exception& e) {
    throw std::invalid_argument("to_csv: not a " + name + " report: " + e.what());
  }
  throw std::invalid_argument("to_csv: unknown report '" + name + "'");
}

}  // namespace shadowmeter::collector::reports
