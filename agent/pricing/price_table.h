// A price table in the format of LiteLLM's model_prices_and_context_window.json, reduced to the
// token prices shadowmeter uses, and the lookup of a (provider, model) pair in it.
//
// Loading: a JSON object keyed by model id. Entries with neither input_cost_per_token nor
// output_cost_per_token are skipped (images, audio, rerank, "sample_spec"), as is the metadata
// entry "shadowmeter_table_info" (its "as_of" is kept) and any top-level value that is not an
// object. Unknown fields are ignored. Prices may be JSON numbers or numeric strings ("1e-06");
// an entry with a negative, non-finite, non-numeric or non-scalar price, or an id longer than
// kMaxModelIdLen, is skipped as a whole and counted in LoadStats::skipped_invalid. A file that is
// not JSON, not an object, or larger than kMaxTableBytes is an error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "pricing/litellm_json.h"
#include "pricing/price.h"

namespace shadowmeter::pricing {

struct PriceMatch {
  const Price* price = nullptr;  // lives as long as the table is unchanged
  std::string key;               // the table key that matched, as written in the table
  std::string litellm_provider;  // that entry's litellm_provider ("" when absent)
  std::string source;            // "<table label>:<key>", e.g. "builtin:2026-07-24:gpt-4o"
};

class PriceTable {
 public:
  // Throws std::runtime_error naming the text's label and the reason. Entries with a bad price or name
  // are skipped (counted in stats().skipped_invalid).
  static PriceTable parse(std::string_view json_text, std::string label);
  // Label "file:<path>". Throws std::runtime_error naming the file and the reason, also for an entry
  // with a bad price (wrong type, negative, not finite) or name: the message names the model and field.
  static PriceTable load_file(const std::string& path);
  // The shipped default table: label "builtin:<as_of>" from its shadowmeter_table_info entry
  // ("builtin" when it has none). Throws like load_file.
  static PriceTable builtin_from_file(const std::string& path);

  // Layering: every entry of `upper` replaces the entry with the same (case-insensitive) key.
  void overlay(const PriceTable& upper);

  // Lookup with LiteLLM's naming conventions. For each form of the model id from
  // model_variants() in turn, the provider's prefixed keys ("azure/<m>") and then the bare key are
  // tried; among the keys found for one form, the first whose litellm_provider fits the provider
  // wins, else the first found. A less normalised form always wins over a more normalised one.
  std::optional<PriceMatch> find(std::string_view provider, std::string_view model) const;
  // The entry stored under exactly this key (case-insensitive), no normalisation.
  std::optional<PriceMatch> exact(std::string_view key) const;

  std::size_t size() const { return entries_.size(); }
  const LoadStats& stats() const { return stats_; }
  // shadowmeter_table_info.as_of of the text this table was parsed from ("" when none).
  const std::string& as_of() const { return as_of_; }
  // Why the first invalid entry (stats().skipped_invalid) was skipped, naming its model and field.
  const std::string& first_invalid() const { return first_invalid_; }

 private:
  struct Entry {
    std::string key;  // as written
    Price price;
    std::uint32_t provider = 0;  // index into providers_
    std::uint32_t label = 0;     // index into labels_
  };
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // Errors name `name` (the label, or the file's path).
  static PriceTable from_text(std::string_view json_text, std::string label, std::string_view name);
  void put(std::string key, const Price& price, std::string_view litellm_provider, std::uint32_t label);
  PriceMatch match_of(const Entry& e) const;
  const Entry* lookup(std::string_view lower_key) const;

  std::vector<Entry> entries_;
  std::unordered_map<std::string, std::size_t, StringHash, std::equal_to<>> index_;  // lower-case key
  std::vector<std::string> providers_;  // interned litellm_provider values
  std::vector<std::string> labels_;     // interned table labels
  LoadStats stats_;
  std::string as_of_;
  std::string first_invalid_;
};

}  // namespace shadowmeter::pricing
