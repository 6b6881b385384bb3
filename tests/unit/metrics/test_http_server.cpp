// HttpServer against a real Beast client on loopback: routes, keep-alive, limits, timeouts, stop().
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "metrics/http_server.h"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using shadowmeter::metrics::Endpoints;
using shadowmeter::metrics::HttpServer;
using shadowmeter::metrics::ListenAddress;
using shadowmeter::metrics::parse_listen_address;
using shadowmeter::metrics::ServerLimits;
using namespace std::chrono_literals;

namespace {

// The server runs on its own thread, as it does in the agent loop; the test thread is the client.
struct ServerFixture {
  explicit ServerFixture(ServerLimits limits = {}) {
    Endpoints ep;
    ep.metrics_text = [this] {
      ++scrapes;
      return std::string("shadowmeter_test_metric 1\n");
    };
    ep.ready = [this] { return ready.load(); };
    server = std::make_unique<HttpServer>(io, "127.0.0.1:0", std::move(ep), limits);
    thread = std::thread([this] { io.run(); });
  }
  ~ServerFixture() {
    work.reset();
    io.stop();
    thread.join();
    server.reset();  // with the io_context not running, as the contract allows
  }
  ServerFixture(const ServerFixture&) = delete;
  ServerFixture& operator=(const ServerFixture&) = delete;

  // stop() must run on the server's thread while it is running.
  void stop_on_io_thread() {
    std::promise<void> done;
    asio::post(io, [&] {
      server->stop();
      done.set_value();
    });
    done.get_future().wait();
  }

  unsigned short port() const { return server->port(); }

  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::atomic<bool> ready{false};
  std::atomic<int> scrapes{0};
  std::unique_ptr<HttpServer> server;
  std::thread thread;
};

// A blocking-style client whose every operation has a deadline, so a broken server fails the test
// instead of hanging it.
class Client {
 public:
  error_code connect(unsigned short port) {
    stream_.expires_after(3s);
    error_code result = asio::error::would_block;
    stream_.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                          [&](const error_code& ec) { result = ec; });
    run();
    return result;
  }

  error_code send(const std::string& raw) {
    stream_.expires_after(3s);
    error_code result = asio::error::would_block;
    asio::async_write(stream_, asio::buffer(raw), [&](const error_code& ec, std::size_t) { result = ec; });
    run();
    return result;
  }

  error_code send(http::request<http::string_body>& req) {
    stream_.expires_after(3s);
    error_code result = asio::error::would_block;
    req.prepare_payload();
    http::async_write(stream_, req, [&](const error_code& ec, std::size_t) { result = ec; });
    run();
    return result;
  }

  error_code read(http::response<http::string_body>& res) {
    stream_.expires_after(3s);
    error_code result = asio::error::would_block;
    http::async_read(stream_, buffer_, res, [&](const error_code& ec, std::size_t) { result = ec; });
    run();
    return result;
  }

  // Waits for the server to end the connection: EOF or reset, not a timeout.
  error_code read_until_closed(std::chrono::milliseconds deadline) {
    stream_.expires_after(deadline);
    error_code result = asio::error::would_block;
    stream_.async_read_some(asio::buffer(scratch_), [&](const error_code& ec, std::size_t) { result = ec; });
    run();
    return result;
  }

  http::response<http::string_body> get(const std::string& target, bool keep_alive = true) {
    http::request<http::string_body> req{http::verb::get, target, 11};
    req.set(http::field::host, "127.0.0.1");
    req.keep_alive(keep_alive);
    REQUIRE_FALSE(send(req));
    http::response<http::string_body> res;
    REQUIRE_FALSE(read(res));
    return res;
  }

 private:
  void run() {
    ioc_.restart();
    ioc_.run();
  }

  asio::io_context ioc_;
  beast::tcp_stream stream_{ioc_};
  beast::flat_buffer buffer_;
  char scratch_[256];
};

http::response<http::string_body> get_once(unsigned short port, const std::string& target) {
  Client c;
  REQUIRE_FALSE(c.connect(port));
  return c.get(target, false);
}

