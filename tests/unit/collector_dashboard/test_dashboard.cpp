// The dashboard page and the report pages rendered from fixture report JSON: every checked figure
// equals the JSON it points at, hostile labels stay text, empty data gives empty states, the markup
// (and each SVG) is well-formed, and nothing refers outside the page.
#include <catch2/catch.hpp>
#include <map>
#include <regex>
#include <string>

#include "collector_dashboard/dashboard_fixture.h"
#include "collector_dashboard/xml_check.h"
#include "dashboard/dashboard.h"

using namespace shadowmeter::collector::dashboard;
using nlohmann::json;
namespace t = shadowmeter::testing;

namespace {

DashboardInput fixture_input() {
  DashboardInput in;
  in.showback_by_owner_day = t::showback_by_owner_day_fixture();
  in.showback_by_model = t::showback_by_model_fixture();
  in.shadow = t::shadow_fixture();
  in.coverage = t::coverage_fixture();
  in.owners = {"team-a", "<script>alert(1)</script>"};
  in.generated_at = "2026-11-23T12:00:01Z";
  return in;
}

struct Figure {
  std::string metric, source, pointer, value, text;
};

std::string unescape(std::string s) {
  const std::pair<const char*, const char*> entities[] = {
      {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}, {"&amp;", "&"}};
  for (const auto& [from, to] : entities)
    for (std::size_t at = 0; (at = s.find(from, at)) != std::string::npos; at += std::string_view(to).size())
      s.replace(at, std::string_view(from).size(), to);
  return s;
}

std::vector<Figure> figures(const std::string& page) {
  static const std::regex re(
      R"re(<span class="fig" data-metric="([^"]*)" data-source="([^"]*)" data-pointer="([^"]*)" data-value="([^"]*)">([^<]*)</span>)re");
  std::vector<Figure> out;
  for (auto it = std::sregex_iterator(page.begin(), page.end(), re); it != std::sregex_iterator(); ++it)
    out.push_back({(*it)[1], (*it)[2], unescape((*it)[3]), unescape((*it)[4]), unescape((*it)[5])});
  return out;
}

std::string exact_json(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

std::size_t count_of(const std::string& hay, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = 0; (at = hay.find(needle, at)) != std::string::npos; at += needle.size()) ++n;
  return n;
}

const Figure* find_metric(const std::vector<Figure>& figs, const std::string& metric) {
  for (const Figure& f : figs)
    if (f.metric == metric) return &f;
  return nullptr;
}

}  // namespace

TEST_CASE("every figure on the dashboard is the JSON value it points at") {
  const DashboardInput in = fixture_input();
  const std::string page = render_dashboard(in);
  const std::map<std::string, const json*> sources = {{"showback_by_owner_day", &in.showback_by_owner_day},
                                                      {"showback_by_model", &in.showback_by_model},
                                                      {"shadow", &in.shadow},
                                                      {"coverage", &in.coverage}};
  const auto figs = figures(page);
  REQUIRE(figs.size() >= 40);
  // The regex must see every figure element (else a changed layout would silently check fewer).
  REQUIRE(figs.size() == count_of(page, "class=\"fig\""));
  for (const Figure& f : figs) {
    INFO(f.metric << " " << f.source << " " << f.pointer);
    REQUIRE(sources.count(f.source) == 1);
    const json& report = *sources.at(f.source);
    const json::json_pointer p(f.pointer);
    REQUIRE(report.contains(p));
    CHECK(f.value == exact_json(report.at(p)));
    CHECK(f.text != "n/a");
  }
  for (const char* metric :
       {"total-cost-usd", "total-calls", "shadow-findings", "shadow-new-findings", "coverage-exact-share",
        "coverage-estimated-share", "coverage-none-share", "coverage-blind-connections",
        "agents-reporting", "agents-stale", "allocated-share", "unpriced-share", "model-cost-usd",
        "finding-cost-usd", "agent-ringbuf-drops", "tier-cost-share"})
    CHECK(find_metric(figs, metric) != nullptr);
}

