// One keep-alive HTTP/1.1 connection to the collector (plain TCP or TLS), used by one thread: POSTs a
// body and returns the status. Every step (resolve, connect, handshake, write, read) ends by the
// caller's deadline, and at once when the shared abort flag is set; on any error the connection is
// closed and the next request makes a new one. The bearer token goes only into the request header.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "export/otlp_http/tls_context.h"
#include "export/otlp_http/url.h"

namespace shadowmeter::exporting::otlp_http {

struct HttpClientOptions {
  Url url;
  std::optional<TlsSettings> tls;  // set for https
  std::string bearer_token;        // "" = no Authorization header
  std::string user_agent;
  std::string content_type = "application/json";
  std::size_t max_response_body = 64 * 1024;  // more is read over but not kept (the connection is closed)
};

struct HttpResponse {
  bool ok = false;  // a response arrived; status is valid
  unsigned status = 0;
  std::string retry_after;  // the Retry-After header, "" when absent
  std::string body;         // at most max_response_body bytes
  std::string error;        // when !ok: what failed (never the token)
  bool aborted = false;     // the abort flag ended it
};

class HttpClient {
 public:
  // Builds the TLS context at once: throws std::runtime_error when certificates are unusable.
  HttpClient(HttpClientOptions options, const std::atomic<bool>& abort);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // content_encoding "" = none. A request on a reused connection that the server had closed is
  // retried once on a new one (POSTs to the collector are idempotent: it dedupes on event ids).
  HttpResponse post(std::string_view body, std::string_view content_encoding,
                    std::chrono::steady_clock::time_point deadline);
  void close();
  bool connected() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace shadowmeter::exporting::otlp_http
