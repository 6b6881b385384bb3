#include "metrics/http_server.h"

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <exception>
#include <map>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <utility>
#include <vector>

namespace shadowmeter::metrics {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

constexpr const char* kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";
constexpr const char* kTextContentType = "text/plain; charset=utf-8";

[[noreturn]] void fail(const std::string& listen, const std::string& why) {
  throw std::runtime_error("listen address '" + listen + "': " + why);
}

unsigned short parse_port(const std::string& listen, std::string_view s) {
  unsigned value = 0;
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, value);
  if (s.empty() || ec != std::errc() || ptr != end || value > 65535)
    fail(listen, "port '" + std::string(s) + "' is not a number from 0 to 65535");
  return static_cast<unsigned short>(value);
}

}  // namespace

ListenAddress parse_listen_address(const std::string& listen) {
  ListenAddress out;
  std::string_view port;
  if (listen.empty()) fail(listen, "empty; expected ADDR:PORT");
  if (listen.front() == '[') {
    const auto close = listen.find(']');
    if (close == std::string::npos) fail(listen, "missing ']' after the IPv6 address");
    if (close + 1 >= listen.size() || listen[close + 1] != ':') fail(listen, "expected ':PORT' after ']'");
    out.host = listen.substr(1, close - 1);
    if (out.host.empty()) fail(listen, "empty address between '[' and ']'");
    port = std::string_view(listen).substr(close + 2);
  } else {
    const auto colon = listen.rfind(':');
    if (colon == std::string::npos) fail(listen, "expected ADDR:PORT (':PORT' for all addresses)");
    out.host = listen.substr(0, colon);
    if (out.host.find(':') != std::string::npos)
      fail(listen, "IPv6 addresses need brackets, as in [::1]:9464");
    port = std::string_view(listen).substr(colon + 1);
  }
  out.port = parse_port(listen, port);
  return out;
}

namespace {

class Session;

// The server's state. HttpServer::Impl is private to HttpServer and sessions need this, so it lives
// here and Impl only wraps it.
struct Server : std::enable_shared_from_this<Server> {
  Server(asio::io_context& io_context, Endpoints ep, ServerLimits lim)
      : io(io_context),
        acceptor(io_context),
        retry_timer(io_context),
        endpoints(std::move(ep)),
        limits(lim) {}

  void listen_on(const std::string& listen);
  bool try_bind(const tcp::endpoint& ep, bool dual_stack, std::string& why);
  void accept();
  void on_accept(const error_code& ec, tcp::socket socket);
  void stop();

