// The FOCUS export over the seeded dataset, checked the way a FinOps tool would take it: the CSV is
// parsed back and held to the FOCUS 1.4 column rules (a small checker written from the specification's
// column definitions: FinOps Open Cost and Usage Specification 1.4, ratified June 2026, whose mandatory
// set is 1.2's plus 1.3's ServiceProviderName and HostProviderName), and its ListCost adds up to the
// showback total. A last case streams more rows than the JSON reports' row cap in bounded memory.
#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <regex>
#include <set>

#include "reports/focus.h"
#include "server/chunk_buffer.h"

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

// FOCUS 1.4 column rules, as the specification states them for the columns this export fills.
struct FocusRules {
  // Mandatory in a cost and usage dataset; all but ChargeClass are non-nullable.
  const std::set<std::string> mandatory = {
      "BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "BillingAccountId", "BillingAccountName",
      "BillingCurrency", "BillingPeriodStart", "BillingPeriodEnd", "ChargeCategory", "ChargeClass",
      "ChargeDescription", "ChargePeriodStart", "ChargePeriodEnd", "InvoiceIssuerName", "ProviderName",
      "PublisherName", "PricingQuantity", "PricingUnit", "ServiceCategory", "ServiceName", "ServiceProviderName",
      "HostProviderName"};
  const std::set<std::string> nullable_mandatory = {"ChargeClass"};
  // Other FOCUS-defined columns the export may carry.
  const std::set<std::string> defined = {"ChargeFrequency", "PricingCategory", "ServiceSubcategory",
                                         "ConsumedQuantity", "ConsumedUnit", "SkuId", "SkuPriceId", "SkuMeter",
                                         "SkuPriceDetails", "ResourceId", "ResourceName", "ResourceType", "Tags"};
  const std::set<std::string> charge_categories = {"Usage", "Purchase", "Tax", "Credit", "Adjustment"};
  const std::set<std::string> charge_frequencies = {"One-Time", "Recurring", "Usage-Based"};
  const std::set<std::string> pricing_categories = {"Standard", "Dynamic", "Committed", "Other"};
  const std::set<std::string> service_categories = {
      "AI and Machine Learning", "Analytics", "Business Applications", "Compute", "Databases", "Developer Tools",
      "Multicloud", "Identity", "Integration", "Internet of Things", "Management and Governance", "Media",
      "Migration", "Mobile", "Networking", "Security", "Storage", "Web", "Other"};
  const std::set<std::string> decimals = {"BilledCost", "EffectiveCost", "ListCost", "ContractedCost",
                                          "PricingQuantity", "ConsumedQuantity"};
  const std::set<std::string> datetimes = {"BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart",
                                           "ChargePeriodEnd"};

  // Column IDs: PascalCase alphanumerics for FOCUS columns; custom ones start with "x_".
  void check_header(const std::vector<std::string>& header) const {
    std::set<std::string> seen;
    for (const auto& h : header) {
      INFO("column " << h);
      CHECK(seen.insert(h).second);
      CHECK((mandatory.count(h) == 1 || defined.count(h) == 1 || h.rfind("x_", 0) == 0));
      if (h.rfind("x_", 0) != 0) CHECK(std::regex_match(h, std::regex("[A-Z][A-Za-z0-9]*")));
    }
    for (const auto& m : mandatory) CHECK(seen.count(m) == 1);
  }

  // A KeyValueFormat cell: a JSON object (keys unique by construction of the parse).
  static json key_values(const std::string& cell) {
    const json v = json::parse(cell, nullptr, false);
    CHECK(v.is_object());
    return v;
  }

