#include "preflight/collector_probe.h"

#include <netdb.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "export/otlp_http/tls_context.h"
#include "export/otlp_http/url.h"

namespace shadowmeter::preflight {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
namespace otlp_http = exporting::otlp_http;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxHealthBody = 4096;

// getaddrinfo() cannot be interrupted: it runs on its own thread, which owns its state, and is left
// behind when the deadline passes first (the process is about to go on or exit anyway).
struct Resolution {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  int rc = 0;
  std::vector<tcp::endpoint> endpoints;
};

std::string resolve(const std::string& host, const std::string& port, Clock::time_point deadline,
                    std::vector<tcp::endpoint>& out) {
  auto r = std::make_shared<Resolution>();
  std::thread([r, host, port] {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res);
    std::vector<tcp::endpoint> eps;
    for (addrinfo* a = res; rc == 0 && a; a = a->ai_next) {
      tcp::endpoint ep;
      if (a->ai_addrlen > ep.capacity()) continue;
      std::memcpy(ep.data(), a->ai_addr, a->ai_addrlen);
      ep.resize(a->ai_addrlen);
      eps.push_back(ep);
    }
    if (res) ::freeaddrinfo(res);
    std::lock_guard lock(r->mu);
    r->rc = rc;
    r->endpoints = std::move(eps);
    r->done = true;
    r->cv.notify_all();
  }).detach();
  std::unique_lock lock(r->mu);
  if (!r->cv.wait_until(lock, deadline, [&] { return r->done; })) return "resolving " + host + ": timed out";
  if (r->rc != 0) return "resolving " + host + ": " + ::gai_strerror(r->rc);
  if (r->endpoints.empty()) return "resolving " + host + ": no address";
  out = std::move(r->endpoints);
  return {};
}

// Runs the io_context until the started operation's handler ran (the stream's own expiry ends it).
template <class Start>
boost::system::error_code run(asio::io_context& io, Start&& start) {
  boost::system::error_code result = asio::error::would_block;
  start([&result](boost::system::error_code ec, auto&&...) { result = ec; });
  io.restart();
  io.run();
  return result;
}

template <class Stream>
std::string get_healthz(asio::io_context& io, Stream& stream, beast::tcp_stream& lowest,
                        const otlp_http::Url& url, Clock::time_point deadline, unsigned& status) {
  http::request<http::empty_body> req{http::verb::get, "/healthz", 11};
  req.set(http::field::host, url.host_header);
  req.set(http::field::user_agent, "shadowmeter-agent-check");
  req.keep_alive(false);
  lowest.expires_at(deadline);
  if (auto ec = run(io, [&](auto h) { http::async_write(stream, req, std::move(h)); }))
    return "sending GET /healthz: " + ec.message();
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxHealthBody);
  lowest.expires_at(deadline);
  if (auto ec = run(io, [&](auto h) { http::async_read(stream, buffer, parser, std::move(h)); }))
    return "reading the answer to GET /healthz: " + ec.message();
  status = parser.get().result_int();
  return {};
}

}  // namespace

CollectorProbe probe_collector(const config::AgentConfig& cfg, std::chrono::milliseconds timeout) {
  CollectorProbe p;
  const auto deadline = Clock::now() + timeout;
  otlp_http::Url url;
  try {
    url = otlp_http::parse_url(cfg.collector_url);
  } catch (const std::exception& e) {
    p.detail = e.what();
    return p;
  }
  const std::string where = url.host_header;

  std::vector<tcp::endpoint> endpoints;
  if (auto err = resolve(url.host, url.port, deadline, endpoints); !err.empty()) {
    p.detail = err;
    return p;
  }

  asio::io_context io;
  std::shared_ptr<asio::ssl::context> tls;
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  const auto& x = cfg.exporting;
  if (url.tls) {
    try {
      tls = otlp_http::make_tls_context(
          {x.ca_file, x.client_cert_file, x.client_key_file, x.server_name.empty() ? url.host : x.server_name});
    } catch (const std::exception& e) {
      p.detail = e.what();
      return p;
    }
    secure.emplace(io, *tls);
    if (!otlp_http::set_peer_name(secure->native_handle(), x.server_name.empty() ? url.host : x.server_name)) {
      p.detail = "cannot set the TLS peer name";
      return p;
    }
  } else {
    plain.emplace(io);
  }
  beast::tcp_stream& lowest = secure ? beast::get_lowest_layer(*secure) : *plain;

  lowest.expires_at(deadline);
  tcp::endpoint connected;
  auto ec = run(io, [&](auto h) {
    lowest.async_connect(endpoints, [&connected, h](boost::system::error_code e, const tcp::endpoint& ep) mutable {
      connected = ep;
      h(e);
    });
  });
  if (ec) {
    p.detail = "connecting to " + where + ": " + ec.message();
    return p;
  }
  std::string steps = "connected to " + connected.address().to_string() + " port " + std::to_string(connected.port());
  unsigned status = 0;
  std::string err;
  if (secure) {
    lowest.expires_at(deadline);
    ec = run(io, [&](auto h) { secure->async_handshake(asio::ssl::stream_base::client, std::move(h)); });
    if (ec) {
      p.detail = steps + "; TLS handshake with " + where + ": " + ec.message() +
                 (x.ca_file.empty() ? " (verified against the system CAs)" : " (CA file " + x.ca_file + ")");
      return p;
    }
    steps += ", TLS ";
    steps += SSL_get_version(secure->native_handle());
    err = get_healthz(io, *secure, lowest, url, deadline, status);
  } else {
    steps += ", plain HTTP";
    err = get_healthz(io, *plain, lowest, url, deadline, status);
  }
  if (!err.empty()) {
    p.detail = steps + "; " + err;
    return p;
  }
  p.ok = status == 200;
  p.detail = steps + ", GET /healthz: " + std::to_string(status);
  return p;
}

}  // namespace shadowmeter::preflight