TEST_CASE("figures are formatted as the JSON says") {
  const auto figs = figures(render_dashboard(fixture_input()));
  const auto text_of = [&](const std::string& m) {
    const Figure* f = find_metric(figs, m);
    REQUIRE(f != nullptr);
    return f->text;
  };
  const auto value_of = [&](const std::string& m) { return find_metric(figs, m)->value; };
  CHECK(text_of("total-cost-usd") == "$12.35");
  CHECK(value_of("total-cost-usd") == "12.345678");
  CHECK(text_of("total-calls") == "1,234,567");
  CHECK(value_of("total-calls") == "1234567");
  CHECK(text_of("total-input-tokens") == "98,765,432");
  CHECK(text_of("coverage-exact-share") == "75.0%");
  CHECK(value_of("coverage-exact-share") == "0.75");
  CHECK(text_of("coverage-none-share") == "6.2%");  // 6.25 rounds half to even in printf
  CHECK(text_of("coverage-blind-connections") == "3");
  CHECK(text_of("blind-spot-connections") == "3");
  CHECK(text_of("blind-spot-bytes-received") == "8,192");
  CHECK(text_of("unallocated-cost-usd") == "$0.004213");
  CHECK(text_of("cost-per-call-usd") == "$0.00001");
  CHECK(text_of("shadow-findings") == "2");
  CHECK(text_of("agents-stale") == "1");
}