  void check_row(const std::function<std::string(const char*)>& at) const {
    for (const auto& m : mandatory) {
      INFO("mandatory " << m);
      if (nullable_mandatory.count(m) == 0) CHECK_FALSE(at(m.c_str()).empty());
    }
    for (const auto& c : decimals) {
      INFO(c << " = " << at(c.c_str()));
      if (!at(c.c_str()).empty()) CHECK(is_decimal(at(c.c_str())));
    }
    for (const auto& t : datetimes) {
      INFO(t << " = " << at(t.c_str()));
      CHECK(is_utc_time(at(t.c_str())));
    }
    CHECK(charge_categories.count(at("ChargeCategory")) == 1);
    CHECK((at("ChargeClass").empty() || at("ChargeClass") == "Correction"));
    CHECK(charge_frequencies.count(at("ChargeFrequency")) == 1);
    CHECK(pricing_categories.count(at("PricingCategory")) == 1);
    CHECK(service_categories.count(at("ServiceCategory")) == 1);
    CHECK(std::regex_match(at("BillingCurrency"), std::regex("[A-Z]{3}")));  // ISO 4217
    // Fixed-width ISO 8601 in UTC: string order is time order.
    CHECK(at("ChargePeriodStart") < at("ChargePeriodEnd"));
    CHECK(at("BillingPeriodStart") < at("BillingPeriodEnd"));
    CHECK(at("BillingPeriodStart") <= at("ChargePeriodStart"));
    CHECK(at("ChargePeriodEnd") <= at("BillingPeriodEnd"));
    // Without commitment discounts or negotiated rates, EffectiveCost is BilledCost and every cost is
    // positive or zero for Usage; ContractedCost is ListCost when nothing is negotiated.
    CHECK(at("EffectiveCost") == at("BilledCost"));
    CHECK(at("ContractedCost") == at("ListCost"));
    CHECK(std::stod(at("BilledCost")) >= 0);
    // A quantity needs its unit.
    if (!at("ConsumedQuantity").empty()) CHECK_FALSE(at("ConsumedUnit").empty());
    if (!at("PricingQuantity").empty()) CHECK_FALSE(at("PricingUnit").empty());
    if (at("ChargeCategory") == "Usage") CHECK_FALSE(at("ConsumedQuantity").empty());
    // SkuMeter is null exactly when SkuId is; SkuPriceDetails only with a SkuPriceId, and its keys are
    // FOCUS-defined properties or start with x_ (all of ours do: the AI properties are not final).
    CHECK(at("SkuMeter").empty() == at("SkuId").empty());
    if (at("SkuPriceId").empty()) CHECK(at("SkuPriceDetails").empty());
    if (!at("SkuPriceDetails").empty()) {
      const json details = key_values(at("SkuPriceDetails"));
      for (const auto& [k, v] : details.items()) CHECK(k.rfind("x_", 0) == 0);
    }
    // Tags: KeyValueFormat; shadowmeter's own (provider-defined) keys carry its prefix, user-defined
    // (custom dimension) keys carry none.
    if (!at("Tags").empty()) {
      const json tags = key_values(at("Tags"));
      for (const auto& [k, v] : tags.items()) {
        INFO("tag " << k);
        CHECK((v.is_string() || v.is_boolean()));
      }
    }
  }
};

}  // namespace

