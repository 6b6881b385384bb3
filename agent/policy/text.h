// Bounding and cleaning of values that come from outside (labels, traffic) before they are kept or shown.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace shadowmeter::policy {

// Longest owner / environment value kept; longer label values are cut.
inline constexpr std::size_t kMaxValueLen = 256;

// Trimmed of surrounding whitespace and cut to at most `max` bytes without splitting a UTF-8 character.
std::string trim_bounded(std::string_view v, std::size_t max = kMaxValueLen);

// For reasons: bounded like trim_bounded, with control characters replaced by '?'.
std::string shown(std::string_view v, std::size_t max = kMaxValueLen);

}  // namespace shadowmeter::policy
