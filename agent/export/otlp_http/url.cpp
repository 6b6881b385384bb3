#include "export/otlp_http/url.h"

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <cctype>
#include <charconv>
#include <stdexcept>

namespace shadowmeter::exporting::otlp_http {
namespace {

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), s.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
         });
}

}  // namespace

Url parse_url(std::string_view url) {
  const auto bad = [&](const std::string& why) {
    return std::invalid_argument("collector URL '" + std::string(url) + "': " + why);
  };
  Url out;
  std::string_view rest;
  if (starts_with_ci(url, "https://")) {
    rest = url.substr(8);
  } else if (starts_with_ci(url, "http://")) {
    out.tls = false;
    rest = url.substr(7);
  } else {
    throw bad("expected http://HOST[:PORT][/PATH] or https://...");
  }
  if (rest.find('#') != std::string_view::npos) throw bad("fragments are not allowed");
  const auto path_start = rest.find_first_of("/?");
  const std::string_view authority = rest.substr(0, path_start);
  if (authority.find('@') != std::string_view::npos)
    throw bad("user information is not allowed (use the token file for credentials)");

  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) throw bad("missing ']' after the IPv6 address");
    out.host = std::string(authority.substr(1, close - 1));
    const auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') throw bad("expected ':PORT' after ']'");
      port = after.substr(1);
      if (port.empty()) throw bad("empty port");
    }
  } else {
    const auto colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) throw bad("empty port");
    }
  }
  if (out.host.empty()) throw bad("no host");
  const bool host_ok = std::all_of(out.host.begin(), out.host.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == ':' || c == '%';
  });
  if (!host_ok) throw bad("unexpected character in the host");

  if (port.empty()) {
    out.port = out.tls ? "443" : "80";
  } else {
    unsigned value = 0;
    const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || ptr != port.data() + port.size() || value == 0 || value > 65535)
      throw bad("port '" + std::string(port) + "' is not a number from 1 to 65535");
    out.port = std::to_string(value);
  }

  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(out.host, ec);
  out.host_is_ip = !ec;
  if (!out.host_is_ip && out.host.find(':') != std::string::npos)
    throw bad("':' in a host name (IPv6 addresses go in brackets)");
  if (out.host_is_ip && address.is_v6() && authority.front() != '[')
    throw bad("IPv6 addresses go in brackets");
  out.host_header = (out.host_is_ip && address.is_v6() ? "[" + out.host + "]" : out.host) + ":" + out.port;

  if (path_start == std::string_view::npos) {
    out.target = "/v1/traces";  // the OTLP/HTTP default path for traces
  } else {
    out.target = std::string(rest.substr(path_start));
    if (out.target.front() == '?') out.target.insert(0, "/");
  }
  const bool target_ok = std::all_of(out.target.begin(), out.target.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f;
  });
  if (!target_ok) throw bad("the path has spaces or control characters");
  return out;
}

}  // namespace shadowmeter::exporting::otlp_http
