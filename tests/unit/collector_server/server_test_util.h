// Helpers of the in-process server tests: a small Beast client (plain or TLS) whose every operation is
// bounded by a timeout, OTLP bodies, gzip, and test certificates made with the openssl command.
#pragma once

#include <stdlib.h>
#include <zlib.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "export/otlp_json.h"
#include "temp_file.h"

namespace smtest {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

constexpr std::chrono::seconds kClientTimeout{20};

using shadowmeter::testing::TempDir;

// A CA and server certificate (CN localhost, SAN 127.0.0.1), a client CA with a client certificate
// (CN agent-1), and a self-signed "rogue" client certificate no one trusts. Made once per process.
struct Certs {
  TempDir dir;
  std::string ca, server_cert, server_key, client_ca, client_cert, client_key, rogue_cert, rogue_key;

  Certs() {
    const std::string script = dir.file("make.sh");
    FILE* f = std::fopen(script.c_str(), "w");
    REQUIRE(f != nullptr);
    std::fputs(
        "set -e\n"
        "key='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes'\n"
        "openssl req -x509 $key -keyout ca.key -out ca.crt -subj /CN=test-server-ca -days 2\n"
        "openssl req $key -keyout server.key -out server.csr -subj /CN=localhost\n"
        "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > server.ext\n"
        "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 "
        "-extfile server.ext\n"
        "openssl req -x509 $key -keyout clientca.key -out clientca.crt -subj /CN=test-client-ca -days 2\n"
        "openssl req $key -keyout client.key -out client.csr -subj /CN=agent-1\n"
        "printf 'extendedKeyUsage=clientAuth\\n' > client.ext\n"
        "openssl x509 -req -in client.csr -CA clientca.crt -CAkey clientca.key -CAcreateserial -out "
        "client.crt "
        "-days 2 -extfile client.ext\n"
        "openssl req -x509 $key -keyout rogue.key -out rogue.crt -subj /CN=rogue -days 2\n",
        f);
    std::fclose(f);
    const std::string cmd = "cd " + dir.file("") + " && sh make.sh >make.log 2>&1";
    REQUIRE(std::system(cmd.c_str()) == 0);
    ca = dir.file("ca.crt");
    server_cert = dir.file("server.crt");
    server_key = dir.file("server.key");
    client_ca = dir.file("clientca.crt");
    client_cert = dir.file("client.crt");
    client_key = dir.file("client.key");
    rogue_cert = dir.file("rogue.crt");
    rogue_key = dir.file("rogue.key");
  }
};

inline const Certs& certs() {
  static const Certs c;
  return c;
}

// A client TLS context trusting the test server CA, optionally presenting a client certificate.
inline ssl::context client_tls(const std::string& cert = "", const std::string& key = "") {
  ssl::context ctx(ssl::context::tls_client);
  ctx.set_verify_mode(ssl::verify_peer);
  ctx.load_verify_file(certs().ca);
  if (!cert.empty()) {
    ctx.use_certificate_chain_file(cert);
    ctx.use_private_key_file(key, ssl::context::pem);
  }
  return ctx;
}

// One client connection; every operation runs the io_context until it completes or times out.
class Conn {
 public:
  explicit Conn(unsigned short port) : port_(port) { plain_.emplace(io_); }
  Conn(unsigned short port, ssl::context& ctx) : port_(port) { tls_.emplace(io_, ctx); }

  beast::error_code connect() {
    beast::error_code result = asio::error::would_block;
    lowest().expires_after(kClientTimeout);
    lowest().async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_),
                           [&](const beast::error_code& ec) { result = ec; });
    run();
    if (result || !tls_) return result;
    result = asio::error::would_block;
    tls_->async_handshake(ssl::stream_base::client, [&](const beast::error_code& ec) { result = ec; });
    run();
    return result;
  }

  beast::error_code send(Request req) {
    req.prepare_payload();
    req_ = std::move(req);
    return op([&](auto& s, auto done) { http::async_write(s, req_, done); });
  }

  beast::error_code write_raw(const std::string& bytes) {
    raw_ = bytes;
    return op([&](auto& s, auto done) { asio::async_write(s, asio::buffer(raw_), done); });
  }

  beast::error_code read(Response& res) {
    res = {};
    return op([&](auto& s, auto done) { http::async_read(s, buf_, res, done); });
  }

  beast::error_code read_continue(http::response<http::empty_body>& res) {
    return op([&](auto& s, auto done) { http::async_read(s, buf_, res, done); });
  }

  // True when the server has closed the connection (a read ends without data).
  bool closed_by_server() {
    std::array<char, 256> scratch{};
    std::size_t n = 0;
    const beast::error_code ec = op([&](auto& s, auto done) {
      s.async_read_some(asio::buffer(scratch), [&n, done](const beast::error_code& e, std::size_t got) {
        n = got;
        done(e, got);
      });
    });
    return ec && n == 0 && ec != beast::error::timeout;
  }

 private:
  beast::tcp_stream& lowest() { return tls_ ? beast::get_lowest_layer(*tls_) : *plain_; }

  void run() {
    io_.restart();
    io_.run();
  }

  template <class Start>
  beast::error_code op(Start start) {
    beast::error_code result = asio::error::would_block;
    auto done = [&result](const beast::error_code& ec, std::size_t) { result = ec; };
    lowest().expires_after(kClientTimeout);
    if (tls_)
      start(*tls_, done);
    else
      start(*plain_, done);
    run();
    return result;
  }

  asio::io_context io_;
  unsigned short port_;
  std::optional<beast::tcp_stream> plain_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
  beast::flat_buffer buf_;
  Request req_;
  std::string raw_;
};