TEST_CASE("labels from agents are escaped everywhere") {
  DashboardInput in = fixture_input();
  in.owner = "\"><script>x()</script>";
  const std::string page = render_dashboard(in);
  CHECK(page.find("<script") == std::string::npos);
  CHECK(page.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
  CHECK(page.find("<b>bold</b>") == std::string::npos);
  CHECK(page.find("claude-&lt;b&gt;bold&lt;/b&gt;") != std::string::npos);
  // The control character in "curl\u0001" is replaced, not copied into the document.
  CHECK(page.find('\x01') == std::string::npos);
  CHECK(page.find("curl\xEF\xBF\xBD") != std::string::npos);
  CHECK(t::xml_problem(page) == "");
}

TEST_CASE("invalid UTF-8 in a label cannot break the document") {
  DashboardInput in = fixture_input();
  in.showback_by_owner_day["rows"][0]["owner"] = std::string("bad\xC3\x28utf8\xED\xA0\x80", 13);
  in.owners.push_back(std::string("\xFF\xFE", 2));
  const std::string page = render_dashboard(in);
  CHECK(page.find("bad\xEF\xBF\xBD(utf8") != std::string::npos);
  CHECK(page.find('\xFF') == std::string::npos);
  CHECK(page.find("\xED\xA0\x80") == std::string::npos);
}

TEST_CASE("the page and each chart are well-formed and self-contained") {
  const std::string page = render_dashboard(fixture_input());
  CHECK(t::xml_problem(page) == "");
  const auto svgs = t::svg_parts(page);
  REQUIRE(svgs.size() >= 5);
  for (const std::string& svg : svgs) {
    INFO(svg.substr(0, 200));
    CHECK(t::xml_problem(svg) == "");
  }
  // The stacked chart has a bar segment per (day, owner) row with a cost, and a legend entry per owner.
  CHECK(count_of(page, "<rect x=") >= 3);
  CHECK(page.find("11-21") != std::string::npos);  // quiet day still on the axis
  // Nothing loaded from anywhere; no script; the CSP is in the page.
  CHECK(page.find("<script") == std::string::npos);
  CHECK(page.find(" src=") == std::string::npos);
  CHECK(page.find("href=") == std::string::npos);
  CHECK(page.find("url(") == std::string::npos);
  CHECK(page.find("@import") == std::string::npos);
  std::size_t at = 0;
  while ((at = page.find("://", at)) != std::string::npos) {
    CHECK(page.compare(at - 4, 26, "http://www.w3.org/2000/svg") == 0);  // the SVG namespace only
    at += 3;
  }
  CHECK(page.find(std::string("content=\"") + "default-src &#39;none&#39;") != std::string::npos);
  CHECK(page.find("not an invoice") != std::string::npos);
  // The filter: a GET form to / with the owners (escaped) and "all".
  CHECK(page.find("<form class=\"filters\" method=\"get\" action=\"/\">") != std::string::npos);
  CHECK(page.find("<option value=\"team-a\">team-a</option>") != std::string::npos);
  CHECK(page.find("value=\"2026-11-20T00:00:00Z\"") != std::string::npos);
}

TEST_CASE("the owner filter stays selected") {
  DashboardInput in = fixture_input();
  in.owner = "team-a";
  in.from = "2026-11-01";
  const std::string page = render_dashboard(in);
  CHECK(page.find("<option value=\"team-a\" selected=\"selected\">team-a</option>") != std::string::npos);
  CHECK(page.find("name=\"from\" inputmode=\"numeric\" size=\"22\" value=\"2026-11-01\"") !=
        std::string::npos);
  in.owner = "not-listed";
  CHECK(render_dashboard(in).find("<option value=\"not-listed\" selected=\"selected\">") !=
        std::string::npos);
}

TEST_CASE("empty reports give empty states, not broken charts") {
  DashboardInput in;
  in.showback_by_owner_day = t::showback_by_owner_day_fixture();
  in.showback_by_owner_day["rows"] = json::array();
  in.showback_by_owner_day["totals"]["calls"] = 0;
  in.showback_by_owner_day["totals"]["cost_usd"] = 0;
  in.showback_by_owner_day["totals"]["cost_per_call_usd"] = nullptr;
  in.showback_by_model = t::showback_by_model_fixture();
  in.showback_by_model["rows"] = json::array();
  in.showback_by_model["model_tiers"] = json::array();
  in.shadow = t::shadow_fixture();
  in.shadow["findings"] = json::array();
  in.coverage = json::object();  // even a report with nothing in it
  const std::string page = render_dashboard(in);
  CHECK(t::xml_problem(page) == "");
  CHECK(count_of(page, "No data in this range.") >= 3);
  CHECK(page.find("No shadow AI calls in this range.") != std::string::npos);
  CHECK(page.find("No agent has reported.") != std::string::npos);
  CHECK(page.find("class=\"chart\"") == std::string::npos);  // no empty chart frame
  const auto figs = figures(page);
  const Figure* per_call = find_metric(figs, "cost-per-call-usd");
  REQUIRE(per_call != nullptr);
  CHECK(per_call->value == "null");
  CHECK(per_call->text == "n/a");
  const Figure* exact = find_metric(figs, "coverage-exact-share");
  REQUIRE(exact != nullptr);
  CHECK(exact->text == "n/a");
  // Wholly absent input (default DashboardInput) renders too.
  CHECK(t::xml_problem(render_dashboard(DashboardInput{})) == "");
}

TEST_CASE("more owners than colours: the rest are grouped, each day's stack is complete") {
  DashboardInput in = fixture_input();
  json rows = json::array();
  for (int i = 0; i < 12; ++i)
    rows.push_back({{"period", "2026-11-21"},
                    {"owner", "owner-" + std::to_string(i)},
                    {"calls", 1},
                    {"cost_usd", 1.0 + i}});
  in.showback_by_owner_day["rows"] = rows;
  const std::string page = render_dashboard(in);
  CHECK(page.find("4 other") != std::string::npos);
  CHECK(page.find("owner-11") != std::string::npos);  // the most expensive has its own colour
  CHECK(page.find("4 other, 2026-11-21: $10.00") != std::string::npos);  // 1+2+3+4
  CHECK(t::xml_problem(page) == "");
}

TEST_CASE("report pages render each report with its figures") {
  const std::map<std::string, json> reports = {{"showback", t::showback_by_owner_day_fixture()},
                                               {"shadow", t::shadow_fixture()},
                                               {"coverage", t::coverage_fixture()}};
  for (const auto& [name, report] : reports) {
    INFO(name);
    const std::string page = render_report_html(report);
    CHECK(t::xml_problem(page) == "");
    CHECK(page.find("<title>Shadowmeter " + name + " report</title>") != std::string::npos);
    CHECK(page.find("not an invoice") != std::string::npos);
    CHECK(page.find("<script") == std::string::npos);
    const auto figs = figures(page);
    REQUIRE(!figs.empty());
    for (const Figure& f : figs) {
      INFO(f.metric << " " << f.pointer);
      CHECK(f.source == name);
      const json::json_pointer p(f.pointer);
      REQUIRE(report.contains(p));
      CHECK(f.value == exact_json(report.at(p)));
    }
  }
  // The showback page lists each row with its period and owner; the chart is drawn per day.
  const std::string showback = render_report_html(t::showback_by_owner_day_fixture());
  CHECK(showback.find("<td>2026-11-22</td><td>(none)</td>") != std::string::npos);
  CHECK(showback.find("class=\"chart\"") != std::string::npos);

  json focus = {{"report", "focus"},
                {"focus_version", "1.2"},
                {"columns", {"BilledCost", "ServiceName"}},
                {"rows", {{0.5, "OpenAI <gpt>"}, {nullptr, "x"}}}};
  const std::string fp = render_report_html(focus);
  CHECK(t::xml_problem(fp) == "");
  CHECK(fp.find("<td>0.5</td><td>OpenAI &lt;gpt&gt;</td>") != std::string::npos);

  const std::string other = render_report_html(json{{"report", "<x>"}, {"a", 1}});
  CHECK(t::xml_problem(other) == "");
  CHECK(other.find("<pre>") != std::string::npos);
}