TEST_CASE("FOCUS CSV follows the FOCUS 1.4 column rules", "[reports][focus]") {
  SEEDED_STORE_PER_BACKEND(fx);
  auto& s = fx->store();
  const json report = reports::run_report(s, "focus", range_query());
  CHECK(report["focus_version"] == "1.4");
  const std::string csv = reports::to_csv(report);
  const auto table = parse_csv(csv);
  REQUIRE(table.size() >= 2);
  const std::vector<std::string>& header = table[0];
  const FocusRules rules;
  rules.check_header(header);
  std::map<std::string, std::size_t> col;
  for (std::size_t i = 0; i < header.size(); ++i) col.emplace(header[i], i);
  for (const char* x : {"x_CostIsEstimate", "x_PricingSource", "x_UsageSource", "x_Owner", "x_TokenType"})
    CHECK(col.count(x) == 1);

  // Eight day x provider x model x owner x namespace x workload x key groups (R1, R2, E1, E2+E9, E3, E4,
  // E5, E6; E7 and E8 are blind connections: no charge row), one row per token kind each has:
  // R1 in/out, R2 in, E1 in/cache read/out, E2+E9 in/cache write/out, E3 in, E4 in/out/reasoning, E5 in,
  // E6 in/out.
  CHECK(table.size() - 1 == 16);
  double list_cost = 0;
  std::int64_t calls = 0, tokens = 0;
  for (std::size_t r = 1; r < table.size(); ++r) {
    const auto& row = table[r];
    INFO("row " << r);
    REQUIRE(row.size() == header.size());
    auto at = [&](const char* name) { return row[col.at(name)]; };
    rules.check_row(at);
    CHECK(at("BilledCost") == at("ListCost"));  // no invoice: the estimate everywhere, flagged
    CHECK(at("x_CostIsEstimate") == "true");
    CHECK(at("ChargeDescription").find("not an invoice") != std::string::npos);
    CHECK(at("BillingCurrency") == "USD");
    CHECK(at("BillingPeriodStart").substr(8) == "01T00:00:00Z");
    if (at("ChargePeriodStart") < "2026-11-01") {
      CHECK(at("BillingPeriodStart") == "2026-10-01T00:00:00Z");
      CHECK(at("BillingPeriodEnd") == "2026-11-01T00:00:00Z");
    } else {
      CHECK(at("BillingPeriodStart") == "2026-11-01T00:00:00Z");
      CHECK(at("BillingPeriodEnd") == "2026-12-01T00:00:00Z");
    }
    CHECK(at("ServiceCategory") == "AI and Machine Learning");
    CHECK(at("PricingUnit") == "1000000 Tokens");
    CHECK(at("ConsumedUnit") == "Tokens");
    CHECK(std::stod(at("PricingQuantity")) == Approx(std::stod(at("ConsumedQuantity")) / 1e6));
    const std::set<std::string> meters = {"Input Tokens", "Cache Read Input Tokens", "Cache Write Input Tokens",
                                          "Output Tokens", "Reasoning Output Tokens"};
    CHECK(meters.count(at("SkuMeter")) == 1);
    CHECK(at("SkuId").substr(at("SkuId").rfind('/') + 1) == at("x_TokenType"));
    const json details = json::parse(at("SkuPriceDetails"));
    CHECK(details["x_ModelId"] == at("x_Model"));
    CHECK(details["x_TokenType"] == at("x_TokenType"));
    list_cost += std::stod(at("ListCost"));
    calls += std::stoll(at("x_Calls"));
    tokens += std::stoll(at("ConsumedQuantity"));
  }
  // Sums agree with the showback of the same range: cost, calls, and tokens (the kinds are disjoint
  // parts of input + output).
  const json showback = reports::run_report(s, "showback", range_query());
  CHECK(list_cost == usd(showback["totals"]["cost_usd"].get<double>()));
  CHECK(list_cost == usd(0.0721));
  CHECK(calls == 9);  // the showback's calls: blind connections are none
  CHECK(tokens == showback["totals"]["input_tokens"].get<std::int64_t>() +
                      showback["totals"]["output_tokens"].get<std::int64_t>());

  // The streamed CSV is the same text as the one made from the JSON report.
  std::string streamed;
  const std::uint64_t rows = reports::focus_csv(s, range_query(), [&](std::string_view p) { streamed += p; });
  CHECK(rows == 16);
  CHECK(streamed == csv);
}