// One request on a new connection; REQUIREs that it got an answer.
inline Response fetch(unsigned short port, Request req) {
  Conn c(port);
  REQUIRE_FALSE(c.connect());
  REQUIRE_FALSE(c.send(std::move(req)));
  Response res;
  const beast::error_code ec = c.read(res);
  INFO(ec.message());
  REQUIRE_FALSE(ec);
  return res;
}

// Like fetch() but without Catch assertions (Catch is not thread-safe): for requests made on other threads.
inline std::optional<Response> try_fetch(unsigned short port, Request req) {
  Conn c(port);
  Response res;
  if (c.connect() || c.send(std::move(req)) || c.read(res)) return std::nullopt;
  return res;
}

inline Request get(const std::string& target, const std::string& token = "") {
  Request r{http::verb::get, target, 11};
  r.set(http::field::host, "127.0.0.1");
  if (!token.empty()) r.set(http::field::authorization, "Bearer " + token);
  return r;
}

inline Request post(const std::string& body, const std::string& token,
                    const std::string& content_type = "application/json", const std::string& encoding = "") {
  Request r{http::verb::post, "/v1/traces", 11};
  r.set(http::field::host, "127.0.0.1");
  if (!token.empty()) r.set(http::field::authorization, "Bearer " + token);
  if (!content_type.empty()) r.set(http::field::content_type, content_type);
  if (!encoding.empty()) r.set(http::field::content_encoding, encoding);
  r.body() = body;
  return r;
}

inline std::string event_id(int n) {
  char buf[33];
  std::snprintf(buf, sizeof buf, "%032x", n);
  return buf;
}

inline nlohmann::json call_event(int n) {
  return {{"shadowmeter.event_id", event_id(n)},
          {"time_unix_nano", 1000 + n},
          {"end_time_unix_nano", 2000 + n},
          {"gen_ai.provider.name", "openai"},
          {"gen_ai.request.model", "gpt-4o"}};
}

inline nlohmann::json record_event(int n, const char* type) {
  nlohmann::json r = {{"shadowmeter.event_id", event_id(n)},
                      {"time_unix_nano", 1763900000000000000ull},
                      {"end_time_unix_nano", 1763900000000000000ull},
                      {"shadowmeter.record.type", type}};
  if (std::string(type) == "gap") r["shadowmeter.gap.dropped_events"] = 7;
  return r;
}

inline std::string otlp(const std::vector<nlohmann::json>& events, const std::string& host = "node-1") {
  shadowmeter::exporting::OtlpResource res;
  res.host_name = host;
  return shadowmeter::exporting::encode_otlp_traces(events, res);
}

inline std::string otlp_calls(int from, int count) {
  std::vector<nlohmann::json> events;
  for (int i = from; i < from + count; ++i) events.push_back(call_event(i));
  return otlp(events);
}

// gzip of `total` bytes repeating `chunk`, streamed.
inline std::string gzip_repeat(const std::string& chunk, std::size_t total) {
  z_stream zs{};
  REQUIRE(deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out;
  std::vector<unsigned char> buf(1 << 16);
  std::size_t fed = 0;
  int rc = Z_OK;
  do {
    const std::size_t n = std::min(chunk.size(), total - fed);
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(chunk.data()));
    zs.avail_in = static_cast<uInt>(n);
    fed += n;
    const int flush = fed == total ? Z_FINISH : Z_NO_FLUSH;
    do {
      zs.next_out = buf.data();
      zs.avail_out = static_cast<uInt>(buf.size());
      rc = deflate(&zs, flush);
      out.append(reinterpret_cast<char*>(buf.data()), buf.size() - zs.avail_out);
    } while (zs.avail_out == 0);
  } while (fed < total);
  REQUIRE(rc == Z_STREAM_END);
  deflateEnd(&zs);
  return out;
}

inline std::string gzip(const std::string& s) { return gzip_repeat(s, s.size()); }

}  // namespace smtest
