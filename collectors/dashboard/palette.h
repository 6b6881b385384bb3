// Colours of the dashboard: the Okabe-Ito palette (distinguishable with the common forms of colour
// blindness), and fixed colours for the coverage classes so they mean the same on every chart.
#pragma once

#include <array>
#include <cstddef>

namespace shadowmeter::collector::dashboard::palette {

inline constexpr std::array<const char*, 8> kSeries = {"#0072B2", "#E69F00", "#009E73", "#CC79A7",
                                                       "#56B4E9", "#D55E00", "#F0E442", "#000000"};
inline constexpr const char* kOther = "#999999";

inline const char* series(std::size_t i) { return kSeries[i % kSeries.size()]; }

inline constexpr const char* kExact = "#009E73";
inline constexpr const char* kEstimated = "#E69F00";
inline constexpr const char* kNone = "#999999";
inline constexpr const char* kConnectionOnly = "#D55E00";
inline constexpr const char* kAllocated = "#0072B2";
inline constexpr const char* kUnallocated = "#CC79A7";

}  // namespace shadowmeter::collector::dashboard::palette