bool nonlocal_bind_allowed() {
  std::ifstream f("/proc/sys/net/ipv4/ip_nonlocal_bind");
  int v = 0;
  return f >> v && v != 0;
}

bool closed_by_peer(const error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset || ec == http::error::end_of_stream;
}

}  // namespace

TEST_CASE("listen addresses parse into host and port") {
  ListenAddress a = parse_listen_address("127.0.0.1:9464");
  CHECK(a.host == "127.0.0.1");
  CHECK(a.port == 9464);
  a = parse_listen_address("[::1]:9464");
  CHECK(a.host == "::1");
  CHECK(a.port == 9464);
  a = parse_listen_address(":9464");
  CHECK(a.host.empty());
  CHECK(a.port == 9464);
  a = parse_listen_address("localhost:0");
  CHECK(a.host == "localhost");
  CHECK(a.port == 0);
  a = parse_listen_address("[fe80::1%eth0]:65535");
  CHECK(a.host == "fe80::1%eth0");
  CHECK(a.port == 65535);
}

TEST_CASE("bad listen addresses are rejected with the reason") {
  using Catch::Matchers::Contains;
  CHECK_THROWS_WITH(parse_listen_address(""), Contains("empty"));
  CHECK_THROWS_WITH(parse_listen_address("9464"), Contains("expected ADDR:PORT"));
  CHECK_THROWS_WITH(parse_listen_address("127.0.0.1:"), Contains("port '' is not a number"));
  CHECK_THROWS_WITH(parse_listen_address("127.0.0.1:65536"),
                    Contains("port '65536' is not a number from 0 to 65535"));
  CHECK_THROWS_WITH(parse_listen_address("127.0.0.1:-1"), Contains("port '-1'"));
  CHECK_THROWS_WITH(parse_listen_address("127.0.0.1:80x"), Contains("port '80x'"));
  CHECK_THROWS_WITH(parse_listen_address("::1:9464"), Contains("need brackets"));
  CHECK_THROWS_WITH(parse_listen_address("[::1]9464"), Contains("expected ':PORT' after ']'"));
  CHECK_THROWS_WITH(parse_listen_address("[::1:9464"), Contains("missing ']'"));
  CHECK_THROWS_WITH(parse_listen_address("[]:9464"), Contains("empty address"));
  CHECK_THROWS_WITH(parse_listen_address("host:port"), Contains("listen address 'host:port': port 'port'"));
}

TEST_CASE("the server binds each supported form and reports the bound port") {
  asio::io_context io;
  for (const char* listen : {"127.0.0.1:0", ":0", "localhost:0", "[::1]:0"}) {
    INFO(listen);
    try {
      HttpServer s(io, listen, Endpoints{});
      CHECK(s.port() != 0);
    } catch (const std::runtime_error& e) {
      // Only IPv6 may legitimately be missing (containers without it).
      CHECK(std::string(listen) == "[::1]:0");
      WARN("IPv6 loopback unavailable: " << e.what());
    }
  }
}

TEST_CASE("binding failures throw with the reason") {
  using Catch::Matchers::Contains;
  asio::io_context io;
  HttpServer first(io, "127.0.0.1:0", Endpoints{});
  const std::string taken = "127.0.0.1:" + std::to_string(first.port());
  CHECK_THROWS_WITH(HttpServer(io, taken, Endpoints{}),
                    Contains("listen address '" + taken + "'") && Contains("Address already in use"));
  if (!nonlocal_bind_allowed())  // otherwise the kernel lets us bind an address the host does not have
    CHECK_THROWS_WITH(HttpServer(io, "192.0.2.1:0", Endpoints{}), Contains("bind 192.0.2.1"));
  CHECK_THROWS_WITH(HttpServer(io, "no-such-host.invalid:0", Endpoints{}), Contains("cannot resolve"));
  CHECK_THROWS_WITH(HttpServer(io, "9464", Endpoints{}), Contains("expected ADDR:PORT"));
}

