// Small text helpers the provider modules share: trimming SSE data and NDJSON lines, a
// case-insensitive Content-Type check, and stepping into a JSON scanner path.
#pragma once

#include <cstddef>
#include <string_view>

#include "common/ascii.h"

namespace shadowmeter::providers {

// Without leading and trailing spaces, tabs, CR and LF.
inline std::string_view trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n";
  const auto b = s.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(kSpace) - b + 1);
}

using ascii::contains_ci;

// A JsonScanner path under `prefix` ("usage" for "usage.input_tokens"): true and `path` made
// relative to it; `path` equal to `prefix` becomes "".
inline bool strip_prefix(std::string_view& path, std::string_view prefix) {
  if (!path.starts_with(prefix)) return false;
  if (path.size() == prefix.size()) {
    path = {};
    return true;
  }
  if (path[prefix.size()] != '.') return false;
  path.remove_prefix(prefix.size() + 1);
  return true;
}

}  // namespace shadowmeter::providers
