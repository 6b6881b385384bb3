// ASCII case folding for protocol and command-line text (header names, flag names, key words), where
// locale-dependent tolower() would be wrong and slower.
#pragma once

#include <cstddef>
#include <string_view>

namespace shadowmeter::ascii {

inline char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// `needle` must be lower-case ASCII.
inline bool contains_ci(std::string_view s, std::string_view needle) {
  for (std::size_t i = 0; i + needle.size() <= s.size(); ++i) {
    std::size_t k = 0;
    while (k < needle.size() && lower(s[i + k]) == needle[k]) ++k;
    if (k == needle.size()) return true;
  }
  return false;
}

}  // namespace shadowmeter::ascii
