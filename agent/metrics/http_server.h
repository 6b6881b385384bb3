// Small HTTP/1.1 server (Boost.Beast) for GET /metrics, /healthz and /readyz on the agent's io_context.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

namespace shadowmeter::metrics {

struct Endpoints {
  std::function<std::string()> metrics_text;  // Prometheus text format
  std::function<bool()> ready;                // /readyz: 200 when true, 503 otherwise
};

// Bounds that keep a misbehaving or hostile client from costing the agent more than a little memory.
struct ServerLimits {
  std::size_t max_connections = 64;          // further connections are closed as soon as they are accepted
  std::uint32_t header_limit = 8192;         // larger request headers get 431 and the connection closes
  std::uint64_t body_limit = 8192;           // larger request bodies get 413 and the connection closes
  std::chrono::milliseconds timeout{10000};  // per read (including keep-alive idle time) and per write
};

// A parsed `listen` value; host "" means all addresses (IPv6 and IPv4 where the host has both).
struct ListenAddress {
  std::string host;  // without brackets
  unsigned short port = 0;
};

// Throws std::runtime_error naming the problem; does not resolve host names.
ListenAddress parse_listen_address(const std::string& listen);

class HttpServer {
 public:
  // `listen` is "ADDR:PORT" ("127.0.0.1:9464", "[::1]:9464", ":9464" = all addresses,
  // "localhost:9464" = resolved once at start, IPv4 preferred).
  // Throws std::runtime_error with the reason when it cannot parse, resolve or bind.
  // `io` must be run by one thread (there is no strand); the endpoint callbacks run on it.
  HttpServer(boost::asio::io_context& io, const std::string& listen, Endpoints endpoints);
  HttpServer(boost::asio::io_context& io, const std::string& listen, Endpoints endpoints,
             ServerLimits limits);
  // stop() and the destructor must run on the io_context's thread, or while it is not running.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  void stop();
  unsigned short port() const;  // the bound port (useful with port 0)

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace shadowmeter::metrics