TEST_CASE("FOCUS rows carry the dataset's figures, one SKU per token kind", "[reports][focus]") {
  SEEDED_STORE_PER_BACKEND(fx);
  const json report = reports::run_report(fx->store(), "focus", range_query());
  const json& columns = report["columns"];
  auto idx = [&](const char* name) {
    for (std::size_t i = 0; i < columns.size(); ++i)
      if (columns[i] == name) return i;
    FAIL("no column " << name);
    return std::size_t{0};
  };
  // The first rows are R1: 10-30, openai gpt-4o, team-a, payments (its raw row expired; its rollup keeps
  // workload and key): 1000 input and 1000 output tokens, $0.02 split by tokens.
  const json& r1 = report["rows"][0];
  CHECK(r1[idx("ChargePeriodStart")] == "2026-10-30T00:00:00Z");
  CHECK(r1[idx("ChargePeriodEnd")] == "2026-10-31T00:00:00Z");
  CHECK(r1[idx("SkuMeter")] == "Input Tokens");
  CHECK(r1[idx("SkuId")] == "openai/gpt-4o/input");
  CHECK(r1[idx("ListCost")] == "0.01");
  CHECK(r1[idx("PricingQuantity")] == "0.001");  // 1000 tokens
  CHECK(r1[idx("ConsumedQuantity")] == "1000");
  CHECK(r1[idx("x_RolledUpCalls")] == "0");
  CHECK(r1[idx("x_Calls")] == "1");
  CHECK(r1[idx("x_Workload")] == "deployment/checkout");
  CHECK(r1[idx("x_Owner")] == "team-a");
  CHECK(r1[idx("ProviderName")] == "openai");
  CHECK(r1[idx("ServiceProviderName")] == "openai");
  CHECK(r1[idx("PublisherName")] == "openai");  // the model's developer
  const json& r1_out = report["rows"][1];
  CHECK(r1_out[idx("SkuMeter")] == "Output Tokens");
  CHECK(r1_out[idx("ListCost")] == "0.01");
  CHECK(r1_out[idx("x_Calls")] == "0");  // a group's calls are on its first row only
  // E2 + E9 on 11-01 share one group: 2 calls, one unpriced; 2000 input of which 50 cache writes, 500
  // output; $0.025 split 1950 : 50 : 500.
  std::map<std::string, json> e2;
  for (const json& row : report["rows"])
    if (row[idx("ChargePeriodStart")] == "2026-11-01T00:00:00Z" && row[idx("x_Model")] == "gpt-4o")
      e2[row[idx("x_TokenType")].get<std::string>()] = row;
  REQUIRE(e2.size() == 3);
  CHECK(e2["input"][idx("ConsumedQuantity")] == "1950");
  CHECK(e2["input"][idx("ListCost")] == "0.0195");
  CHECK(e2["input"][idx("x_Calls")] == "2");
  CHECK(e2["input"][idx("x_PricedCalls")] == "1");
  CHECK(e2["cache_write"][idx("ConsumedQuantity")] == "50");
  CHECK(e2["cache_write"][idx("ListCost")] == "0.0005");
  CHECK(e2["cache_write"][idx("SkuMeter")] == "Cache Write Input Tokens");
  CHECK(e2["output"][idx("ListCost")] == "0.005");
  for (auto& [kind, row] : e2) {
    CHECK(row[idx("ResourceType")] == "Kubernetes Workload");
    CHECK(row[idx("ResourceId")] == "payments/deployment/checkout");
    CHECK(row[idx("ChargeDescription")].get<std::string>().find("1 calls had no price") != std::string::npos);
    CHECK(row[idx("x_UsageSource")] == "header;none");
    CHECK(row[idx("x_CostSplit")] == "tokens");
    CHECK(json::parse(row[idx("Tags")].get<std::string>()) ==
          json({{"shadowmeter/owner", "team-a"}, {"shadowmeter/namespace", "payments"},
                {"shadowmeter/workload", "deployment/checkout"}, {"shadowmeter/model", "gpt-4o"},
                {"shadowmeter/environment", "prod"}}));
  }
  // E4: 1000 output tokens of which 300 reasoning: output 700 and reasoning 300 rows.
  bool reasoning = false;
  for (const json& row : report["rows"])
    if (row[idx("x_TokenType")] == "reasoning") {
      reasoning = true;
      CHECK(row[idx("ConsumedQuantity")] == "300");
      CHECK(row[idx("SkuMeter")] == "Reasoning Output Tokens");
      CHECK(row[idx("PublisherName")] == "anthropic");
    }
  CHECK(reasoning);
}

