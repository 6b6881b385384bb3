#include "policy/glob.h"

#include <cstddef>

namespace shadowmeter::policy {
namespace {

char fold(char ch, Case c) {
  if (c == Case::insensitive && ch >= 'A' && ch <= 'Z') return static_cast<char>(ch - 'A' + 'a');
  return ch;
}

// "example.com:443" -> "example.com"; IPv6 and other forms with more colons stay whole.
std::string_view without_port(std::string_view host) {
  const auto colon = host.rfind(':');
  if (colon == std::string_view::npos || host.find(':') != colon || colon + 1 == host.size()) return host;
  for (std::size_t i = colon + 1; i < host.size(); ++i)
    if (host[i] < '0' || host[i] > '9') return host;
  return host.substr(0, colon);
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view text, Case c) {
  std::size_t p = 0, t = 0;
  std::size_t star = std::string_view::npos, star_text = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_text = t;
    } else if (p < pattern.size() && (pattern[p] == '?' || fold(pattern[p], c) == fold(text[t], c))) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;  // let the last '*' swallow one more character
      t = ++star_text;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool host_match(std::string_view pattern, std::string_view host) {
  if (glob_match(pattern, host, Case::insensitive)) return true;
  const std::string_view bare = without_port(host);
  return bare.size() != host.size() && pattern.find(':') == std::string_view::npos &&
         glob_match(pattern, bare, Case::insensitive);
}

bool executable_match(std::string_view pattern, std::string_view path, std::string_view name) {
  if (pattern.find('/') != std::string_view::npos) return !path.empty() && glob_match(pattern, path);
  if (name.empty()) {
    const auto slash = path.rfind('/');
    name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  }
  return !name.empty() && glob_match(pattern, name);
}

}  // namespace shadowmeter::policy
