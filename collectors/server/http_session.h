// Internal to the server: one client connection (plain or TLS), its requests one after another
// (keep-alive), all on the connection's own strand. An ingest request waits for its commit without
// holding an io thread: the queue posts the outcome back to the strand.
#pragma once

#include <array>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/log.h"
#include "server/auth.h"
#include "server/bounded_body.h"
#include "server/chunk_buffer.h"
#include "server/server_state.h"
#include "server/tls.h"
#include "server/traces_request.h"

namespace shadowmeter::collector::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// A response computed anywhere (a query thread, the ingest path) and written on the strand.
struct Reply {
  http::status status = http::status::ok;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<http::field, std::string>> headers;
  std::vector<std::pair<std::string, std::string>> named_headers;  // fields Beast has no enum value for
  // Set: the body is streamed with chunked transfer encoding instead of `body`. Runs on the query
  // thread, handing the body to `write` in pieces; a throw after the head was sent ends the connection
  // without the last chunk, so the client sees the answer is incomplete.
  std::function<void(const std::function<void(std::string_view)>& write)> stream;
};

// A streamed answer holds at most one chunk of this size in the server (plus the one being written).
inline constexpr std::size_t kStreamChunkBytes = 64 * 1024;

// Handlers of the request's route; defined in server_routes.cpp.
Reply otlp_error(http::status status, int grpc_code, const std::string& message);
Reply api_error(http::status status, const std::string& message);
Reply unauthorized_reply(bool otlp);
// 401 of the dashboard and report routes: also offers HTTP Basic, which browsers can send.
Reply unauthorized_browser_reply(bool html);
Reply service_unavailable(const ServerOptions& o, bool otlp, const std::string& message);
Reply readyz_reply(bool ready);

enum class Route { traces, healthz, readyz, metrics, api_calls, api_agents, api_report, dashboard, not_found };
Route route_of(std::string_view path);

// Runs on a query thread: the whole answer of a GET route that needs the store.
Reply run_query(const ServerState& state, Route route, const std::string& path, const std::string& query_string);
// Runs on the strand: a received /v1/traces body to an IngestBatch (or the error reply). Empty
// optional reply + batch = queue it.
struct IngestPrepared {
  std::optional<Reply> reply;  // set: answer this at once
  std::shared_ptr<IngestBatch> batch;
};
IngestPrepared prepare_ingest(ServerState& state, bool gzip, std::string_view body, std::string principal);
Reply ingest_outcome_reply(ServerState& state, const IngestOutcome& outcome);

