// Model tiers of the showback, from the price actually observed per model: cost / tokens of its
// priced calls, per 1M tokens. premium >= $5, standard $0.5-5, economy < $0.5; embeddings operations
// are "embedding"; a model without a priced call (or whose priced calls carried no tokens) is "unpriced".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "reports/facts.h"

namespace shadowmeter::collector::reports {

inline const std::vector<std::string>& tier_names() {
  static const std::vector<std::string> t = {"premium", "standard", "economy", "embedding", "unpriced"};
  return t;
}

std::string model_tier(bool embedding, double cost_usd, std::int64_t priced_tokens);

// The statement: one row per (provider, model, embedding?) over `facts`.
SqlText model_tier_query(const SqlText& facts);
// [{"tier", "calls", "cost_usd", "cost_share"}] in tier_names() order, from the rows of the statement.
nlohmann::json model_tier_mix(const std::vector<sql::Row>& rows);

}  // namespace shadowmeter::collector::reports
