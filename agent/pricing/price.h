// One model's list prices (USD per single token, as in LiteLLM's table) and the formula that turns
// a call's normalised usage into an estimated cost.
#pragma once

#include <cstdint>
#include <optional>

#include "providers/usage.h"

namespace shadowmeter::pricing {

// Prompts longer than this many input tokens use the *_above_200k_tokens prices where they exist.
inline constexpr std::int64_t kLongContextThreshold = 200'000;

// Absent fields were absent (or null) in the table. (The {} initialisers let callers use
// designated initialisers for a few fields without -Wmissing-field-initializers.)
struct Price {
  std::optional<double> input{};           // input_cost_per_token
  std::optional<double> output{};          // output_cost_per_token
  std::optional<double> cache_read{};      // cache_read_input_token_cost
  std::optional<double> cache_creation{};  // cache_creation_input_token_cost (5-minute TTL writes)
  std::optional<double> reasoning{};       // output_cost_per_reasoning_token
  std::optional<double> input_above_200k{};
  std::optional<double> output_above_200k{};
  std::optional<double> cache_read_above_200k{};
  std::optional<double> cache_creation_above_200k{};
};

// USD for one call, or nullopt when the usage has neither input nor output tokens, a count is
// negative, or a count above zero has no price to apply (never a guessed figure).
//   uncached input = input - cache_read - cache_creation (at least 0), at the input price;
//   cache reads / writes at their prices, or the input price when the table has none;
//   output at the output price, except reasoning tokens at output_cost_per_reasoning_token when set;
//   with input > 200k tokens, each *_above_200k_tokens price that exists replaces its base price.
std::optional<double> cost_usd(const Price& price, const providers::Usage& usage);

}  // namespace shadowmeter::pricing