template <class Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  template <class... Args>
  Session(std::shared_ptr<ServerState> state, std::uint64_t id, Args&&... args)
      : stream_(std::forward<Args>(args)...),
        state_(std::move(state)),
        id_(id),
        buffer_(static_cast<std::size_t>(state_->options.max_header_bytes) + kReadAhead) {}

  ~Session() override {
    release_lease();
    state_->session_ended(id_);
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Moves onto the connection's strand first: a stop may already be posting there.
  void start() {
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->begin(); });
  }

  void begin() {
    if (closed_) return;
    if constexpr (kTls) {
      phase_ = Phase::handshake;
      lowest().expires_after(state_->options.header_timeout);
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](const beast::error_code& ec) {
                                if (ec) return self->close_now();
                                self->peer_ = peer_identity(self->stream_.native_handle());
                                self->read_request();
                              });
    } else {
      read_request();
    }
  }

  void server_stopping() override {
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] { self->on_server_stopping(); });
  }
  void force_close() override {
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] { self->close_now(); });
  }

  // Of a connection that was not admitted (instead of start()): its socket, for the 503 answer.
  asio::ip::tcp::socket take_socket() {
    closed_ = true;
    return std::move(lowest().socket());
  }

  // Immediately, on the strand (or before start()).
  void close_now() {
    if (closed_) return;
    closed_ = true;
    beast::error_code ignored;
    lowest().socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    lowest().close();
  }

 private:
  enum class Phase { handshake, header, body, working, writing, closing };

  // Bytes read past the request head in one go; the head itself is bounded by header_limit.
  static constexpr std::size_t kReadAhead = 16384;
  // Bodies of requests that need no body (GET) are read up to this and then ignored.
  static constexpr std::uint64_t kSmallBody = 8192;
  // A request refused from its head alone has its body read and dropped up to this size.
  static constexpr std::uint64_t kDiscardBody = 65536;
  // A lingering close reads (and drops) at most this much, for at most kLinger.
  static constexpr std::size_t kDrainLimit = 1u << 20;
  static constexpr std::chrono::seconds kLinger{2};

  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }
  const ServerOptions& opts() const { return state_->options; }

  void on_server_stopping() {
    stop_requested_ = true;
    // Between requests (or still in the handshake or head): nothing is lost by closing now. A body being
    // read, a commit or query in progress, and a response being written are finished first.
    if (phase_ == Phase::header || phase_ == Phase::handshake) close_now();
  }

  void read_request() {
    if (closed_) return;
    if (stop_requested_ || state_->stopping.load()) return close_now();
    phase_ = Phase::header;
    release_lease();
    parser_.emplace();
    parser_->header_limit(opts().max_header_bytes);
    // The Content-Length is checked against the limit after the head, so that authentication is
    // answered first; chunked bodies get their limit before the body is read.
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    parser_->get().body().limit = 0;
    idle_since.store(steady_ticks());
    idle.store(true);
    // A client that never authenticated gets the short header timeout, also between its requests.
    lowest().expires_after(authenticated.load() ? opts().read_timeout : opts().header_timeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](const beast::error_code& ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(const beast::error_code& ec) {
    if (closed_) return;
    idle.store(false);
    if (ec) return on_read_error(ec);
    const auto& req = parser_->get();
    std::vector<std::string_view> codings;
    const auto [first, last] = req.equal_range(http::field::transfer_encoding);
    for (auto it = first; it != last; ++it) codings.emplace_back(it->value().data(), it->value().size());
    if (const auto bad = check_transfer_encoding(codings)) {
      state_->metrics.rejected(RejectReason::bad_framing);
      // Not read, and the connection is not reused: its bytes have no trustworthy length.
      return respond(api_error(static_cast<http::status>(bad->status), bad->message), true);
    }
    const std::string_view target(req.target().data(), req.target().size());
    const auto qmark = target.find('?');
    path_ = std::string(target.substr(0, qmark));
    query_ = qmark == std::string_view::npos ? std::string() : std::string(target.substr(qmark + 1));
    route_ = route_of(path_);
    if (route_ == Route::not_found) return reject(api_error(http::status::not_found, "not found"));
    if (route_ == Route::traces) {
      if (req.method() != http::verb::post) return method_not_allowed("POST");
      return on_traces_header();
    }
    if (req.method() != http::verb::get) return method_not_allowed("GET");
    if (parser_->is_done()) return on_get();
    // A GET with a body: read a little of it and ignore it; more is refused.
    const auto length = parser_->content_length();
    if (length && *length > kSmallBody)
      return respond(api_error(http::status::payload_too_large, "body too large"));
    read_body(kSmallBody, [](Session& s) { s.on_get(); });
  }

  void method_not_allowed(const char* allow) {
    Reply r = api_error(http::status::method_not_allowed, "method not allowed");
    r.headers.emplace_back(http::field::allow, allow);
    reject(std::move(r));
  }

  // An answer decided from the request head alone. A small body is read and dropped first so the
  // connection stays usable; a large or unknown-length one is not read at all (the answer closes).
  void reject(Reply reply) {
    const auto length = parser_->content_length();
    // A client waiting for "100 Continue" may never send the body: answer at once.
    if (parser_->is_done() || !length || *length > kDiscardBody || expects_continue())
      return respond(std::move(reply));
    read_body(kDiscardBody, [reply = std::move(reply)](Session& s) mutable { s.respond(std::move(reply)); });
  }

  void on_traces_header() {
    ServerState& st = *state_;
    const AuthDecision auth = authorize(st.auth, header(http::field::authorization), peer_);
    if (!auth.allowed) {
      st.metrics.rejected(RejectReason::unauthorized);
      return reject(unauthorized_reply(true));
    }
    principal_ = auth.principal;
    authenticated.store(true);
    const HeaderCheck check =
        check_traces_headers(header(http::field::content_type), header(http::field::content_encoding));
    if (check.verdict != HeaderVerdict::ok) {
      st.metrics.rejected(check.verdict == HeaderVerdict::bad_encoding ? RejectReason::bad_encoding
                                                                       : RejectReason::bad_content_type);
      return reject(otlp_error(http::status::unsupported_media_type, 3, check.error));
    }
    gzip_ = check.encoding == BodyEncoding::gzip;
    const auto length = parser_->content_length();
    if (length && *length > opts().max_body_bytes) return too_large();
    // The body as received, plus the decompressed copy for gzip.
    const std::uint64_t need = length.value_or(opts().max_body_bytes) + (gzip_ ? opts().max_body_bytes : 0);
    if (!st.try_reserve_body(need)) {
      st.metrics.rejected(RejectReason::backpressure);
      return reject(service_unavailable(opts(), true, "too many request bodies in flight, retry later"));
    }
    lease_ = need;
    if (expects_continue() && !parser_->is_done()) {
      continue_.emplace(http::status::continue_, 11);
      lowest().expires_after(opts().write_timeout);
      return http::async_write(
          stream_, *continue_, [self = this->shared_from_this()](const beast::error_code& ec, std::size_t) {
            if (ec) return self->close_now();
            self->read_body(self->opts().max_body_bytes, [](Session& s) { s.on_traces_body(); });
          });
    }
    read_body(opts().max_body_bytes, [](Session& s) { s.on_traces_body(); });
  }

  void too_large() {
    state_->metrics.rejected(RejectReason::too_large);
    respond(otlp_error(http::status::payload_too_large, 8,
                       "request body larger than " + std::to_string(opts().max_body_bytes) + " bytes"));
  }

  template <class Next>
  void read_body(std::uint64_t limit, Next next) {
    phase_ = Phase::body;
    parser_->body_limit(limit);
    parser_->get().body().limit = limit;
    if (parser_->is_done()) return next(*this);
    lowest().expires_after(opts().read_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this(), next = std::move(next)](const beast::error_code& ec,
                                                                               std::size_t) mutable {
                       if (self->closed_) return;
                       if (ec) return self->on_read_error(ec);
                       next(*self);
                     });
  }

  void on_traces_body() {
    auto& body = parser_->get().body();
    IngestPrepared prepared = prepare_ingest(*state_, gzip_, body.view(), principal_);
    body.data = {};  // the decoded records are all that is kept from here on
    release_lease();
    if (prepared.reply) return respond(std::move(*prepared.reply));
    phase_ = Phase::working;
    const auto status = state_->queue.submit(std::move(prepared.batch), stream_.get_executor(),
                                             [self = this->shared_from_this()](IngestOutcome outcome) {
                                               if (self->closed_) return;
                                               self->respond(ingest_outcome_reply(*self->state_, outcome));
                                             });
    if (status == IngestQueue::Submit::queued) return;
    state_->metrics.rejected(RejectReason::backpressure);
    respond(service_unavailable(opts(), true,
                                status == IngestQueue::Submit::stopped ? "the collector is shutting down"
                                                                       : "ingest queue full, retry later"));
  }

  void on_get() {
    switch (route_) {
      case Route::healthz: {
        Reply r;
        r.content_type = "text/plain; charset=utf-8";
        r.body = "ok\n";
        return respond(std::move(r));
      }
      case Route::metrics: {
        Reply r;
        r.content_type = "text/plain; version=0.0.4; charset=utf-8";
        try {
          r.body = state_->metrics.serialize();
        } catch (const std::exception&) {
          return respond(api_error(http::status::internal_server_error, "cannot collect metrics"));
        }
        return respond(std::move(r));
      }
      case Route::api_calls:
      case Route::api_agents: {
        const AuthDecision auth = authorize(state_->auth, header(http::field::authorization), peer_);
        if (!auth.allowed) {
          state_->metrics.rejected(RejectReason::unauthorized);
          return respond(unauthorized_reply(false));
        }
        authenticated.store(true);
        return query();
      }
      case Route::api_report:
      case Route::dashboard: {
        const AuthDecision auth = authorize_browser(state_->auth, header(http::field::authorization), peer_);
        if (!auth.allowed) {
          state_->metrics.rejected(RejectReason::unauthorized);
          return respond(unauthorized_browser_reply(route_ == Route::dashboard));
        }
        authenticated.store(true);
        return query();
      }
      case Route::readyz:
        return readyz();
      default:
        return respond(api_error(http::status::not_found, "not found"));
    }
  }

  // The store may block: the route runs on a query thread and the reply comes back to the strand.
  void query() {
    ServerState& st = *state_;
    if (!st.try_start_query())
      return respond(service_unavailable(opts(), false, "too many queries in progress, retry later"));
    phase_ = Phase::working;
    // Tracked: the io threads must not run out of work while the query runs.
    auto back = asio::prefer(stream_.get_executor(), asio::execution::outstanding_work.tracked);
    asio::post(*st.query_pool, [self = this->shared_from_this(), back, route = route_, p = path_, q = query_]() {
      Reply reply = run_query(*self->state_, route, p, q);
      if (reply.stream) {
        self->stream_reply(back, std::move(reply));
        self->state_->end_query();
        return;
      }
      self->state_->end_query();
      asio::post(back, [self, reply = std::move(reply)]() mutable {
        if (self->closed_) return;
        self->respond(std::move(reply));
      });
    });
  }

  void readyz() {
    phase_ = Phase::working;
    auto back = asio::prefer(stream_.get_executor(), asio::execution::outstanding_work.tracked);
    state_->check_ready([self = this->shared_from_this(), back](bool ready) {
      asio::post(back, [self, ready] {
        if (self->closed_) return;
        self->respond(readyz_reply(ready));
      });
    });
  }

  void on_read_error(const beast::error_code& ec) {
    if (ec == http::error::header_limit)
      return respond(api_error(http::status::request_header_fields_too_large, "request header too large"),
                     true);
    if (ec == http::error::body_limit) {
      if (route_ == Route::traces) return too_large();
      return respond(api_error(http::status::payload_too_large, "body too large"), true);
    }
    // A malformed request (not a reset, timeout or end of stream) gets a 400 before the close.
    if (ec.category() == http::make_error_code(http::error::bad_method).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message)
      return respond(api_error(http::status::bad_request, "malformed HTTP request"), true);
    close_now();
  }

  bool expects_continue() const {
    const std::string_view expect = header(http::field::expect);
    return beast::iequals(beast::string_view(expect.data(), expect.size()), "100-continue");
  }

  std::string_view header(http::field f) const {
    const auto& req = parser_->get();
    const auto it = req.find(f);
    if (it == req.end()) return {};
    return {it->value().data(), it->value().size()};
  }

  // The head every answer carries, whole or streamed.
  template <class Body>
  void fill_head(http::response<Body>& res, const Reply& reply, bool keep_alive) {
    res.version(parser_ && parser_->is_header_done() ? parser_->get().version() : 11);
    res.result(reply.status);
    res.set(http::field::server, "shadowmeter-collector");
    res.set(http::field::content_type, reply.content_type);
    res.set("X-Content-Type-Options", "nosniff");
    for (const auto& [field, value] : reply.headers) res.set(field, value);
    for (const auto& [name, value] : reply.named_headers) res.set(name, value);
    res.keep_alive(keep_alive);
  }

  // `force_close`: the connection cannot be reused (the request was not read to its end).
  void respond(Reply reply, bool force_close = false) {
    if (closed_) return;
    const bool request_complete = parser_ && parser_->is_done();
    const bool stopping = stop_requested_ || state_->stopping.load();
    const bool keep_alive = !force_close && !stopping && request_complete && parser_->get().keep_alive();
    res_ = {};
    fill_head(res_, reply, keep_alive);
    // No route answers HEAD, but its 405 must not carry a body the client would read as the next response.
    if (parser_ && parser_->is_header_done() && parser_->get().method() == http::verb::head)
      reply.body.clear();
    res_.body() = std::move(reply.body);
    res_.prepare_payload();
    phase_ = Phase::writing;
    lowest().expires_after(opts().write_timeout);
    http::async_write(
        stream_, res_,
        [self = this->shared_from_this(), keep_alive](const beast::error_code& ec, std::size_t) {
          if (self->closed_) return;
          if (ec) return self->close_now();
          if (keep_alive) return self->read_request();
          self->linger();
        });
  }

  // One step of a streamed answer, written on the strand while the query thread waits for its outcome:
  // at most one chunk is in flight and one being filled.
  struct StreamStep {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    bool ok = false;
    void finish(bool success) {
      {
        std::lock_guard lock(mu);
        done = true;
        ok = success;
      }
      cv.notify_all();
    }
    // False also when the strand never answered (the server's io threads stopped): the query thread
    // must not wait forever.
    bool wait(std::chrono::steady_clock::duration limit) {
      std::unique_lock lock(mu);
      if (!cv.wait_for(lock, limit, [this] { return done; })) return false;
      done = false;
      return ok;
    }
  };
  struct StreamAborted {};

  // On the query thread: the head, then the chunks the producer writes, then the last chunk.
  template <class Executor>
  void stream_reply(Executor back, Reply reply) {
    auto producer = std::move(reply.stream);
    auto step = std::make_shared<StreamStep>();
    auto self = this->shared_from_this();
    // A write that takes longer has been timed out by the stream itself; the margin covers the queueing.
    const auto limit = std::chrono::duration_cast<std::chrono::steady_clock::duration>(opts().write_timeout) +
                       std::chrono::seconds(10);
    asio::post(back, [self, step, reply = std::move(reply)]() mutable { self->write_stream_head(std::move(reply), step); });
    if (!step->wait(limit)) return;
    ChunkBuffer buffer(kStreamChunkBytes, [&](std::string&& chunk) {
      asio::post(back, [self, step, chunk = std::move(chunk)]() mutable { self->write_stream_chunk(std::move(chunk), step); });
      if (!step->wait(limit)) throw StreamAborted{};
    });
    try {
      producer([&buffer](std::string_view piece) { buffer.append(piece); });
      buffer.finish();
    } catch (const StreamAborted&) {
      return;  // the connection is closed already
    } catch (const std::exception& e) {
      // The head is out: the status cannot change. Ending without the last chunk tells the client.
      log::warn(std::string("streamed answer cut: ") + e.what());
      asio::post(back, [self] { self->close_now(); });
      return;
    }
    asio::post(back, [self, step] { self->write_stream_last(step); });
    step->wait(limit);
  }

  void write_stream_head(Reply reply, const std::shared_ptr<StreamStep>& step) {
    if (closed_) return step->finish(false);
    const bool stopping = stop_requested_ || state_->stopping.load();
    stream_keep_alive_ = !stopping && parser_ && parser_->is_done() && parser_->get().keep_alive();
    stream_res_.emplace();
    auto& res = *stream_res_;
    fill_head(res, reply, stream_keep_alive_);
    res.chunked(true);
    stream_sr_.emplace(res);
    phase_ = Phase::writing;
    lowest().expires_after(opts().write_timeout);
    http::async_write_header(stream_, *stream_sr_,
                             [self = this->shared_from_this(), step](const beast::error_code& ec, std::size_t) {
                               if (ec && !self->closed_) self->close_now();
                               step->finish(!ec && !self->closed_);
                             });
  }

  void write_stream_chunk(std::string chunk, const std::shared_ptr<StreamStep>& step) {
    if (closed_) return step->finish(false);
    stream_chunk_ = std::move(chunk);
    lowest().expires_after(opts().write_timeout);
    asio::async_write(stream_, http::make_chunk(asio::buffer(stream_chunk_)),
                      [self = this->shared_from_this(), step](const beast::error_code& ec, std::size_t) {
                        if (ec && !self->closed_) self->close_now();
                        step->finish(!ec && !self->closed_);
                      });
  }

  void write_stream_last(const std::shared_ptr<StreamStep>& step) {
    if (closed_) return step->finish(false);
    stream_chunk_.clear();
    lowest().expires_after(opts().write_timeout);
    asio::async_write(stream_, http::make_chunk_last(),
                      [self = this->shared_from_this(), step](const beast::error_code& ec, std::size_t) {
                        step->finish(!ec);
                        if (self->closed_) return;
                        if (ec) return self->close_now();
                        self->stream_sr_.reset();
                        self->stream_res_.reset();
                        if (self->stream_keep_alive_) return self->read_request();
                        self->linger();
                      });
  }

  // Closing right after the answer could turn unread request bytes into a reset that destroys the answer
  // on its way to the client; so stop sending, read and drop what is still coming for a moment, then close.
  void linger() {
    phase_ = Phase::closing;
    release_lease();
    parser_.reset();
    beast::error_code ignored;
    lowest().socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    // A client that sent all of its request sees the FIN and closes, which ends the drain at once.
    lowest().expires_after(kLinger);
    drain();
  }

  void drain() {
    stream_.async_read_some(asio::buffer(drain_buf_),
                            [self = this->shared_from_this()](const beast::error_code& ec, std::size_t n) {
                              self->drained_ += n;
                              if (ec || self->drained_ > kDrainLimit) return self->close_now();
                              self->drain();
                            });
  }

  void release_lease() {
    if (lease_ == 0) return;
    state_->release_body(lease_);
    lease_ = 0;
  }

  Stream stream_;
  std::shared_ptr<ServerState> state_;
  const std::uint64_t id_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<BoundedBody>> parser_;
  std::optional<http::response<http::empty_body>> continue_;
  http::response<http::string_body> res_;
  // A streamed answer (Reply::stream): its head, serializer and the chunk being written.
  std::optional<http::response<http::empty_body>> stream_res_;
  std::optional<http::response_serializer<http::empty_body>> stream_sr_;
  std::string stream_chunk_;
  bool stream_keep_alive_ = false;
  PeerIdentity peer_;
  Phase phase_ = kTls ? Phase::handshake : Phase::header;
  Route route_ = Route::not_found;
  std::string path_;
  std::string query_;
  std::string principal_;
  bool gzip_ = false;
  bool stop_requested_ = false;
  bool closed_ = false;
  std::uint64_t lease_ = 0;
  std::array<char, 16384> drain_buf_{};
  std::size_t drained_ = 0;
};

}  // namespace shadowmeter::collector::detail
