// Small HTTP/1.1 server (Boost.Beast) for GET /metrics, /healthz and /readyz on the agent's io_context.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

namespace shadowmeter::metrics {

struct Endpoints {
  std::function<std::string()> metrics_text;  // Prometheus text format
  std::function<bool()> ready;                // /readyz: 200 when true, 503 otherwise
};

class HttpServer {
 public:
  // `listen` is "ADDR:PORT" ("127.0.0.1:9464", "[::1]:9464", ":9464" = all addresses).
  // Throws std::runtime_error with the reason when it cannot bind.
  HttpServer(boost::asio::io_context& io, const std::string& listen, Endpoints endpoints);
  ~HttpServer();
  void stop();
  unsigned short port() const;  // the bound port (useful with port 0)

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace shadowmeter::metrics