TEST_CASE("GET /metrics, /healthz, /readyz and unknown paths") {
  ServerFixture f;
  SECTION("/metrics") {
    const auto res = get_once(f.port(), "/metrics");
    CHECK(res.result() == http::status::ok);
    CHECK(res[http::field::content_type] == "text/plain; version=0.0.4; charset=utf-8");
    CHECK(res.body() == "shadowmeter_test_metric 1\n");
    CHECK(f.scrapes == 1);
  }
  SECTION("/metrics with a query string") {
    const auto res = get_once(f.port(), "/metrics?name[]=x");
    CHECK(res.result() == http::status::ok);
    CHECK(res.body() == "shadowmeter_test_metric 1\n");
  }
  SECTION("/healthz") {
    const auto res = get_once(f.port(), "/healthz");
    CHECK(res.result() == http::status::ok);
    CHECK(res.body() == "ok");
  }
  SECTION("/readyz flips from 503 to 200") {
    auto res = get_once(f.port(), "/readyz");
    CHECK(res.result() == http::status::service_unavailable);
    CHECK(res.body() == "not ready");
    f.ready = true;
    res = get_once(f.port(), "/readyz");
    CHECK(res.result() == http::status::ok);
    CHECK(res.body() == "ready");
    f.ready = false;
    CHECK(get_once(f.port(), "/readyz").result_int() == 503);
  }
  SECTION("unknown path") {
    const auto res = get_once(f.port(), "/metricsx");
    CHECK(res.result() == http::status::not_found);
    CHECK(res.body() == "not found");
    CHECK(get_once(f.port(), "/").result_int() == 404);
  }
}

TEST_CASE("methods other than GET get 405 with Allow") {
  ServerFixture f;
  for (const auto verb : {http::verb::post, http::verb::put, http::verb::delete_, http::verb::head}) {
    Client c;
    REQUIRE_FALSE(c.connect(f.port()));
    http::request<http::string_body> req{verb, "/metrics", 11};
    req.set(http::field::host, "127.0.0.1");
    req.keep_alive(false);
    if (verb == http::verb::post) req.body() = "x=1";
    REQUIRE_FALSE(c.send(req));
    http::response<http::string_body> res;
    REQUIRE_FALSE(c.read(res));
    CHECK(res.result() == http::status::method_not_allowed);
    CHECK(res[http::field::allow] == "GET");
    // A HEAD response must not carry a body, so only the others say why.
    CHECK(res.body() == (verb == http::verb::head ? "" : "method not allowed"));
  }
  CHECK(f.scrapes == 0);
}

TEST_CASE("keep-alive serves several requests on one connection") {
  ServerFixture f;
  f.ready = true;
  Client c;
  REQUIRE_FALSE(c.connect(f.port()));
  auto res = c.get("/metrics");
  CHECK(res.result() == http::status::ok);
  CHECK(res.keep_alive());
  res = c.get("/readyz");
  CHECK(res.result() == http::status::ok);
  CHECK(res.body() == "ready");
  res = c.get("/healthz", false);
  CHECK(res.body() == "ok");
  CHECK_FALSE(res.keep_alive());
  CHECK(closed_by_peer(c.read_until_closed(2000ms)));
}

TEST_CASE("HTTP/1.0 without keep-alive is answered and closed") {
  ServerFixture f;
  Client c;
  REQUIRE_FALSE(c.connect(f.port()));
  REQUIRE_FALSE(c.send("GET /healthz HTTP/1.0\r\n\r\n"));
  http::response<http::string_body> res;
  REQUIRE_FALSE(c.read(res));
  CHECK(res.version() == 10);
  CHECK(res.body() == "ok");
  CHECK(closed_by_peer(c.read_until_closed(2000ms)));
}

