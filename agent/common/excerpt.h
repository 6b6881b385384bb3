// A sender's value echoed in an error message or a log line: at most `max` bytes, printable ASCII
// only (anything else becomes '?'), "..." when cut. Keeps control characters and secrets of any
// length out of answers and logs.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace shadowmeter {

inline std::string excerpt(std::string_view s, std::size_t max = 64) {
  std::string out;
  for (char c : s.substr(0, max)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  if (s.size() > max) out += "...";
  return out;
}

}  // namespace shadowmeter
