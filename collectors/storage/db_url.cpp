#include "storage/db_url.h"

#include <algorithm>
#include <cctype>

#include "storage/store.h"

namespace shadowmeter::collector {
namespace {

constexpr std::string_view kMask = "***";

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = hex(s[i + 1]);
      const int lo = hex(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

// Where the pieces of "scheme://[user[:password]@]host[:port][/db][?k=v&...]" are; npos when absent.
struct UrlParts {
  std::size_t password_begin = std::string_view::npos, password_end = 0;
  std::size_t query_begin = std::string_view::npos;  // just after '?'
};

UrlParts split(std::string_view url) {
  UrlParts p;
  const std::size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return p;
  const std::size_t auth_begin = scheme + 3;
  std::size_t auth_end = url.find_first_of("/?#", auth_begin);
  if (auth_end == std::string_view::npos) auth_end = url.size();
  const std::string_view authority = url.substr(auth_begin, auth_end - auth_begin);
  const std::size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    const std::size_t colon = authority.substr(0, at).find(':');
    if (colon != std::string_view::npos) {
      p.password_begin = auth_begin + colon + 1;
      p.password_end = auth_begin + at;
    }
  }
  const std::size_t q = url.find('?', auth_end);
  if (q != std::string_view::npos) p.query_begin = q + 1;
  return p;
}

// Calls fn(value_begin, value_end) for each "password=" parameter: in a URI query ("&"-separated,
// up to '#') or, for a conninfo string ("host=x password=y"), whitespace-separated.
template <typename Fn>
void for_each_password_param(std::string_view url, Fn&& fn) {
  const UrlParts p = split(url);
  const bool uri = url.find("://") != std::string_view::npos;
  if (uri && p.query_begin == std::string_view::npos) return;
  std::size_t pos = uri ? p.query_begin : 0;
  const std::string_view separators = uri ? "&#" : " \t\n";
  while (pos < url.size()) {
    std::size_t end = url.find_first_of(separators, pos);
    if (end == std::string_view::npos) end = url.size();
    std::string_view item = url.substr(pos, end - pos);
    const std::size_t eq = item.find('=');
    if (eq != std::string_view::npos) {
      std::string_view key = item.substr(0, eq);
      while (!key.empty() && key.back() == ' ') key.remove_suffix(1);
      if (iequals(key, "password")) {
        std::size_t vb = pos + eq + 1;
        while (!uri && vb < url.size() && url[vb] == ' ') ++vb;
        std::size_t ve = end;
        if (!uri && vb < url.size() && url[vb] == '\'') {  // conninfo quoting: 'pa ss'
          const std::size_t close = url.find('\'', vb + 1);
          ve = close == std::string_view::npos ? url.size() : close + 1;
          end = ve;
        }
        fn(vb, ve);
      }
    }
    if (uri && end < url.size() && url[end] == '#') break;
    pos = end + 1;
  }
}

}  // namespace

std::string redact_db_url(const std::string& url) {
  std::vector<std::pair<std::size_t, std::size_t>> ranges;
  const UrlParts p = split(url);
  if (p.password_begin != std::string_view::npos) ranges.emplace_back(p.password_begin, p.password_end);
  for_each_password_param(url, [&](std::size_t b, std::size_t e) { ranges.emplace_back(b, e); });
  std::sort(ranges.begin(), ranges.end());
  std::string out;
  std::size_t at = 0;
  for (const auto& [b, e] : ranges) {
    if (b < at) continue;
    out.append(url, at, b - at);
    out += kMask;
    at = e;
  }
  out.append(url, at, std::string::npos);
  return out;
}

namespace db_url {

std::vector<std::string> secrets(std::string_view url) {
  std::vector<std::string> out;
  auto add = [&out](std::string_view raw) {
    if (raw.empty()) return;
    std::string unquoted(raw);
    if (unquoted.size() >= 2 && unquoted.front() == '\'' && unquoted.back() == '\'') {
      unquoted = unquoted.substr(1, unquoted.size() - 2);
    }
    for (std::string s : {std::string(raw), unquoted, percent_decode(unquoted)}) {
      if (!s.empty() && std::find(out.begin(), out.end(), s) == out.end()) out.push_back(std::move(s));
    }
  };
  const UrlParts p = split(url);
  if (p.password_begin != std::string_view::npos)
    add(url.substr(p.password_begin, p.password_end - p.password_begin));
  for_each_password_param(url, [&](std::size_t b, std::size_t e) { add(url.substr(b, e - b)); });
  // Longest first, so a secret containing another is masked whole.
  std::sort(out.begin(), out.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  return out;
}

std::string scrub(std::string text, const std::vector<std::string>& secrets) {
  for (const std::string& s : secrets) {
    if (s.empty()) continue;
    std::size_t pos = 0;
    while ((pos = text.find(s, pos)) != std::string::npos) {
      text.replace(pos, s.size(), kMask);
      pos += kMask.size();
    }
  }
  return text;
}

}  // namespace db_url
}  // namespace shadowmeter::collector
