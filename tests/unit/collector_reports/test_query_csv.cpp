// parse_query's rules and errors, and the CSV writer (RFC 4180 quoting, CSV-injection guard).
#include <catch2/catch.hpp>

#include "reports/report.h"

namespace reports = shadowmeter::collector::reports;
using nlohmann::json;

namespace {
constexpr std::uint64_t kS = 1000000000ull;
constexpr std::uint64_t kNov1 = 1793491200ull * kS;  // 2026-11-01T00:00:00Z

reports::ReportQuery parse(const std::string& from, const std::string& to, const std::string& group_by = "",
                           const std::string& granularity = "", const std::string& since = "",
                           const std::string& limit = "") {
  return reports::parse_query(from, to, group_by, granularity, "", since, kNov1, limit);
}
}  // namespace

TEST_CASE("parse_query reads times, dimensions, granularity and limits", "[reports]") {
  const auto q = parse("2026-10-01", "2026-11-01T00:00:00Z", "owner,model", "week", "2026-10-15T12:00:00+02:00");
  CHECK(q.from_unix_nano == kNov1 - 31 * 86400 * kS);
  CHECK(q.to_unix_nano == kNov1);
  CHECK(q.group_by == std::vector<std::string>{"owner", "model"});
  CHECK(q.granularity == reports::Granularity::week);
  CHECK(q.since_unix_nano == (kNov1 - 17 * 86400 * kS + 10 * 3600 * kS));  // 10-15 10:00Z
  CHECK(q.now_unix_nano == kNov1);
  CHECK(q.limit == 1000);
  // Defaults: the last 30 days up to now, by owner, total.
  const auto d = parse("", "");
  CHECK(d.to_unix_nano == kNov1);
  CHECK(d.from_unix_nano == kNov1 - 30 * 86400 * kS);
  CHECK(d.group_by == std::vector<std::string>{"owner"});
  CHECK(d.granularity == reports::Granularity::total);
  CHECK_FALSE(d.since_unix_nano);
  CHECK(parse(std::to_string(kNov1 - kS), "", "", "", "", "25").limit == 25);
  CHECK(parse("2026-10-31T23:59:59.5Z", "").from_unix_nano == kNov1 - kS / 2);
}

TEST_CASE("parse_query refuses malformed queries", "[reports]") {
  using reports::BadReportQuery;
  CHECK_THROWS_AS(parse("2026-11-01", "2026-11-01"), BadReportQuery);           // from == to
  CHECK_THROWS_AS(parse("2026-11-02", "2026-11-01"), BadReportQuery);           // from > to
  CHECK_THROWS_AS(parse("2020-01-01", "2026-11-01"), BadReportQuery);           // > 1100 days
  CHECK_THROWS_AS(parse("yesterday", ""), BadReportQuery);
  CHECK_THROWS_AS(parse("2026-02-30", ""), BadReportQuery);                     // no such day
  CHECK_THROWS_AS(parse("2026-10-01T25:00:00Z", ""), BadReportQuery);
  CHECK_THROWS_AS(parse("2026-10-01T10:00:00", ""), BadReportQuery);            // no zone
  CHECK_THROWS_AS(parse("1960-01-01", ""), BadReportQuery);
  CHECK_THROWS_AS(parse("99999999999999999999", ""), BadReportQuery);
  CHECK_THROWS_AS(parse("", "", "owner,color"), BadReportQuery);                // unknown dimension
  CHECK_THROWS_AS(parse("", "", "owner,owner"), BadReportQuery);
  CHECK_THROWS_AS(parse("", "", "owner,"), BadReportQuery);                     // empty dimension
  CHECK_THROWS_AS(parse("", "", "", "hourly"), BadReportQuery);
  CHECK_THROWS_AS(parse("", "", "", "", "soon"), BadReportQuery);
  for (const char* bad : {"0", "100001", "-1", "ten", "1e3"}) {
    INFO(bad);
    CHECK_THROWS_AS(parse("", "", "", "", "", bad), BadReportQuery);
  }
  try {
    parse("", "", "owner,color");
  } catch (const BadReportQuery& e) {
    CHECK(std::string(e.what()).find("color") != std::string::npos);
  }
}

TEST_CASE("to_csv quotes per RFC 4180 and defuses formulas", "[reports]") {
  json report = {{"report", "showback"},
                 {"granularity", "day"},
                 {"group_by", {"owner"}},
                 {"rows",
                  {{{"period", "2026-11-01"},
                    {"owner", "=HYPERLINK(\"http://x\")"},
                    {"calls", 3},
                    {"cost_usd", 0.25},
                    {"cost_per_call_usd", nullptr},
                    {"pricing_sources", {"a", "b"}}},
                   {{"period", "2026-11-01"}, {"owner", "a,b \"c\"\nd"}, {"calls", 1}, {"cost_usd", -0.5}},
                   {{"period", "2026-11-01"}, {"owner", "+1"}, {"calls", 1}},
                   {{"period", "2026-11-01"}, {"owner", "@SUM(A1)"}, {"calls", 1}},
                   {{"period", "2026-11-01"}, {"owner", "-2"}, {"calls", 1}}}}};
  const std::string csv = reports::to_csv(report);
  const std::string header =
      "period,owner,calls,input_tokens,output_tokens,cache_read_tokens,cache_creation_tokens,reasoning_tokens,"
      "cost_usd,priced_calls,unpriced_calls,cost_per_call_usd,cost_per_1k_tokens_usd,pricing_sources\r\n";
  REQUIRE(csv.substr(0, header.size()) == header);
  CHECK(csv.find("2026-11-01,\"'=HYPERLINK(\"\"http://x\"\")\",3,,,,,,0.25,,,,,\"a;b\"\r\n") != std::string::npos);
  CHECK(csv.find("2026-11-01,\"a,b \"\"c\"\"\nd\",1,,,,,,-0.5,") != std::string::npos);  // numbers as they are
  CHECK(csv.find("2026-11-01,'+1,1,") != std::string::npos);
  CHECK(csv.find("2026-11-01,'@SUM(A1),1,") != std::string::npos);
  CHECK(csv.find("2026-11-01,'-2,1,") != std::string::npos);

  CHECK_THROWS_AS(reports::to_csv(json{{"report", "nope"}}), std::invalid_argument);
  CHECK_THROWS_AS(reports::to_csv(json{{"report", "showback"}}), std::invalid_argument);
}

TEST_CASE("to_csv quotes cells with ';' or TAB, which split cells in other locales", "[reports]") {
  json report = {{"report", "showback"},
                 {"granularity", "day"},
                 {"group_by", {"owner"}},
                 {"rows",
                  {{{"period", "2026-11-01"}, {"owner", "x;=1+1"}, {"calls", 1}},
                   {{"period", "2026-11-01"}, {"owner", "a\tb"}, {"calls", 2}},
                   {{"period", "2026-11-01"}, {"owner", "a\rb"}, {"calls", 3}}}}};
  const std::string csv = reports::to_csv(report);
  CHECK(csv.find("2026-11-01,\"x;=1+1\",1,") != std::string::npos);
  CHECK(csv.find("2026-11-01,\"a\tb\",2,") != std::string::npos);
  CHECK(csv.find("2026-11-01,\"a\rb\",3,") != std::string::npos);
}
