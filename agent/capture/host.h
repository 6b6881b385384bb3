// Request and response head details both HTTP versions need: Host/:authority parsing (name and
// port, IPv6 literals in brackets), the path an event reports, and whether a body is an SSE stream.
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

// url.path: the request target without the query string (it can carry credentials: ?key=) and,
// for absolute-form targets (proxies), without scheme and authority.
std::string path_of(std::string_view target);

// Content-Type text/event-stream (any case, parameters allowed).
bool is_event_stream(std::string_view content_type);

}  // namespace shadowmeter::capture
