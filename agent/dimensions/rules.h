// The unit_economics: rules of the agent config: each names one request header or one JSON body
// field whose value becomes an event attribute, shadowmeter.dimension.<name> (grouped by in reports)
// or shadowmeter.tag.<name> (a per-request identifier kept only on the raw call row).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace shadowmeter::dimensions {

enum class Kind { dimension, tag };

// Bounds shared with the collector, which drops attributes that break them.
inline constexpr std::size_t kMaxNameBytes = 32;      // <name> is [a-z0-9_]{1,32}
inline constexpr std::size_t kMaxValueBytes = 128;    // longer values are cut at a UTF-8 boundary
inline constexpr std::size_t kMaxDimensions = 8;      // per event
inline constexpr std::size_t kMaxTags = 4;            // per event
inline constexpr std::string_view kDimensionPrefix = "shadowmeter.dimension.";
inline constexpr std::string_view kTagPrefix = "shadowmeter.tag.";

struct Rule {
  std::string name;    // attribute suffix
  std::string header;  // request header, lower-cased ("" when the rule reads a body field)
  std::string field;   // JSON dot path in the request body ("" when the rule reads a header)
  Kind kind = Kind::dimension;
  bool sensitive = false;  // the value is sent as fp:<16 hex>, a keyed fingerprint

  std::string attribute() const {
    return std::string(kind == Kind::dimension ? kDimensionPrefix : kTagPrefix) + name;
  }
};

// Why `name` is not a valid <name> ("" when it is).
std::string check_name(std::string_view name);

// Throws std::runtime_error naming `where` and the rule at fault: bad names, duplicates, both or
// neither of header and field, header names that carry credentials, body paths that carry prompts,
// completions or tool definitions, array paths, more than kMaxDimensions dimensions or kMaxTags tags.
void check_rules(const std::vector<Rule>& rules, const std::string& where);

}  // namespace shadowmeter::dimensions
