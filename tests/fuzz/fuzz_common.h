// Helpers shared by the libFuzzer targets: input slicing, a streaming hash, and a check that
// aborts (so libFuzzer reports it) when an invariant of the parsers is broken.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace shadowmeter::fuzz {

[[noreturn]] inline void fail(const char* what) {
  std::fprintf(stderr, "invariant broken: %s\n", what);
  std::abort();
}

#define SM_FUZZ_CHECK(cond)                        \
  do {                                             \
    if (!(cond)) ::shadowmeter::fuzz::fail(#cond); \
  } while (0)

// FNV-1a over everything observed; two runs that must agree compare their hashes.
struct Hash {
  std::uint64_t h = 14695981039346656037ull;
  void bytes(std::string_view s) {
    for (char c : s) {
      h ^= static_cast<unsigned char>(c);
      h *= 1099511628211ull;
    }
  }
  void u64(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      h ^= (v >> (8 * i)) & 0xff;
      h *= 1099511628211ull;
    }
  }
};

// The fuzz input as bytes to take from the front.
struct Input {
  const std::uint8_t* p;
  std::size_t n;
  std::uint8_t byte() {
    if (n == 0) return 0;
    --n;
    return *p++;
  }
  std::string_view rest() const { return {reinterpret_cast<const char*>(p), n}; }
};

// Piece sizes cycle through `plan`: small pieces, including single bytes, dominate.
inline std::size_t piece_size(std::uint8_t b) {
  return b < 0x80 ? std::size_t{b} + 1 : std::size_t{b - 0x7fu} * 64;
}

}  // namespace shadowmeter::fuzz
