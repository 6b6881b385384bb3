// Host header parsing (name and port, IPv6 literals in brackets) for classification and events.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace shadowmeter::capture {

struct HostPort {
  std::string host;  // lower-cased, no trailing dot, no brackets
  std::optional<std::uint16_t> port;
};

std::optional<HostPort> parse_host_header(std::string_view value);

}  // namespace shadowmeter::capture
