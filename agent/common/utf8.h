// UTF-8 validation one character at a time, for text that reaches formats which must be valid
// UTF-8 (Prometheus labels, HTML/XML): callers decide what replaces an invalid byte.
#pragma once

#include <cstddef>
#include <string_view>

namespace shadowmeter::utf8 {

// Length (1..4) of the valid UTF-8 character starting at s[i] (i < s.size()), or 0 for an invalid
// or cut sequence: stray continuation bytes, overlong forms, surrogates and code points past U+10FFFF
// are refused. `code_point`, when given, receives the decoded character.
std::size_t char_length(std::string_view s, std::size_t i, char32_t* code_point = nullptr);

}  // namespace shadowmeter::utf8