  asio::io_context& io;
  tcp::acceptor acceptor;
  asio::steady_timer retry_timer;
  Endpoints endpoints;
  ServerLimits limits;
  unsigned short bound_port = 0;
  bool stopped = false;
  std::uint64_t next_session_id = 0;
  // Weak so that a session lives exactly as long as its pending operations.
  std::map<std::uint64_t, std::weak_ptr<Session>> sessions;
};

// Everything runs on the one thread driving the io_context, so sessions and the server share
// state without locks. Every handler checks `stopped` first: after stop() the callbacks in
// `endpoints` may refer to objects that are already gone.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<Server> server, std::uint64_t id)
      : stream_(std::move(socket)),
        buffer_(static_cast<std::size_t>(server->limits.header_limit) +
                static_cast<std::size_t>(server->limits.body_limit) + 1024),
        server_(std::move(server)),
        id_(id) {}
  ~Session() { server_->sessions.erase(id_); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start() { read(); }

  void close() {
    error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

 private:
  void read() {
    parser_.emplace();
    parser_->header_limit(server_->limits.header_limit);
    parser_->body_limit(server_->limits.body_limit);
    stream_.expires_after(server_->limits.timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](const error_code& ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(const error_code& ec) {
    if (server_->stopped) return;
    if (ec == http::error::end_of_stream || ec == http::error::partial_message) return close();
    if (ec == http::error::header_limit)
      return respond(http::status::request_header_fields_too_large, kTextContentType,
                     "request header too large", 11, false);
    if (ec == http::error::body_limit)
      return respond(http::status::payload_too_large, kTextContentType, "request body too large", 11, false);
    if (ec && ec.category() == http::make_error_code(http::error::bad_method).category())
      return respond(http::status::bad_request, kTextContentType, "bad request", 11, false);
    if (ec) return close();  // timeout, reset, ...
    handle(parser_->get());
  }

  void handle(const http::request<http::string_body>& req) {
    const bool keep_alive = req.keep_alive();
    const unsigned version = req.version();
    if (req.method() != http::verb::get) {
      res_ = {};
      res_.set(http::field::allow, "GET");
      // A body after a HEAD response would be read as the start of the next response.
      return respond(http::status::method_not_allowed, kTextContentType,
                     req.method() == http::verb::head ? "" : "method not allowed", version, keep_alive,
                     false);
    }
    const std::string_view target(req.target().data(), req.target().size());
    const std::string_view path = target.substr(0, target.find('?'));
    const Endpoints& ep = server_->endpoints;
    if (path == "/metrics") {
      std::string text;
      try {
        text = ep.metrics_text ? ep.metrics_text() : std::string();
      } catch (const std::exception&) {
        // An exception must not escape into the agent's io_context loop; the scraper sees the 500.
        return respond(http::status::internal_server_error, kTextContentType, "cannot collect metrics",
                       version, keep_alive);
      }
      return respond(http::status::ok, kPrometheusContentType, std::move(text), version, keep_alive);
    }
    if (path == "/healthz") return respond(http::status::ok, kTextContentType, "ok", version, keep_alive);
    if (path == "/readyz") {
      const bool ready = ep.ready && ep.ready();
      return respond(ready ? http::status::ok : http::status::service_unavailable, kTextContentType,
                     ready ? "ready" : "not ready", version, keep_alive);
    }
    respond(http::status::not_found, kTextContentType, "not found", version, keep_alive);
  }

  // `fresh` = false keeps header fields the caller already set on res_.
  void respond(http::status status, const char* content_type, std::string body, unsigned version,
               bool keep_alive, bool fresh = true) {
    if (fresh) res_ = {};
    res_.result(status);
    res_.version(version);
    res_.set(http::field::server, "shadowmeter-agent");
    res_.set(http::field::content_type, content_type);
    res_.keep_alive(keep_alive);
    res_.body() = std::move(body);
    res_.prepare_payload();
    stream_.expires_after(server_->limits.timeout);
    http::async_write(stream_, res_,
                      [self = shared_from_this(), keep_alive](const error_code& ec, std::size_t) {
                        if (self->server_->stopped) return;
                        if (ec || !keep_alive) return self->close();
                        self->read();
                      });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  std::shared_ptr<Server> server_;
  std::uint64_t id_;
};

bool Server::try_bind(const tcp::endpoint& ep, bool dual_stack, std::string& why) {
  error_code ec;
  const auto step = [&](const char* what) {
    if (!ec) return true;
    why = std::string(what) + " " + ep.address().to_string() + ": " + ec.message();
    error_code ignored;
    acceptor.close(ignored);
    return false;
  };
  acceptor.open(ep.protocol(), ec);
  if (!step("open")) return false;
  acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!step("set SO_REUSEADDR on")) return false;
  if (dual_stack) {
    acceptor.set_option(asio::ip::v6_only(false), ec);
    if (!step("clear IPV6_V6ONLY on")) return false;
  }
  acceptor.bind(ep, ec);
  if (!step("bind")) return false;
  acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (!step("listen on")) return false;
  bound_port = acceptor.local_endpoint(ec).port();
  return step("query");
}

void Server::listen_on(const std::string& listen) {
  const ListenAddress addr = parse_listen_address(listen);
  std::vector<tcp::endpoint> candidates;
  std::vector<bool> dual_stack;
  if (addr.host.empty()) {
    // Hosts without IPv6 cannot open [::]; 0.0.0.0 is the fallback there.
    candidates = {tcp::endpoint(asio::ip::address_v6::any(), addr.port),
                  tcp::endpoint(asio::ip::address_v4::any(), addr.port)};
    dual_stack = {true, false};
  } else {
    error_code ec;
    const auto ip = asio::ip::make_address(addr.host, ec);
    if (!ec) {
      candidates.emplace_back(ip, addr.port);
    } else {
      // Start-up only, so a blocking lookup is acceptable here.
      tcp::resolver resolver(io);
      const auto results =
          resolver.resolve(addr.host, std::to_string(addr.port), tcp::resolver::numeric_service, ec);
      if (ec) fail(listen, "cannot resolve '" + addr.host + "': " + ec.message());
      for (const auto& r : results) candidates.push_back(r.endpoint());
      // Scrapers configured with "localhost" often end up on 127.0.0.1; containers often lack IPv6.
      std::stable_partition(candidates.begin(), candidates.end(),
                            [](const tcp::endpoint& e) { return e.address().is_v4(); });
    }
    dual_stack.assign(candidates.size(), false);
  }
  std::string why = "no address to listen on";
  for (std::size_t i = 0; i < candidates.size(); ++i)
    if (try_bind(candidates[i], dual_stack[i], why)) return;
  fail(listen, why);
}

void Server::accept() {
  acceptor.async_accept(io, [self = shared_from_this()](const error_code& ec, tcp::socket socket) {
    self->on_accept(ec, std::move(socket));
  });
}

void Server::on_accept(const error_code& ec, tcp::socket socket) {
  if (stopped || ec == asio::error::operation_aborted) return;
  if (ec) {
    // EMFILE and friends would fail again at once; pausing keeps the loop from spinning.
    retry_timer.expires_after(std::chrono::milliseconds(100));
    retry_timer.async_wait([self = shared_from_this()](const error_code& wait_ec) {
      if (!wait_ec && !self->stopped) self->accept();
    });
    return;
  }
  if (sessions.size() >= limits.max_connections) {
    error_code ignored;
    socket.close(ignored);
  } else {
    const std::uint64_t id = next_session_id++;
    auto session = std::make_shared<Session>(std::move(socket), shared_from_this(), id);
    sessions.emplace(id, session);
    session->start();
  }
  accept();
}

void Server::stop() {
  if (stopped) return;
  stopped = true;
  error_code ignored;
  acceptor.close(ignored);
  retry_timer.cancel();
  // Advance before closing: should this drop the last reference, the session's destructor erases
  // its own entry.
  for (auto it = sessions.begin(); it != sessions.end();) {
    const std::shared_ptr<Session> session = (it++)->second.lock();
    if (session) session->close();
  }
}

}  // namespace

struct HttpServer::Impl : Server {
  using Server::Server;
};

HttpServer::HttpServer(boost::asio::io_context& io, const std::string& listen, Endpoints endpoints)
    : HttpServer(io, listen, std::move(endpoints), ServerLimits{}) {}

HttpServer::HttpServer(boost::asio::io_context& io, const std::string& listen, Endpoints endpoints,
                       ServerLimits limits)
    : impl_(std::make_shared<Impl>(io, std::move(endpoints), limits)) {
  impl_->listen_on(listen);
  impl_->accept();
}

HttpServer::~HttpServer() {
  // A destructor must not throw, and a failed cancel while closing leaves nothing to undo.
  try {
    stop();
  } catch (...) {
  }
}

void HttpServer::stop() {
  if (impl_) impl_->stop();
}

unsigned short HttpServer::port() const { return impl_->bound_port; }

}  // namespace shadowmeter::metrics
