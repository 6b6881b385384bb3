#include "server/server.h"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <exception>
#include <stdexcept>
#include <thread>
#include <vector>

#include "common/log.h"
#include "metrics/http_server.h"
#include "server/http_session.h"
#include "server/overflow_reply.h"

namespace shadowmeter::collector {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using detail::PlainStream;
using detail::OverflowReply;
using detail::ServerState;
using detail::Session;
using detail::TlsStream;

// Destruction order matters: the io threads are joined first (stop()), then the query pool, the
// acceptor and the io_context (whose queued handlers own the last references to sessions), and the
// shared state last.
struct CollectorServer::Impl {
  Impl(ServerOptions o, AuthPolicy a, IngestQueue& q, ApiBackend b, CollectorMetrics& m)
      : state(std::make_shared<ServerState>(std::move(o), std::move(a), q, std::move(b), m)),
        acceptor(asio::make_strand(io)),
        retry_timer(acceptor.get_executor()),
        query_pool(std::max<std::size_t>(1, state->options.query_threads)) {
    state->query_pool = &query_pool;
  }

  void bind();
  bool try_bind(const tcp::endpoint& ep, bool dual_stack, std::string& why);
  void accept();
  void on_accept(const error_code& ec, tcp::socket socket);
  void run_io();
  template <class Stream, class... Args>
  void admit(std::uint64_t id, tcp::socket socket, Args&... args);

  std::shared_ptr<ServerState> state;
  asio::io_context io;
  tcp::acceptor acceptor;
  asio::steady_timer retry_timer;
  asio::thread_pool query_pool;
  std::vector<std::thread> threads;
  unsigned short bound_port = 0;
  bool started = false;
  bool stopped = false;
  log::RateLimit overflow_log{1, std::chrono::seconds(60)};  // used on the acceptor's strand only
};

bool CollectorServer::Impl::try_bind(const tcp::endpoint& ep, bool dual_stack, std::string& why) {
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

void CollectorServer::Impl::bind() {
  const std::string& listen = state->options.listen;
  const metrics::ListenAddress addr = metrics::parse_listen_address(listen);
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
      tcp::resolver resolver(io);  // start-up only: a blocking lookup is fine
      const auto results =
          resolver.resolve(addr.host, std::to_string(addr.port), tcp::resolver::numeric_service, ec);
      if (ec)
        throw std::runtime_error("listen address '" + listen + "': cannot resolve '" + addr.host +
                                 "': " + ec.message());
      for (const auto& r : results) candidates.push_back(r.endpoint());
      std::stable_partition(candidates.begin(), candidates.end(),
                            [](const tcp::endpoint& e) { return e.address().is_v4(); });
    }
    dual_stack.assign(candidates.size(), false);
  }
  std::string why = "no address to listen on";
  for (std::size_t i = 0; i < candidates.size(); ++i)
    if (try_bind(candidates[i], dual_stack[i], why)) return;
  throw std::runtime_error("listen address '" + listen + "': " + why);
}

void CollectorServer::Impl::accept() {
  // Each connection gets its own strand: its handlers never run concurrently, on whichever io thread.
  acceptor.async_accept(asio::make_strand(io), [this](const error_code& ec, tcp::socket socket) {
    on_accept(ec, std::move(socket));
  });
}

void CollectorServer::Impl::on_accept(const error_code& ec, tcp::socket socket) {
  if (state->stopping.load() || ec == asio::error::operation_aborted) return;
  if (ec) {
    // EMFILE and friends would fail again at once; pausing keeps the loop from spinning.
    retry_timer.expires_after(std::chrono::milliseconds(100));
    retry_timer.async_wait([this](const error_code& wait_ec) {
      if (!wait_ec && !state->stopping.load()) accept();
    });
    return;
  }
  const std::uint64_t id = state->next_id++;
  if (state->tls)
    admit<TlsStream>(id, std::move(socket), *state->tls);
  else
    admit<PlainStream>(id, std::move(socket));
  accept();
}

