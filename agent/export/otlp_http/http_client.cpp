#include "export/otlp_http/http_client.h"

#include <algorithm>
#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/span.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <exception>
#include <limits>
#include <utility>

#include "common/log.h"

namespace shadowmeter::exporting::otlp_http {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using Clock = std::chrono::steady_clock;

// How often a running operation looks at the abort flag.
constexpr auto kAbortPoll = std::chrono::milliseconds(20);
constexpr std::size_t kMaxResponseHeaderBytes = 16 * 1024;

using Request = http::request<http::span_body<const char>>;

// How one write + read on an open connection ended.
struct Exchange {
  HttpResponse response;
  bool keep_connection = false;
  bool response_started = false;  // bytes of a response arrived (so the server did see the request)
};

}  // namespace

struct HttpClient::Impl {
  Impl(HttpClientOptions o, const std::atomic<bool>& abort_flag) : opt(std::move(o)), abort(abort_flag) {
    if (opt.tls) tls = make_tls_context(*opt.tls);
  }

  ~Impl() { close(); }

  HttpClientOptions opt;
  const std::atomic<bool>& abort;
  asio::io_context io;
  tcp::resolver resolver{io};
  std::shared_ptr<ssl::context> tls;         // the newest usable context
  std::shared_ptr<ssl::context> stream_tls;  // the context `secure` was made with (outlives it)
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;
  std::array<char, 16 * 1024> chunk{};  // response body reads
  log::RateLimit tls_log{1, std::chrono::seconds(60)};

  bool connected() const { return plain.has_value() || secure.has_value(); }
  beast::tcp_stream& lowest() { return secure ? beast::get_lowest_layer(*secure) : *plain; }

  void close() {
    if (connected()) lowest().close();
    secure.reset();
    plain.reset();
    stream_tls.reset();
    buffer.clear();
  }

  // Runs one asynchronous operation until its handler has run. Socket operations end by the
  // deadline through the tcp_stream's own timer; this loop adds the abort flag, and the deadline for
  // name resolution, which cannot be interrupted (getaddrinfo): that one is left behind, its handler
  // touching only state it owns.
  template <class Start>
  error_code drive(Start&& start, Clock::time_point deadline, bool resolving = false) {
    auto result = std::make_shared<std::optional<error_code>>();
    start([result](error_code ec, auto&&...) { *result = ec; });
    io.restart();
    bool cancelled = false;
    while (!result->has_value()) {
      const bool aborting = abort.load();
      const bool late =
          Clock::now() >= deadline + (resolving ? Clock::duration::zero() : std::chrono::seconds(1));
      if (!cancelled && (aborting || late)) {
        cancelled = true;
        if (resolving) {
          resolver.cancel();
          return aborting ? asio::error::operation_aborted : asio::error::timed_out;
        }
        lowest().close();  // the pending operation completes with an error at once
      }
      io.run_one_for(kAbortPoll);
    }
    return **result;
  }

  void refresh_tls() {
    // Re-read the certificates for each new connection, so that rotated files are used; keep the
    // last good context when the files are mid-rotation or broken.
    try {
      tls = make_tls_context(*opt.tls);
    } catch (const std::exception& e) {
      tls_log.write(log::Level::warn,
                    std::string("collector: ") + e.what() + "; using the certificates loaded before");
    }
  }

  // "" on success, else what failed.
  std::string connect(Clock::time_point deadline) {
    const std::string& where = opt.url.host_header;
    auto found = std::make_shared<tcp::resolver::results_type>();
    error_code ec = drive(
        [&](auto handler) {
          resolver.async_resolve(opt.url.host, opt.url.port,
                                 [found, handler](error_code e, tcp::resolver::results_type r) mutable {
                                   *found = std::move(r);
                                   handler(e);
                                 });
        },
        deadline, true);
    if (ec) return "resolving " + opt.url.host + ": " + ec.message();
    if (opt.tls) {
      refresh_tls();
      stream_tls = tls;
      secure.emplace(io, *stream_tls);
      if (!set_peer_name(secure->native_handle(), opt.tls->verify_name))
        return "cannot set the TLS peer name";
    } else {
      plain.emplace(io);
    }
    lowest().expires_at(deadline);
    ec = drive([&](auto handler) { lowest().async_connect(*found, std::move(handler)); }, deadline);
    if (ec) return "connecting to " + where + ": " + ec.message();
    lowest().socket().set_option(tcp::no_delay(true), ec);
    if (secure) {
      lowest().expires_at(deadline);
      ec = drive([&](auto handler) { secure->async_handshake(ssl::stream_base::client, std::move(handler)); },
                 deadline);
      if (ec) return "TLS handshake with " + where + ": " + ec.message();
    }
    return {};
  }

