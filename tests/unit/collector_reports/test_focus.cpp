// The FOCUS export over the seeded dataset, checked the way a FinOps tool would take it: the CSV is
// parsed back and held to the FOCUS 1.2 column rules, and its ListCost adds up to the showback total.
#include <cmath>
#include <map>
#include <regex>
#include <set>

#include "report_test_util.h"
#include "reports/focus.h"

using namespace shadowmeter::testing;
using nlohmann::json;

namespace {

// RFC 4180: quoted fields may hold commas, quotes ("") and line breaks; records end with CRLF.
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string cell;
  bool quoted = false, at_start = true;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        cell += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cell += c;
      }
    } else if (c == '"' && at_start) {
      quoted = true;
      at_start = false;
    } else if (c == ',') {
      row.push_back(cell);
      cell.clear();
      at_start = true;
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      row.push_back(cell);
      rows.push_back(row);
      row.clear();
      cell.clear();
      at_start = true;
      ++i;
    } else {
      REQUIRE(c != '\n');  // a bare line break outside quotes is not RFC 4180
      cell += c;
      at_start = false;
    }
  }
  REQUIRE(cell.empty());
  REQUIRE(row.empty());  // the last record ends with CRLF
  return rows;
}

bool is_decimal(const std::string& s) { return std::regex_match(s, std::regex(R"(-?[0-9]+(\.[0-9]+)?)")); }
bool is_utc_time(const std::string& s) {
  return std::regex_match(s, std::regex(R"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z)"));
}

}  // namespace

TEST_CASE("FOCUS CSV follows the FOCUS 1.2 column rules", "[reports][focus]") {
  SEEDED_STORE_PER_BACKEND(fx);
  auto& s = fx->store();
  const json report = reports::run_report(s, "focus", range_query());
  CHECK(report["focus_version"] == "1.2");
  const auto table = parse_csv(reports::to_csv(report));
  REQUIRE(table.size() >= 2);
  const std::vector<std::string>& header = table[0];
  std::map<std::string, std::size_t> col;
  for (std::size_t i = 0; i < header.size(); ++i) {
    CHECK(col.emplace(header[i], i).second);  // no column twice
  }
  // Every mandatory column of FOCUS 1.2 (21) is present; the others are FOCUS columns or x_ custom ones.
  const std::set<std::string> mandatory = {
      "BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "BillingAccountId", "BillingAccountName",
      "BillingCurrency", "BillingPeriodStart", "BillingPeriodEnd", "ChargeCategory", "ChargeClass",
      "ChargeDescription", "ChargePeriodStart", "ChargePeriodEnd", "InvoiceIssuerName", "ProviderName",
      "PublisherName", "PricingQuantity", "PricingUnit", "ServiceCategory", "ServiceName"};
  REQUIRE(mandatory.size() == 21);
  for (const auto& m : mandatory) CHECK(col.count(m) == 1);
  const std::set<std::string> other_focus = {"ServiceSubcategory", "ConsumedQuantity", "ConsumedUnit", "ResourceId",
                                             "ResourceName",       "ResourceType",     "Tags"};
  for (const auto& h : header) {
    INFO("column " << h);
    CHECK((mandatory.count(h) == 1 || other_focus.count(h) == 1 || h.rfind("x_", 0) == 0));
  }
  for (const char* x : {"x_CostIsEstimate", "x_PricingSource", "x_UsageSource", "x_Owner"}) CHECK(col.count(x) == 1);

  // R1, R2, E1, E2+E9 (same day and keys), E3, E4, E5, E6: eight day x provider x model x owner x
  // namespace x workload x key rows. E7 and E8 are blind connections: no call, no charge row.
  CHECK(table.size() - 1 == 8);
  double list_cost = 0;
  std::int64_t calls = 0;
  for (std::size_t r = 1; r < table.size(); ++r) {
    const auto& row = table[r];
    INFO("row " << r);
    REQUIRE(row.size() == header.size());
    auto at = [&](const char* name) { return row[col.at(name)]; };
    const std::set<std::string> categories = {"Usage", "Purchase", "Tax", "Credit", "Adjustment"};
    CHECK(categories.count(at("ChargeCategory")) == 1);
    CHECK((at("ChargeClass").empty() || at("ChargeClass") == "Correction"));
    for (const char* c : {"BilledCost", "EffectiveCost", "ListCost", "ContractedCost"}) {
      INFO(c << " = " << at(c));
      CHECK(is_decimal(at(c)));
      CHECK(std::stod(at(c)) >= 0);
    }
    CHECK(at("BilledCost") == at("ListCost"));  // no invoice: the estimate everywhere, flagged
    CHECK(at("x_CostIsEstimate") == "true");
    CHECK(at("ChargeDescription").find("not an invoice") != std::string::npos);
    CHECK(at("BillingCurrency") == "USD");
    for (const char* t : {"BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd"}) {
      INFO(t << " = " << at(t));
      CHECK(is_utc_time(at(t)));
    }
    // Fixed-width ISO 8601 in UTC: string order is time order.
    CHECK(at("ChargePeriodStart") < at("ChargePeriodEnd"));
    CHECK(at("BillingPeriodStart") <= at("ChargePeriodStart"));
    CHECK(at("ChargePeriodEnd") <= at("BillingPeriodEnd"));
    CHECK(at("BillingPeriodStart").substr(8) == "01T00:00:00Z");
    if (at("ChargePeriodStart") < "2026-11-01") {
      CHECK(at("BillingPeriodStart") == "2026-10-01T00:00:00Z");
      CHECK(at("BillingPeriodEnd") == "2026-11-01T00:00:00Z");
    } else {
      CHECK(at("BillingPeriodStart") == "2026-11-01T00:00:00Z");
      CHECK(at("BillingPeriodEnd") == "2026-12-01T00:00:00Z");
    }
    for (const char* nonempty : {"BillingAccountId", "BillingAccountName", "InvoiceIssuerName", "ProviderName",
                                 "PublisherName", "ServiceName", "ResourceId"})
      CHECK_FALSE(at(nonempty).empty());
    CHECK(at("ServiceCategory") == "AI and Machine Learning");
    for (const char* q : {"PricingQuantity", "ConsumedQuantity"}) {
      CHECK(is_decimal(at(q)));
      CHECK(std::stod(at(q)) >= 0);
    }
    CHECK(at("PricingUnit") == "1000000 Tokens");
    CHECK(at("ConsumedUnit") == "Tokens");
    CHECK(std::stod(at("PricingQuantity")) == Approx(std::stod(at("ConsumedQuantity")) / 1e6));
    const json tags = json::parse(at("Tags"), nullptr, false);
    CHECK(tags.is_object());
    list_cost += std::stod(at("ListCost"));
    calls += std::stoll(at("x_Calls"));
  }
  // Sums agree with the showback of the same range.
  const json showback = reports::run_report(s, "showback", range_query());
  CHECK(list_cost == usd(showback["totals"]["cost_usd"].get<double>()));
  CHECK(list_cost == usd(0.0721));
  CHECK(calls == 9);  // the showback's calls: blind connections are none
}

