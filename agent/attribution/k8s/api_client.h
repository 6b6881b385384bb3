// One HTTPS GET at a time against the Kubernetes API server, body streamed to a callback. Runs on the
// caller's thread (an Asio io_context driven one operation at a time, every operation with a
// deadline); abort() from any other thread closes the socket from that io_context so a blocked watch
// read ends at once.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "attribution/k8s/pod_watcher.h"

namespace shadowmeter::attribution::k8s {

struct ApiEndpoint {
  std::string host;         // without IPv6 brackets
  std::string port;         // "443" when the URL has none
  std::string base_path;    // path prefix without a trailing '/', usually ""
  std::string host_header;  // "host:port", IPv6 in brackets
  bool host_is_ip = false;
};

// "https://host[:port][/prefix]"; throws std::invalid_argument naming the problem.
ApiEndpoint parse_api_server(const std::string& url);

// Percent-encodes everything but RFC 3986 unreserved characters (for query values).
std::string url_encode(std::string_view value);

struct GetResult {
  enum class Kind { kOk, kHttpStatus, kFailed, kStoppedByCaller, kAborted };
  Kind kind = Kind::kFailed;
  unsigned status = 0;  // HTTP status when a response header arrived
  std::string error;    // what failed, never containing the token
};

struct GetLimits {
  std::chrono::milliseconds connect_timeout{5000};  // resolve, connect, TLS handshake, request, header
  std::chrono::milliseconds read_timeout{60000};    // each body read
};

class ApiConnection {
 public:
  // Receives body bytes as they arrive; returns false to end the request (kStoppedByCaller).
  using BodySink = std::function<bool(std::string_view)>;

  ApiConnection(WatcherOptions options, ApiEndpoint endpoint);
  ~ApiConnection();
  ApiConnection(const ApiConnection&) = delete;
  ApiConnection& operator=(const ApiConnection&) = delete;

  // A fresh connection per call (the token and certificates are re-read each time). The body is
  // handed over only for a 200 answer.
  GetResult get(const std::string& target, const BodySink& sink, const GetLimits& limits);
  // Sleeps, returns false when aborted.
  bool sleep(std::chrono::milliseconds duration);
  // Thread-safe; every later call returns kAborted / false at once.
  void abort();
  bool aborted() const { return aborted_.load(); }

 private:
  struct Io;
  WatcherOptions options_;
  ApiEndpoint endpoint_;
  std::atomic<bool> aborted_{false};
  std::unique_ptr<Io> io_;
};

}  // namespace shadowmeter::attribution::k8s
