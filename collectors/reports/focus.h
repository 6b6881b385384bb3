// The FOCUS export: estimated cost rows in the FinOps Open Cost and Usage Specification (v1.2) column
// layout, so FinOps tools can import them. One row per UTC day x provider x model x owner x
// namespace x workload x API key fingerprint. There is no invoice behind these rows: the agents'
// list-price estimate fills ListCost and, for lack of anything better, BilledCost, EffectiveCost and
// ContractedCost; x_CostIsEstimate, x_PricingSource and ChargeDescription say so on every row.
#pragma once

#include <string>
#include <vector>

namespace shadowmeter::collector::reports {

inline constexpr const char* kFocusVersion = "1.2";

// The 21 columns FOCUS 1.2 makes mandatory.
inline const std::vector<std::string>& focus_mandatory_columns() {
  static const std::vector<std::string> c = {
      "BilledCost",        "EffectiveCost",     "ListCost",           "ContractedCost",    "BillingAccountId",
      "BillingAccountName", "BillingCurrency",  "BillingPeriodStart", "BillingPeriodEnd",  "ChargeCategory",
      "ChargeClass",       "ChargeDescription", "ChargePeriodStart",  "ChargePeriodEnd",   "InvoiceIssuerName",
      "ProviderName",      "PublisherName",     "PricingQuantity",    "PricingUnit",       "ServiceCategory",
      "ServiceName"};
  return c;
}

// Every column of the export, in order: the mandatory ones, the conditional / recommended ones we can
// fill, then the custom x_ columns.
inline const std::vector<std::string>& focus_columns() {
  static const std::vector<std::string> c = [] {
    std::vector<std::string> all = focus_mandatory_columns();
    for (const char* extra :
         {"ServiceSubcategory", "ConsumedQuantity", "ConsumedUnit", "ResourceId", "ResourceName", "ResourceType",
          "Tags", "x_CostIsEstimate", "x_PricingSource", "x_UsageSource", "x_Owner", "x_Namespace", "x_Workload",
          "x_ApiKeyFingerprint", "x_Model", "x_Calls", "x_PricedCalls", "x_InputTokens", "x_OutputTokens",
          "x_CacheReadTokens", "x_CacheCreationTokens", "x_ReasoningTokens", "x_RolledUpCalls"})
      all.emplace_back(extra);
    return all;
  }();
  return c;
}

inline constexpr const char* kFocusServiceCategory = "AI and Machine Learning";
inline constexpr const char* kFocusPricingUnit = "1000000 Tokens";  // PricingQuantity = tokens / 1e6
inline constexpr const char* kFocusConsumedUnit = "Tokens";

}  // namespace shadowmeter::collector::reports