  template <class Stream>
  Exchange exchange(Stream& stream, const Request& request, Clock::time_point deadline) {
    Exchange x;
    const std::string& where = opt.url.host_header;
    lowest().expires_at(deadline);
    error_code ec =
        drive([&](auto handler) { http::async_write(stream, request, std::move(handler)); }, deadline);
    if (ec) {
      x.response.error = "sending to " + where + ": " + ec.message();
      return x;
    }
    http::response_parser<http::buffer_body> parser;
    parser.header_limit(kMaxResponseHeaderBytes);
    // The loop below bounds what is kept. Not boost::none: Boost 1.74 compares the length with the
    // optional itself, so "no limit" would fail every response that has a body.
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    lowest().expires_at(deadline);
    ec = drive([&](auto handler) { http::async_read_header(stream, buffer, parser, std::move(handler)); },
               deadline);
    x.response_started = parser.got_some() || buffer.size() > 0;
    if (ec) {
      x.response.error = "reading the response from " + where + ": " + ec.message();
      return x;
    }
    const auto& msg = parser.get();
    x.response.ok = true;  // the status is what matters: a body cut short or too long costs the connection
    x.response.status = msg.result_int();
    if (const auto it = msg.find(http::field::retry_after); it != msg.end())
      x.response.retry_after = std::string(it->value());
    bool complete = true;
    while (!parser.is_done()) {
      if (x.response.body.size() >= opt.max_response_body) {
        complete = false;  // more than we keep: not worth reading
        break;
      }
      parser.get().body().data = chunk.data();
      parser.get().body().size = chunk.size();
      lowest().expires_at(deadline);
      ec = drive([&](auto handler) { http::async_read_some(stream, buffer, parser, std::move(handler)); },
                 deadline);
      if (ec == http::error::need_buffer) ec = {};
      const std::size_t got = chunk.size() - parser.get().body().size;
      x.response.body.append(chunk.data(), std::min(got, opt.max_response_body - x.response.body.size()));
      if (ec) {
        complete = false;
        break;
      }
    }
    x.keep_connection = complete && msg.keep_alive();
    return x;
  }

  HttpResponse post(std::string_view body, std::string_view content_encoding, Clock::time_point deadline) {
    Request request{http::verb::post, opt.url.target, 11};
    request.set(http::field::host, opt.url.host_header);
    request.set(http::field::user_agent, opt.user_agent);
    request.set(http::field::content_type, opt.content_type);
    if (!content_encoding.empty())
      request.set(http::field::content_encoding,
                  beast::string_view(content_encoding.data(), content_encoding.size()));
    if (!opt.bearer_token.empty()) request.set(http::field::authorization, "Bearer " + opt.bearer_token);
    request.body() = beast::span<const char>(body.data(), body.size());
    request.keep_alive(true);
    request.prepare_payload();

    bool reused = connected();
    for (int attempt = 0;; ++attempt) {
      HttpResponse failed;
      if (!connected()) {
        failed.error = connect(deadline);
        if (!failed.error.empty()) {
          close();
          failed.aborted = abort.load();
          return failed;
        }
      }
      Exchange x = secure ? exchange(*secure, request, deadline) : exchange(*plain, request, deadline);
      if (x.response.ok) {
        if (!x.keep_connection) close();
        return std::move(x.response);
      }
      close();
      // An idle keep-alive connection the server had already closed: one more try on a new one.
      if (reused && attempt == 0 && !x.response_started && !abort.load() && Clock::now() < deadline) {
        reused = false;
        continue;
      }
      x.response.aborted = abort.load();
      return std::move(x.response);
    }
  }
};

HttpClient::HttpClient(HttpClientOptions options, const std::atomic<bool>& abort)
    : impl_(std::make_unique<Impl>(std::move(options), abort)) {}
HttpClient::~HttpClient() = default;

HttpResponse HttpClient::post(std::string_view body, std::string_view content_encoding,
                              std::chrono::steady_clock::time_point deadline) {
  return impl_->post(body, content_encoding, deadline);
}
void HttpClient::close() { impl_->close(); }
bool HttpClient::connected() const { return impl_->connected(); }

}  // namespace shadowmeter::exporting::otlp_http
