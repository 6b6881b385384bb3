// The FOCUS export: estimated cost rows in the FinOps Open Cost and Usage Specification (FOCUS 1.4)
// column layout, so FinOps tools can import them. One row per UTC day x provider x model x owner x
// namespace x workload x API key fingerprint x custom dimensions x token kind: input, cache read,
// cache write, output and reasoning tokens are separate SKUs (SkuMeter "Input Tokens", "Output Tokens",
// ...; ConsumedUnit "Tokens"), with the model's identity (developer, family, id, version) in
// SkuPriceDetails as x_ properties, as FOCUS's AI work describes them while they are not final.
//
// There is no invoice behind these rows: the agents' list-price estimate fills ListCost and, for lack of
// anything better, BilledCost, EffectiveCost and ContractedCost; x_CostIsEstimate, x_PricingSource and
// ChargeDescription say so on every row. The agents price each call as a whole, so a group's cost is
// split over its token kinds in proportion to their tokens (x_CostSplit "tokens"); the rows of a group
// add up to its estimate exactly (to the nano-dollar).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "reports/report.h"

namespace shadowmeter::collector::reports {

inline constexpr const char* kFocusVersion = "1.4";

// The columns FOCUS makes mandatory for a cost and usage dataset: the 21 of 1.2 (ProviderName and
// PublisherName are deprecated since 1.3 but still defined, and importers of older versions read them)
// and 1.3's ServiceProviderName and HostProviderName.
inline const std::vector<std::string>& focus_mandatory_columns() {
  static const std::vector<std::string> c = {
      "BilledCost",         "EffectiveCost",      "ListCost",           "ContractedCost",    "BillingAccountId",
      "BillingAccountName", "BillingCurrency",    "BillingPeriodStart", "BillingPeriodEnd",  "ChargeCategory",
      "ChargeClass",        "ChargeDescription",  "ChargePeriodStart",  "ChargePeriodEnd",   "InvoiceIssuerName",
      "ProviderName",       "PublisherName",      "PricingQuantity",    "PricingUnit",       "ServiceCategory",
      "ServiceName",        "ServiceProviderName", "HostProviderName"};
  return c;
}

// Every column of the export, in order: the mandatory ones, the conditional / recommended ones we can
// fill, then the custom x_ columns.
inline const std::vector<std::string>& focus_columns() {
  static const std::vector<std::string> c = [] {
    std::vector<std::string> all = focus_mandatory_columns();
    for (const char* extra :
         {"ChargeFrequency", "PricingCategory", "ServiceSubcategory", "ConsumedQuantity", "ConsumedUnit", "SkuId",
          "SkuPriceId", "SkuMeter", "SkuPriceDetails", "ResourceId", "ResourceName", "ResourceType", "Tags",
          "x_CostIsEstimate", "x_CostSplit", "x_PricingSource", "x_UsageSource", "x_Owner", "x_Namespace",
          "x_Workload", "x_ApiKeyFingerprint", "x_Model", "x_TokenType", "x_Calls", "x_PricedCalls",
          "x_RolledUpCalls"})
      all.emplace_back(extra);
    return all;
  }();
  return c;
}

inline constexpr const char* kFocusServiceCategory = "AI and Machine Learning";
inline constexpr const char* kFocusPricingUnit = "1000000 Tokens";  // PricingQuantity = tokens / 1e6
inline constexpr const char* kFocusConsumedUnit = "Tokens";

// Model identity for SkuPriceDetails: the developer (from a Bedrock-style "vendor." prefix or the
// model's name, else the provider), the family (the id without a date version) and the version.
struct ModelIdentity {
  std::string developer, family, id, version;  // version "" when the id carries none
};
ModelIdentity model_identity(std::string_view provider, std::string_view model);

// Each FOCUS row of the query's range, in focus_columns() order, one at a time: nothing is kept, so
// any number of rows comes out in bounded memory. May throw StoreError.
void focus_rows_each(Store& store, const ReportQuery& q, const std::function<void(const nlohmann::json& row)>& row);

// The export as CSV (header line, then one line per row), handed to `write` a record at a time.
// Checks the query like run_report (BadReportQuery). Returns the number of rows written.
std::uint64_t focus_csv(Store& store, const ReportQuery& q, const std::function<void(std::string_view)>& write);

}  // namespace shadowmeter::collector::reports
