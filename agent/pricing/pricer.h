// Tokens to an estimated list-price cost: the layered price table, the configured model aliases
// (Azure deployments are named by the customer) and the count of calls that found no price.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "pricing/price_table.h"
#include "providers/usage.h"

namespace shadowmeter::pricing {

struct Cost {
  double usd = 0;
  std::string source;  // which table and entry, e.g. "file:/etc/shadowmeter/prices.json:azure/gpt-4o"
};

class Pricer {
 public:
  explicit Pricer(PriceTable table) : table_(std::move(table)) {}

  // `name` (a deployment name, case-insensitive) stands for `model` when seen with `provider`;
  // provider "" applies to every provider. A provider-specific alias wins over a general one.
  // Configure before the first lookup: aliases are not guarded against concurrent cost() calls.
  void add_alias(std::string_view provider, std::string_view name, std::string_view model);

  // The alias is applied first, then PriceTable::find.
  std::optional<PriceMatch> find(std::string_view provider, std::string_view model) const;

  // nullopt when the model has no price or the usage has no token counts (see cost_usd()).
  std::optional<Cost> cost(std::string_view provider, std::string_view model,
                           const providers::Usage& usage) const;

  // cost() calls that had token counts but produced no figure (model unknown, or a needed price
  // missing); for the agent's /metrics.
  std::uint64_t unpriced() const { return unpriced_.load(std::memory_order_relaxed); }

  const PriceTable& table() const { return table_; }

 private:
  std::string_view resolve_alias(std::string_view provider, std::string_view model) const;

  PriceTable table_;
  std::unordered_map<std::string, std::string> aliases_;  // "<provider>\n<lower-case name>" -> model
  mutable std::atomic<std::uint64_t> unpriced_{0};
};

}  // namespace shadowmeter::pricing
