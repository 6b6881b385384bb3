// Streaming reader for LiteLLM-format price JSON: hands each priced entry to a callback and keeps
// nothing else, so a 1.6 MB table never becomes a DOM. Rules are described in price_table.h.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "pricing/price.h"

namespace shadowmeter::pricing {

inline constexpr std::size_t kMaxTableBytes = 64u << 20;  // LiteLLM's own file is about 1.6 MB

struct LoadStats {
  std::size_t entries = 0;           // priced entries read (a key repeated in one text counts twice)
  std::size_t skipped_no_price = 0;  // objects without input_cost_per_token / output_cost_per_token
  std::size_t skipped_invalid = 0;   // objects with a bad price or key
};

struct ReadResult {
  LoadStats stats;
  std::string as_of;  // shadowmeter_table_info.as_of, "" when absent or not a plain date-like token
  std::string error;  // "" on success, else why the text is not a price table
  // Why the first skipped_invalid entry was skipped, naming the model and the field: 'model "gpt-x",
  // field input_cost_per_token: "cheap" is not a non-negative number of US dollars'.
  std::string first_invalid;
};

using EntrySink =
    std::function<void(std::string_view key, const Price& price, std::string_view litellm_provider)>;

// Calls `sink` for every priced entry in text order. On error, entries before the error may
// already have been delivered; the caller discards them.
ReadResult read_litellm_json(std::string_view text, const EntrySink& sink);

}  // namespace shadowmeter::pricing