TEST_CASE("oversized and malformed requests are rejected and the connection closed") {
  ServerFixture f;
  Client c;
  REQUIRE_FALSE(c.connect(f.port()));
  http::response<http::string_body> res;
  SECTION("header over 8 KiB") {
    REQUIRE_FALSE(
        c.send("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(9000, 'a') + "\r\n\r\n"));
    REQUIRE_FALSE(c.read(res));
    CHECK(res.result() == http::status::request_header_fields_too_large);
  }
  SECTION("body over the limit") {
    REQUIRE_FALSE(c.send("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"));
    REQUIRE_FALSE(c.read(res));
    CHECK(res.result() == http::status::payload_too_large);
  }
  SECTION("garbage") {
    REQUIRE_FALSE(c.send("HELLO THERE\r\n\r\n"));
    REQUIRE_FALSE(c.read(res));
    CHECK(res.result() == http::status::bad_request);
  }
  CHECK_FALSE(res.keep_alive());
  CHECK(closed_by_peer(c.read_until_closed(2000ms)));
  CHECK(f.scrapes == 0);
  // The server is still serving others.
  CHECK(get_once(f.port(), "/healthz").body() == "ok");
}

TEST_CASE("idle and slow connections time out") {
  ServerLimits limits;
  limits.timeout = 200ms;
  ServerFixture f(limits);
  Client idle;
  REQUIRE_FALSE(idle.connect(f.port()));
  Client slow;
  REQUIRE_FALSE(slow.connect(f.port()));
  REQUIRE_FALSE(slow.send("GET /metrics HTTP/1.1\r\nHo"));
  const auto start = std::chrono::steady_clock::now();
  CHECK(closed_by_peer(idle.read_until_closed(3000ms)));
  CHECK(closed_by_peer(slow.read_until_closed(3000ms)));
  CHECK(std::chrono::steady_clock::now() - start < 2500ms);
}

TEST_CASE("connections beyond the limit are closed at once") {
  ServerLimits limits;
  limits.max_connections = 2;
  ServerFixture f(limits);
  Client a, b;
  REQUIRE_FALSE(a.connect(f.port()));
  REQUIRE_FALSE(b.connect(f.port()));
  // A completed request proves each was accepted and counted.
  CHECK(a.get("/healthz").body() == "ok");
  CHECK(b.get("/healthz").body() == "ok");
  {
    Client extra;
    REQUIRE_FALSE(extra.connect(f.port()));
    CHECK(closed_by_peer(extra.read_until_closed(2000ms)));
  }
  // Once one closes, a new connection is served again.
  CHECK(a.get("/healthz", false).body() == "ok");
  CHECK(closed_by_peer(a.read_until_closed(2000ms)));
  bool served = false;
  for (int attempt = 0; attempt < 50 && !served; ++attempt) {
    Client again;
    REQUIRE_FALSE(again.connect(f.port()));
    http::request<http::string_body> req{http::verb::get, "/healthz", 11};
    req.set(http::field::host, "127.0.0.1");
    http::response<http::string_body> res;
    served = !again.send(req) && !again.read(res) && res.body() == "ok";
    if (!served) std::this_thread::sleep_for(20ms);
  }
  CHECK(served);
  CHECK(b.get("/healthz").body() == "ok");
}

TEST_CASE("stop() closes the listener and open connections") {
  ServerFixture f;
  const unsigned short port = f.port();
  Client c;
  REQUIRE_FALSE(c.connect(port));
  CHECK(c.get("/healthz").body() == "ok");
  f.stop_on_io_thread();
  CHECK(closed_by_peer(c.read_until_closed(2000ms)));
  Client late;
  CHECK(late.connect(port) == asio::error::connection_refused);
  f.stop_on_io_thread();  // idempotent
}

TEST_CASE("the destructor stops the server on a running io_context's thread") {
  asio::io_context io;
  auto server = std::make_unique<HttpServer>(io, "127.0.0.1:0", Endpoints{});
  const unsigned short port = server->port();
  asio::post(io, [&] { server.reset(); });
  io.run();  // returns: no accept or session keeps the loop alive after destruction
  Client late;
  CHECK(late.connect(port) == asio::error::connection_refused);
}

TEST_CASE("a throwing metrics callback gives 500, not a crash") {
  asio::io_context io;
  Endpoints ep;
  ep.metrics_text = []() -> std::string { throw std::runtime_error("boom"); };
  HttpServer server(io, "127.0.0.1:0", std::move(ep));
  std::thread t([&] { io.run_for(3s); });
  const auto res = get_once(server.port(), "/metrics");
  CHECK(res.result() == http::status::internal_server_error);
  asio::post(io, [&] { server.stop(); });
  t.join();
}
