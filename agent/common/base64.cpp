#include "common/base64.h"

#include <array>
#include <cstdint>

namespace shadowmeter {
namespace {

constexpr std::array<std::int8_t, 256> make_table() {
  std::array<std::int8_t, 256> t{};
  for (auto& v : t) v = -1;
  constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (std::size_t i = 0; i < kAlphabet.size(); ++i)
    t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
  return t;
}
constexpr auto kTable = make_table();

}  // namespace

bool base64_decode(std::string_view in, std::string& out, std::size_t max_out) {
  out.clear();
  std::size_t pad = 0;
  while (!in.empty() && in.back() == '=' && pad < 2) {
    in.remove_suffix(1);
    ++pad;
  }
  // One character left over carries only six bits: not a whole byte.
  if (in.size() % 4 == 1 || (pad > 0 && (in.size() + pad) % 4 != 0)) return false;
  const std::size_t n = in.size() / 4 * 3 + (in.size() % 4 == 0 ? 0 : in.size() % 4 - 1);
  if (n > max_out) return false;
  out.reserve(n);
  std::uint32_t acc = 0;  // only the low bits matter: older ones shift out
  int bits = 0;
  for (char ch : in) {
    const std::int8_t v = kTable[static_cast<unsigned char>(ch)];
    if (v < 0) {
      out.clear();
      return false;
    }
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return true;
}

}  // namespace shadowmeter