template <class Stream, class... Args>
void CollectorServer::Impl::admit(std::uint64_t id, tcp::socket socket, Args&... args) {
  auto s = std::make_shared<Session<Stream>>(state, id, std::move(socket), args...);
  if (state->admit(id, s)) return s->start();
  // Every connection is busy with a request: this one is told so (unless even those answers are at
  // their bound), counted, and logged at most once a minute.
  state->metrics.rejected(RejectReason::connection_limit);
  overflow_log.write(log::Level::warn, "connection limit reached (" + std::to_string(state->options.max_connections) +
                                           " open, all busy): answering new connections 503");
  tcp::socket raw = s->take_socket();
  if (state->overflow_replies.fetch_add(1) >= state->options.max_connections) {
    state->overflow_replies.fetch_sub(1);
    error_code ignored;
    raw.close(ignored);
    return;
  }
  std::make_shared<OverflowReply<Stream>>(state, std::move(raw), args...)->start();
}

void CollectorServer::Impl::run_io() {
  for (;;) {
    try {
      io.run();
      return;
    } catch (const std::exception& e) {
      // Handlers catch what they expect; anything else is logged and the thread goes on serving.
      log::error(std::string("io thread: unexpected exception: ") + e.what());
    } catch (...) {
      log::error("io thread: unexpected exception");
    }
  }
}

CollectorServer::CollectorServer(ServerOptions options, AuthPolicy auth, IngestQueue& queue, ApiBackend api,
                                 CollectorMetrics& metrics)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(auth), queue, std::move(api), metrics)) {}

CollectorServer::~CollectorServer() {
  try {
    stop(std::chrono::seconds(5));
  } catch (...) {
  }
}

void CollectorServer::start() {
  Impl& m = *impl_;
  if (m.started) throw std::logic_error("CollectorServer::start called twice");
  if (m.state->options.tls.enabled()) m.state->tls.emplace(make_server_tls_context(m.state->options.tls));
  m.bind();
  m.started = true;
  m.accept();
  const std::size_t n = std::max<std::size_t>(1, m.state->options.io_threads);
  for (std::size_t i = 0; i < n; ++i) m.threads.emplace_back([&m] { m.run_io(); });
}

unsigned short CollectorServer::port() const { return impl_->bound_port; }

bool CollectorServer::tls() const { return impl_->state->tls.has_value(); }

bool CollectorServer::stop(std::chrono::milliseconds grace) {
  Impl& m = *impl_;
  if (m.stopped) return true;
  m.stopped = true;
  ServerState& st = *m.state;
  st.stopping.store(true);
  if (!m.started) return true;
  asio::post(m.acceptor.get_executor(), [&m] {
    error_code ignored;
    m.acceptor.close(ignored);
    m.retry_timer.cancel();
  });
  const auto each_session = [&st](auto fn) {
    std::vector<std::shared_ptr<detail::SessionBase>> live;
    {
      std::lock_guard lock(st.mu);
      for (auto& [id, weak] : st.sessions)
        if (auto s = weak.lock()) live.push_back(std::move(s));
    }
    for (auto& s : live) fn(*s);
  };
  each_session([](detail::SessionBase& s) { s.server_stopping(); });
  bool clean = true;
  {
    std::unique_lock lock(st.mu);
    clean = st.cv.wait_for(lock, grace, [&st] { return st.sessions.empty(); });
  }
  if (!clean) {
    std::size_t busy = 0;
    {
      std::lock_guard lock(st.mu);
      busy = st.sessions.size();
    }
    log::warn("stop: closing " + std::to_string(busy) + " connection(s) still busy after the grace period");
    each_session([](detail::SessionBase& s) { s.force_close(); });
    std::unique_lock lock(st.mu);
    st.cv.wait_for(lock, std::chrono::seconds(2), [&st] { return st.sessions.empty(); });
  }
  // Whatever is left (a session whose commit never came back) is dropped with the io_context.
  m.io.stop();
  for (auto& t : m.threads)
    if (t.joinable()) t.join();
  m.query_pool.stop();
  m.query_pool.join();
  return clean;
}

}  // namespace shadowmeter::collector
