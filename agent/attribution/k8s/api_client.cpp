#include "attribution/k8s/api_client.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <fstream>
#include <limits>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

namespace shadowmeter::attribution::k8s {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

constexpr std::size_t kMaxTokenBytes = 64 * 1024;
constexpr std::size_t kReadChunk = 64 * 1024;

// The bearer token, trimmed; nullopt when unreadable, empty or not a single printable line.
std::optional<std::string> read_token(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string token(kMaxTokenBytes + 1, '\0');
  in.read(token.data(), static_cast<std::streamsize>(token.size()));
  token.resize(static_cast<std::size_t>(in.gcount()));
  if (token.size() > kMaxTokenBytes) return std::nullopt;
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!token.empty() && is_space(token.back())) token.pop_back();
  const auto first = std::find_if_not(token.begin(), token.end(), is_space);
  token.erase(token.begin(), first);
  if (token.empty()) return std::nullopt;
  const bool printable = std::all_of(token.begin(), token.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f;
  });
  if (!printable) return std::nullopt;
  return token;
}

}  // namespace

ApiEndpoint parse_api_server(const std::string& url) {
  const auto bad = [&](const std::string& why) {
    return std::invalid_argument("API server URL '" + url + "': " + why);
  };
  constexpr std::string_view kScheme = "https://";
  if (url.rfind(kScheme, 0) != 0) throw bad("expected https://HOST[:PORT]");
  std::string_view rest = std::string_view(url).substr(kScheme.size());
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  ApiEndpoint ep;
  if (slash != std::string_view::npos) {
    ep.base_path = std::string(rest.substr(slash));
    while (!ep.base_path.empty() && ep.base_path.back() == '/') ep.base_path.pop_back();
  }
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) throw bad("missing ']'");
    ep.host = std::string(authority.substr(1, close - 1));
    const auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') throw bad("expected ':PORT' after ']'");
      port = after.substr(1);
    }
  } else {
    const auto colon = authority.find(':');
    ep.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (ep.host.empty()) throw bad("no host");
  if (ep.host.find_first_of("@/?# ") != std::string::npos) throw bad("unexpected character in the host");
  if (port.empty()) port = "443";
  if (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
    throw bad("port is not a number");
  ep.port = std::string(port);
  error_code ec;
  const auto address = asio::ip::make_address(ep.host, ec);
  ep.host_is_ip = !ec;
  const bool v6 = ep.host_is_ip && address.is_v6();
  ep.host_header = (v6 ? "[" + ep.host + "]" : ep.host) + ":" + ep.port;
  return ep;
}

std::string url_encode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    }
  }
  return out;
}

struct ApiConnection::Io {
  explicit Io(const std::atomic<bool>& aborted_flag) : aborted(aborted_flag) {}

  const std::atomic<bool>& aborted;
  asio::io_context io;
  asio::steady_timer deadline{io};
  asio::steady_timer sleeper{io};
  tcp::resolver resolver{io};
  std::optional<ssl::context> tls;
  std::optional<ssl::stream<tcp::socket>> stream;  // after tls: destroyed first
  std::vector<char> chunk = std::vector<char>(kReadChunk);

  void close_all() {
    deadline.cancel();
    sleeper.cancel();
    resolver.cancel();
    if (stream) {
      error_code ignored;
      stream->lowest_layer().close(ignored);
    }
  }

  // Starts one operation, then drives the io_context until both it and its deadline handler have
  // run (they reference this frame). A deadline that fires closes the socket, which ends the operation.
  template <class Start>
  error_code run(Start&& start, std::chrono::steady_clock::duration timeout) {
    if (aborted.load()) return asio::error::operation_aborted;
    int pending = 2;
    bool timed_out = false;
    error_code result;
    deadline.expires_after(timeout);
    deadline.async_wait([&](error_code ec) {
      --pending;
      if (!ec && pending > 0) {
        timed_out = true;
        close_all();
      }
    });
    start([&](error_code ec, auto&&...) {
      result = ec;
      --pending;
      deadline.cancel();
    });
    io.restart();
    while (pending > 0 && io.run_one() > 0) {
    }
    if (pending > 0) return asio::error::operation_aborted;  // the io_context ran dry: cannot happen
    if (timed_out && result) return asio::error::timed_out;
    return result;
  }
};

ApiConnection::ApiConnection(WatcherOptions options, ApiEndpoint endpoint)
    : options_(std::move(options)), endpoint_(std::move(endpoint)), io_(std::make_unique<Io>(aborted_)) {}

ApiConnection::~ApiConnection() = default;

void ApiConnection::abort() {
  aborted_.store(true);
  // Closing runs on the io_context's thread, never concurrently with an operation in progress.
  asio::post(io_->io, [io = io_.get()] { io->close_all(); });
}

bool ApiConnection::sleep(std::chrono::milliseconds duration) {
  Io& io = *io_;
  const auto ec = io.run(
      [&](auto handler) {
        io.sleeper.expires_after(duration);
        io.sleeper.async_wait(std::move(handler));
      },
      duration + std::chrono::seconds(1));
  return !ec && !aborted_.load();
}

