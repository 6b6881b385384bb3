// Number formatting of the dashboard (money, counts, shares) and tolerant reads of the reports' JSON:
// the page renders what the JSON holds, and a missing or mistyped field shows as "n/a", never throws.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace shadowmeter::collector::dashboard {

using nlohmann::json;

// "$1,234.57"; below one dollar four significant decimals ("$0.004213"), "$0.00" for zero.
std::string money(double usd);
// "12,345" (rounded to an integer).
std::string count(double n);
// "1.2k", "3.4M", "5.6B" for axis labels and bar ends.
std::string compact(double n);
// A share in [0, 1] as "87.5%"; "<0.1%" for a small nonzero share, ">99.9%" for one just under 1.
std::string percent(double share);

enum class Kind { money, count, share, text };

// The figure as shown: formatted by kind, "n/a" for null / absent / mistyped.
std::string show(const json* value, Kind kind);

// The exact JSON text of a value (data-value attributes): "12.5", "3", "null", a string unquoted.
std::string exact(const json* value);

// Tolerant accessors: nullptr / nullopt / "" when `j` is not an object or lacks the key or the type.
const json* field(const json& j, std::string_view key);
const json* field(const json* j, std::string_view key);
std::optional<double> number(const json* j);
std::optional<double> number(const json& j, std::string_view key);
std::string text(const json& j, std::string_view key);
// The array at j[key], or an empty array.
const json& array(const json& j, std::string_view key);
const json& array(const json* j, std::string_view key);

}  // namespace shadowmeter::collector::dashboard
