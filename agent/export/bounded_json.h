// JSON parsing with a nesting depth limit and a budget on what the parsed document occupies in memory.
// A document's DOM can be many times larger than its text ("[[],[],...]": 3 bytes of text, ~50 bytes
// of DOM per element), so a byte limit on the text alone does not bound memory. The document is built
// through nlohmann's SAX interface and parsing stops as soon as either limit is crossed, before the
// memory is allocated.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace shadowmeter::exporting {

struct JsonLimits {
  std::size_t max_depth = 64;   // arrays and objects nested deeper fail
  std::uint64_t max_bytes = 0;  // estimated DOM bytes; 0 = no limit
  // Called for each further kReserveStep bytes of estimated DOM, before they are used; false stops the
  // parse (a shared in-flight budget is exhausted). Empty: always granted.
  std::function<bool(std::uint64_t)> reserve;
};

inline constexpr std::uint64_t kReserveStep = 1u << 20;

enum class JsonFailure { none, syntax, too_deep, too_large, busy };

struct BoundedJson {
  nlohmann::json value;
  JsonFailure failure = JsonFailure::none;
  std::string error;          // set when failure != none
  std::uint64_t reserved = 0;  // granted by limits.reserve in total (the caller releases it)
  std::uint64_t estimated_bytes = 0;
  bool ok() const { return failure == JsonFailure::none; }
};

// Never throws for bad input (an allocation failure still throws std::bad_alloc).
BoundedJson parse_bounded_json(std::string_view text, const JsonLimits& limits);

}  // namespace shadowmeter::exporting
