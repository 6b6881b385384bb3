#include "capture/host.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace shadowmeter::capture {

std::optional<HostPort> parse_host_header(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  if (v.empty() || v.size() > 300) return std::nullopt;
  HostPort out;
  std::string_view name = v, port;
  if (v.front() == '[') {
    auto close = v.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    name = v.substr(1, close - 1);
    auto rest = v.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port = rest.substr(1);
    }
  } else if (auto colon = v.rfind(':'); colon != std::string_view::npos) {
    name = v.substr(0, colon);
    port = v.substr(colon + 1);
  }
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty()) return std::nullopt;
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (!(std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == ':')) return std::nullopt;
    out.host.push_back(static_cast<char>(std::tolower(u)));
  }
  if (!port.empty()) {
    unsigned value = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || p != port.data() + port.size() || value == 0 || value > 65535) return std::nullopt;
    out.port = static_cast<std::uint16_t>(value);
  }
  return out;
}

std::string path_of(std::string_view target) {
  if (auto scheme = target.find("://"); scheme != std::string_view::npos && scheme < 8) {
    auto slash = target.find('/', scheme + 3);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  return std::string(target.substr(0, target.find_first_of("?#")));
}

bool is_event_stream(std::string_view content_type) {
  constexpr std::string_view kType = "text/event-stream";
  return content_type.size() >= kType.size() &&
         std::equal(kType.begin(), kType.end(), content_type.begin(),
                    [](char want, char got) { return (got | 0x20) == want; });
}

}  // namespace shadowmeter::capture