TEST_CASE("model identity: developer, family, id and version", "[reports][focus]") {
  auto id = reports::model_identity("openai", "gpt-4o-mini-2024-07-18");
  CHECK(id.developer == "openai");
  CHECK(id.family == "gpt-4o-mini");
  CHECK(id.version == "2024-07-18");
  CHECK(id.id == "gpt-4o-mini-2024-07-18");
  id = reports::model_identity("aws.bedrock", "anthropic.claude-3-5-sonnet-20240620-v1:0");
  CHECK(id.developer == "anthropic");
  CHECK(id.family == "claude-3-5-sonnet");
  CHECK(id.version == "20240620");
  id = reports::model_identity("aws.bedrock", "us.meta.llama3-1-70b-instruct-v1:0");
  CHECK(id.developer == "meta");
  CHECK(id.family == "llama3-1-70b-instruct");
  CHECK(id.version.empty());
  id = reports::model_identity("gcp.vertex_ai", "claude-sonnet-4@20250514");
  CHECK(id.developer == "anthropic");
  CHECK(id.family == "claude-sonnet-4");
  CHECK(id.version == "20250514");
  id = reports::model_identity("acme", "mystery-model");
  CHECK(id.developer == "acme");
  CHECK(id.family == "mystery-model");
  id = reports::model_identity("openai", "");
  CHECK(id.id == "unknown");
}

TEST_CASE("the FOCUS CSV streams past the JSON reports' row cap in bounded memory", "[reports][focus]") {
  const std::string backend_name = GENERATE(as<std::string>{}, "sqlite", "postgresql");
  INFO("backend: " << backend_name);
  auto fx = shadowmeter::testing::StoreFixture::make(backend_name);
  if (!fx) return;
  // 20,001 calls of distinct owners on one day, each with all five token kinds: 100,005 FOCUS rows,
  // more than kMaxReportRows (100,000).
  constexpr int kCalls = 20001;
  double cost = 0;
  for (int start = 0; start < kCalls; start += 2000) {
    std::vector<reports_data::Call> calls;
    for (int i = start; i < std::min(kCalls, start + 2000); ++i) {
      const std::uint64_t offset = 1000000ull * static_cast<unsigned>(i);
      reports_data::Call c = reports_data::checkout("s" + std::to_string(i), reports_data::kNov1 + offset);
      c.owner = "owner-" + std::to_string(i);
      c.in = 100, c.cache_read = 20, c.cache_creation = 10, c.out = 50, c.reasoning = 5;
      c.cost = 0.001 * (1 + i % 7);
      cost += c.cost;
      calls.push_back(c);
    }
    fx->store().ingest(reports_data::batch(calls));
  }
  reports::ReportQuery q = range_query();
  CHECK_THROWS_AS(reports::run_report(fx->store(), "focus", q), reports::BadReportQuery);  // JSON keeps the cap

  // The server's path: pieces into a chunk buffer of 64 KiB, each full chunk handed on (here: scanned
  // and dropped). What the buffer held never passes the chunk size, whatever the export's length.
  constexpr std::size_t kChunk = 64 * 1024;
  std::uint64_t lines = 0, bytes = 0;
  std::string partial;  // the unfinished line between two chunks
  double list_cost = 0;
  std::size_t list_col = 0;
  shadowmeter::collector::ChunkBuffer buffer(kChunk, [&](std::string&& chunk) {
    CHECK(chunk.size() <= kChunk);
    bytes += chunk.size();
    partial += chunk;
    std::size_t begin = 0;
    for (std::size_t end; (end = partial.find("\r\n", begin)) != std::string::npos; begin = end + 2) {
      const std::string line = partial.substr(begin, end - begin);
      if (lines++ > 0) {
        std::size_t from = 0;
        for (std::size_t c = 0; c < list_col; ++c) from = line.find(',', from) + 1;
        list_cost += std::stod(line.substr(from, line.find(',', from) - from));
      }
    }
    partial.erase(0, begin);
  });
  const auto& columns = reports::focus_columns();
  list_col = static_cast<std::size_t>(std::find(columns.begin(), columns.end(), "ListCost") - columns.begin());
  const std::uint64_t rows = reports::focus_csv(fx->store(), q, [&](std::string_view p) { buffer.append(p); });
  buffer.finish();
  CHECK(partial.empty());
  CHECK(rows == 5 * kCalls);
  CHECK(lines == rows + 1);  // and the header
  CHECK(buffer.max_buffered() <= kChunk);
  CHECK(buffer.chunks() > bytes / kChunk);
  CHECK(list_cost == Approx(cost).epsilon(1e-12));
}
