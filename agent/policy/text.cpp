#include "policy/text.h"

namespace shadowmeter::policy {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0u) == 0x80u; }

}  // namespace

std::string trim_bounded(std::string_view v, std::size_t max) {
  while (!v.empty() && is_space(v.front())) v.remove_prefix(1);
  while (!v.empty() && is_space(v.back())) v.remove_suffix(1);
  if (v.size() > max) {
    std::size_t cut = max;
    while (cut > 0 && is_continuation(v[cut])) --cut;  // v[cut] starts the first character left out
    v = v.substr(0, cut);
    while (!v.empty() && is_space(v.back())) v.remove_suffix(1);
  }
  return std::string(v);
}

std::string shown(std::string_view v, std::size_t max) {
  std::string out = trim_bounded(v, max);
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20u || c == 0x7f) c = '?';
  return out;
}

}  // namespace shadowmeter::policy