TEST_CASE("FOCUS rows carry the dataset's figures", "[reports][focus]") {
  SEEDED_STORE_PER_BACKEND(fx);
  const json report = reports::run_report(fx->store(), "focus", range_query());
  const json& columns = report["columns"];
  auto idx = [&](const char* name) {
    for (std::size_t i = 0; i < columns.size(); ++i)
      if (columns[i] == name) return i;
    FAIL("no column " << name);
    return std::size_t{0};
  };
  // The first row is R1: 10-30, openai gpt-4o, team-a, payments (its raw row expired; its rollup keeps
  // workload and key).
  const json& r1 = report["rows"][0];
  CHECK(r1[idx("ChargePeriodStart")] == "2026-10-30T00:00:00Z");
  CHECK(r1[idx("ChargePeriodEnd")] == "2026-10-31T00:00:00Z");
  CHECK(r1[idx("ListCost")] == "0.02");
  CHECK(r1[idx("PricingQuantity")] == "0.002");  // 2000 tokens
  CHECK(r1[idx("ConsumedQuantity")] == "2000");
  CHECK(r1[idx("x_RolledUpCalls")] == "0");
  CHECK(r1[idx("x_Workload")] == "deployment/checkout");
  CHECK(r1[idx("x_Owner")] == "team-a");
  CHECK(r1[idx("ProviderName")] == "openai");
  // E2 + E9 on 11-01 share one row: 2 calls, one unpriced, said in the description.
  bool found = false;
  for (const json& row : report["rows"]) {
    if (row[idx("ChargePeriodStart")] == "2026-11-01T00:00:00Z" && row[idx("x_Model")] == "gpt-4o") {
      found = true;
      CHECK(row[idx("x_Calls")] == "2");
      CHECK(row[idx("x_PricedCalls")] == "1");
      CHECK(row[idx("ListCost")] == "0.025");
      CHECK(row[idx("ResourceType")] == "Kubernetes Workload");
      CHECK(row[idx("ResourceId")] == "payments/deployment/checkout");
      CHECK(row[idx("ChargeDescription")].get<std::string>().find("1 calls had no price") != std::string::npos);
      CHECK(row[idx("x_UsageSource")] == "header;none");
      CHECK(json::parse(row[idx("Tags")].get<std::string>()) ==
            json({{"owner", "team-a"}, {"namespace", "payments"}, {"workload", "deployment/checkout"},
                  {"model", "gpt-4o"}, {"environment", "prod"}}));
    }
  }
  CHECK(found);
}
