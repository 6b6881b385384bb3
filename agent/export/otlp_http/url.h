// The collector endpoint: "http(s)://host[:port][/path][?query]" split into what a connection and a
// request need. IPv6 literals are written in brackets; user info and fragments are refused (a
// credential in a URL ends up in logs).
#pragma once

#include <string>
#include <string_view>

namespace shadowmeter::exporting::otlp_http {

struct Url {
  bool tls = true;          // https
  std::string host;         // without IPv6 brackets
  std::string port;         // "443" / "80" when the URL has none
  std::string target;       // path and query; "/v1/traces" when the URL has no path
  std::string host_header;  // "host:port", IPv6 in brackets
  bool host_is_ip = false;  // an IP literal: verified as an IP SAN, and no SNI is sent
};

// Throws std::invalid_argument naming the URL and what is wrong with it.
Url parse_url(std::string_view url);

}  // namespace shadowmeter::exporting::otlp_http
