// A small OTLP/HTTP receiver for the exporter's tests: real loopback sockets, HTTP/1.1 keep-alive,
// optional TLS (and client certificate check), gzip bodies decoded with zlib and OTLP with
// exporting::decode_otlp_traces, answers chosen by a script per request. Blocking I/O, one thread per
// connection; stopping shuts the sockets down so that every blocked call returns.
#pragma once

#include <sys/socket.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "export/otlp_json.h"

namespace shadowmeter::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// Whole gzip (or zlib) body; nullopt when it is not valid or inflates past `limit`.
inline std::optional<std::string> gunzip(const std::string& in, std::size_t limit = 256u << 20) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 32) != Z_OK) return std::nullopt;  // gzip or zlib header
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  std::string out;
  char chunk[16384];
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(chunk);
    zs.avail_out = sizeof(chunk);
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(chunk, sizeof(chunk) - zs.avail_out);
    if (out.size() > limit) rc = Z_MEM_ERROR;
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) break;
  }
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) return std::nullopt;
  return out;
}

// Polls until `done` holds or `limit` passes; the result of the last check.
inline bool eventually(const std::function<bool()>& done,
                       std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return done();
}

// A port that was free a moment ago (for a server that starts later).
inline unsigned short free_port() {
  asio::io_context io;
  tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

struct Received {
  std::string target;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;                            // decoded (gunzipped) body
  bool gzip_ok = true;
  std::vector<nlohmann::json> events;  // decode_otlp_traces of the body
  std::string decode_error;            // "" when it decoded
  std::string client_cert_subject;     // "" without a client certificate
  unsigned answered = 0;               // the status sent back
  std::size_t connection = 0;          // which connection it came on (1, 2, ...)
};

struct Reply {
  unsigned status = 200;
  std::string retry_after;  // "" = no header
  std::string body;
  bool drop_connection = false;  // close the socket after answering, without saying so
};

inline Reply reply(unsigned status, std::string retry_after = {}, std::string body = {}) {
  Reply r;
  r.status = status;
  r.retry_after = std::move(retry_after);
  r.body = std::move(body);
  return r;
}

class TestServer {
 public:
  struct Tls {
    std::string cert_file, key_file;
    std::string client_ca_file;  // "" = no client certificates asked for
  };
  using Script = std::function<Reply(const Received&)>;

  explicit TestServer(unsigned short port = 0, std::optional<Tls> tls = std::nullopt) : acceptor_(io_) {
    if (tls) {
      tls_.emplace(asio::ssl::context::tls_server);
      tls_->use_certificate_chain_file(tls->cert_file);
      tls_->use_private_key_file(tls->key_file, asio::ssl::context::pem);
      if (!tls->client_ca_file.empty()) {
        tls_->load_verify_file(tls->client_ca_file);
        tls_->set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
      }
    }
    const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread([this] { accept_loop(); });
  }

  ~TestServer() {
    stopping_ = true;
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    accept_thread_.join();
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mu_);
      for (const int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
  }

  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  unsigned short port() const { return port_; }
  std::string url() const {
    return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) + "/v1/traces";
  }

  void script(Script s) {
    std::lock_guard lock(mu_);
    script_ = std::move(s);
  }

  std::vector<Received> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  std::size_t request_count() const {
    std::lock_guard lock(mu_);
    return requests_.size();
  }
  // Events of the requests answered 2xx, in arrival order.
  std::vector<nlohmann::json> accepted() const {
    std::vector<nlohmann::json> out;
    std::lock_guard lock(mu_);
    for (const auto& r : requests_)
      if (r.answered >= 200 && r.answered < 300) out.insert(out.end(), r.events.begin(), r.events.end());
    return out;
  }
  std::size_t connections() const { return connections_.load(); }
  std::size_t handshake_failures() const { return handshake_failures_.load(); }

 private:
  void accept_loop() {
    while (!stopping_) {
      tcp::socket socket(io_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stopping_) break;
      const std::size_t n = ++connections_;
      std::lock_guard lock(mu_);
      open_fds_.insert(socket.native_handle());
      threads_.emplace_back([this, n, s = std::move(socket)]() mutable { serve(std::move(s), n); });
    }
  }

  void serve(tcp::socket socket, std::size_t connection) {
    const int fd = socket.native_handle();
    boost::system::error_code ec;
    if (tls_) {
      asio::ssl::stream<tcp::socket&> stream(socket, *tls_);
      stream.handshake(asio::ssl::stream_base::server, ec);
      if (ec) {
        ++handshake_failures_;
      } else {
        std::string subject;
        if (X509* cert = SSL_get1_peer_certificate(stream.native_handle())) {
          char buf[256];
          X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof(buf));
          subject = buf;
          X509_free(cert);
        }
        exchange(stream, connection, subject);
      }
    } else {
      exchange(socket, connection, "");
    }
    std::lock_guard lock(mu_);
    open_fds_.erase(fd);  // before the socket closes: the destructor only shuts down open ones
  }

  template <class Stream>
  void exchange(Stream& stream, std::size_t connection, const std::string& subject) {
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(std::uint64_t{64} << 20);
      boost::system::error_code ec;
      http::read(stream, buffer, parser, ec);
      if (ec) return;
      const auto& req = parser.get();
      Received r;
      r.target = std::string(req.target());
      for (const auto& f : req) {
        std::string name(f.name_string());
        std::transform(name.begin(), name.end(), name.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        r.headers[name] = std::string(f.value());
      }
      r.body = req.body();
      if (const auto ce = r.headers.find("content-encoding"); ce != r.headers.end() && ce->second == "gzip") {
        auto plain = gunzip(req.body());
        r.gzip_ok = plain.has_value();
        r.body = plain.value_or("");
      }
      exporting::OtlpDecoded decoded = exporting::decode_otlp_traces(r.body);
      r.events = std::move(decoded.events);
      r.decode_error = std::move(decoded.error);
      r.client_cert_subject = subject;
      r.connection = connection;
      Reply reply;
      {
        std::lock_guard lock(mu_);
        if (!r.gzip_ok || !r.decode_error.empty())
          reply.status = 400;
        else if (script_)
          reply = script_(r);
        r.answered = reply.status;
        requests_.push_back(r);
      }
      http::response<http::string_body> res{static_cast<http::status>(reply.status), 11};
      if (!reply.retry_after.empty()) res.set(http::field::retry_after, reply.retry_after);
      res.set(http::field::content_type, "application/json");
      res.body() = reply.body.empty() ? "{}" : reply.body;
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      http::write(stream, res, ec);
      if (ec || !req.keep_alive() || reply.drop_connection) return;
    }
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::optional<asio::ssl::context> tls_;
  unsigned short port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> connections_{0};
  std::atomic<std::size_t> handshake_failures_{0};
  mutable std::mutex mu_;
  Script script_;
  std::vector<Received> requests_;
  std::set<int> open_fds_;
  std::vector<std::thread> threads_;
  std::thread accept_thread_;
};

}  // namespace shadowmeter::testing