GetResult ApiConnection::get(const std::string& target, const BodySink& sink, const GetLimits& limits) {
  Io& io = *io_;
  GetResult r;
  const auto fail = [&](const std::string& what, const error_code& ec) {
    r.kind = aborted_.load() ? GetResult::Kind::kAborted : GetResult::Kind::kFailed;
    r.error = what + (ec ? ": " + ec.message() : std::string());
    return r;
  };
  if (aborted_.load()) return fail("aborted", {});

  std::string token;
  if (!options_.token_file.empty()) {
    auto read = read_token(options_.token_file);
    if (!read) return fail("cannot read a token from '" + options_.token_file + "'", {});
    token = std::move(*read);
  }

  // A fresh TLS context per connection, so that a rotated CA bundle or client certificate is used.
  io.stream.reset();
  io.tls.emplace(ssl::context::tls_client);
  error_code ec;
  SSL_CTX_set_min_proto_version(io.tls->native_handle(), TLS1_2_VERSION);
  io.tls->set_verify_mode(ssl::verify_peer, ec);
  if (options_.ca_file.empty()) {
    io.tls->set_default_verify_paths(ec);
  } else {
    io.tls->load_verify_file(options_.ca_file, ec);
  }
  if (ec) return fail("CA bundle '" + options_.ca_file + "'", ec);
  if (!options_.client_cert_file.empty()) {
    io.tls->use_certificate_chain_file(options_.client_cert_file, ec);
    if (ec) return fail("client certificate '" + options_.client_cert_file + "'", ec);
    io.tls->use_private_key_file(options_.client_key_file, ssl::context::pem, ec);
    if (ec) return fail("client key '" + options_.client_key_file + "'", ec);
  }
  io.stream.emplace(io.io, *io.tls);
  SSL* ssl_handle = io.stream->native_handle();
  if (endpoint_.host_is_ip) {
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_handle), endpoint_.host.c_str()) != 1)
      return fail("cannot set the expected server IP", {});
  } else {
    if (SSL_set1_host(ssl_handle, endpoint_.host.c_str()) != 1)
      return fail("cannot set the expected server name", {});
    // SSL_set_tlsext_host_name is a macro with a C cast; this is its expansion.
    SSL_ctrl(ssl_handle, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(endpoint_.host.c_str()));
  }

  const auto step = limits.connect_timeout;
  tcp::resolver::results_type endpoints;
  ec = io.run(
      [&](auto handler) {
        io.resolver.async_resolve(
            endpoint_.host, endpoint_.port,
            [&endpoints, handler](error_code e, tcp::resolver::results_type found) mutable {
              endpoints = std::move(found);
              handler(e);
            });
      },
      step);
  if (ec) return fail("resolving " + endpoint_.host, ec);
  ec = io.run(
      [&](auto handler) { asio::async_connect(io.stream->lowest_layer(), endpoints, std::move(handler)); },
      step);
  if (ec) return fail("connecting to " + endpoint_.host_header, ec);
  ec = io.run([&](auto handler) { io.stream->async_handshake(ssl::stream_base::client, std::move(handler)); },
              step);
  if (ec) return fail("TLS handshake with " + endpoint_.host_header, ec);

  {
    http::request<http::empty_body> request{http::verb::get, target, 11};
    request.set(http::field::host, endpoint_.host_header);
    request.set(http::field::user_agent, "shadowmeter");
    request.set(http::field::accept, "application/json");
    if (!token.empty()) request.set(http::field::authorization, "Bearer " + token);
    std::fill(token.begin(), token.end(), '\0');
    ec = io.run([&](auto handler) { http::async_write(*io.stream, request, std::move(handler)); }, step);
    if (ec) return fail("sending the request", ec);
  }

  http::response_parser<http::buffer_body> parser;
  parser.header_limit(64 * 1024);
  // The sink bounds what it keeps. Not boost::none: Boost 1.74 compares the length with the optional
  // itself, so "no limit" fails every response that has a body.
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  beast::flat_buffer buffer;
  ec = io.run([&](auto handler) { http::async_read_header(*io.stream, buffer, parser, std::move(handler)); },
              step);
  if (ec) return fail("reading the response header", ec);
  r.status = parser.get().result_int();
  if (r.status != 200) {
    r.kind = GetResult::Kind::kHttpStatus;
    r.error = "HTTP status " + std::to_string(r.status);
    return r;
  }
  while (!parser.is_done()) {
    parser.get().body().data = io.chunk.data();
    parser.get().body().size = io.chunk.size();
    ec = io.run([&](auto handler) { http::async_read_some(*io.stream, buffer, parser, std::move(handler)); },
                limits.read_timeout);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) return fail("reading the body", ec);
    const std::size_t got = io.chunk.size() - parser.get().body().size;
    if (got > 0 && !sink(std::string_view(io.chunk.data(), got))) {
      r.kind = GetResult::Kind::kStoppedByCaller;
      return r;
    }
  }
  r.kind = GetResult::Kind::kOk;
  return r;
}

}  // namespace shadowmeter::attribution::k8s
