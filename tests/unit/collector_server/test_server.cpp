// The collector's HTTP server over real sockets on 127.0.0.1, with the ingest queue wired to a commit
// step that records batches: authentication, media types, body limits (received and decompressed),
// malformed bodies, routing, the query API, metrics, backpressure, store errors, keep-alive, a graceful
// stop, connection limits, and TLS with and without client certificates.
#include <catch2/catch.hpp>
#include <condition_variable>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "server/server.h"
#include "server_fixture.h"
#include "server_test_util.h"

using namespace shadowmeter::collector;
using namespace smtest;
using namespace std::chrono_literals;
using nlohmann::json;

TEST_CASE("a valid request is committed before the 200") {
  Fixture fx;
  const std::string body = otlp(
      {call_event(1), call_event(2), record_event(3, "heartbeat"), record_event(4, "gap"), call_event(5)});
  const Response res = fetch(fx.port(), post(body, kToken));
  REQUIRE(status(res) == 200);
  CHECK(res[http::field::content_type] == "application/json");
  CHECK(res.body() == R"({"partialSuccess":{}})");
  const auto batches = fx.store.batches();  // committed by the time the answer was sent
  REQUIRE(batches.size() == 1);
  CHECK(batches[0].calls.size() == 3);
  CHECK(batches[0].heartbeats.size() == 1);
  CHECK(batches[0].gaps.size() == 1);
  CHECK(batches[0].principal == token_principal(kToken));
  CHECK(batches[0].received_unix_nano > 0);
  CHECK(batches[0].calls[0]["host.name"] == "node-1");

  const std::string m = fx.metrics_text();
  CHECK(has_line(m, "shadowmeter_collector_ingested_events_total 3"));
  CHECK(has_line(m, "shadowmeter_collector_heartbeats_total 1"));
  CHECK(has_line(m, "shadowmeter_collector_gap_dropped_events_total 7"));
  CHECK(has_line(m,
                 "shadowmeter_collector_agent_last_heartbeat_timestamp_seconds{host=\"node-1\"} 1763900000"));
  CHECK(has_line(m, "shadowmeter_collector_batch_commit_seconds_count 1"));
  CHECK(has_line(m, "shadowmeter_collector_queue_events 0"));

  // The same events again: answered 200, counted as duplicates.
  REQUIRE(status(fetch(fx.port(), post(body, kToken))) == 200);
  CHECK(has_line(fx.metrics_text(), "shadowmeter_collector_duplicate_events_total 3"));
}

TEST_CASE("gzip bodies are accepted") {
  Fixture fx;
  const Response res = fetch(fx.port(), post(gzip(otlp_calls(1, 4)), kToken, "application/json", "gzip"));
  REQUIRE(status(res) == 200);
  REQUIRE(fx.store.batches().size() == 1);
  CHECK(fx.store.batches()[0].calls.size() == 4);
}

TEST_CASE("an empty request is answered without a commit") {
  Fixture fx;
  CHECK(status(fetch(fx.port(), post("{}", kToken))) == 200);
  CHECK(fx.store.batches().empty());
}

TEST_CASE("missing or wrong tokens get 401") {
  Fixture fx;
  for (const std::string& token : {std::string(), std::string("wrong-token"), kToken + "x"}) {
    const Response res = fetch(fx.port(), post(otlp_calls(1, 1), token));
    CHECK(status(res) == 401);
    CHECK(res[http::field::www_authenticate] == "Bearer realm=\"shadowmeter\"");
    CHECK(body_json(res)["code"] == 16);
  }
  Request basic = post(otlp_calls(1, 1), "");
  basic.set(http::field::authorization, "Basic " + kToken);
  CHECK(status(fetch(fx.port(), basic)) == 401);
  CHECK(fx.store.batches().empty());
  CHECK(has_line(fx.metrics_text(),
                 "shadowmeter_collector_rejected_requests_total{reason=\"unauthorized\"} 4"));
}

TEST_CASE("refusals from the head keep the connection when the body is small") {
  Fixture fx;
  Conn c(fx.port());
  REQUIRE_FALSE(c.connect());
  Response res;
  REQUIRE_FALSE(c.send(post(otlp_calls(1, 1), "wrong")));
  REQUIRE_FALSE(c.read(res));
  CHECK(status(res) == 401);
  CHECK(res.keep_alive());
  REQUIRE_FALSE(c.send(post(otlp_calls(1, 1), kToken, "text/plain")));
  REQUIRE_FALSE(c.read(res));
  CHECK(status(res) == 415);
  CHECK(res.keep_alive());
  Request to_nowhere = post("{}", kToken);
  to_nowhere.target("/v2/traces");
  REQUIRE_FALSE(c.send(to_nowhere));
  REQUIRE_FALSE(c.read(res));
  CHECK(status(res) == 404);
  CHECK(res.keep_alive());
  REQUIRE_FALSE(c.send(post(otlp_calls(1, 1), kToken)));
  REQUIRE_FALSE(c.read(res));
  CHECK(status(res) == 200);
}

TEST_CASE("authentication is checked before a large body is read") {
  Fixture fx;
  Conn c(fx.port());
  REQUIRE_FALSE(c.connect());
  REQUIRE_FALSE(
      c.write_raw("POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  "Content-Length: 1073741824\r\n\r\n"));
  Response res;
  REQUIRE_FALSE(c.read(res));
  CHECK(status(res) == 401);
  CHECK_FALSE(res.keep_alive());
}

TEST_CASE("wrong media types and encodings get 415") {
  Fixture fx;
  const std::string body = otlp_calls(1, 1);
  Response res = fetch(fx.port(), post(body, kToken, "application/x-protobuf"));
  CHECK(status(res) == 415);
  CHECK_THAT(body_json(res)["message"].get<std::string>(), Catch::Contains("JSON only"));
  CHECK(status(fetch(fx.port(), post(body, kToken, "text/plain"))) == 415);
  CHECK(status(fetch(fx.port(), post(body, kToken, ""))) == 415);
  res = fetch(fx.port(), post(body, kToken, "application/json", "br"));
  CHECK(status(res) == 415);
  CHECK_THAT(body_json(res)["message"].get<std::string>(), Catch::Contains("gzip or identity"));
  const std::string m = fx.metrics_text();
  CHECK(has_line(m, "shadowmeter_collector_rejected_requests_total{reason=\"bad_content_type\"} 3"));
  CHECK(has_line(m, "shadowmeter_collector_rejected_requests_total{reason=\"bad_encoding\"} 1"));
  CHECK(fx.store.batches().empty());
}

TEST_CASE("bodies over the limit get 413, compressed or not") {
  Fixture fx;  // max_body_bytes = 64 KiB
  SECTION("Content-Length over the limit, answered before the body is sent") {
    Conn c(fx.port());
    REQUIRE_FALSE(c.connect());
    REQUIRE_FALSE(c.write_raw("POST /v1/traces HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + kToken +
                              "\r\nContent-Type: application/json\r\nContent-Length: 1073741824\r\n\r\n"));
    Response res;
    REQUIRE_FALSE(c.read(res));
    CHECK(status(res) == 413);
    CHECK(c.closed_by_server());
  }
  SECTION("a body sent in full") {
    const Response res = fetch(fx.port(), post(std::string(100 * 1024, ' '), kToken));
    CHECK(status(res) == 413);
    CHECK_FALSE(res.keep_alive());
  }
  SECTION("a chunked body, stopped while reading") {
    Conn c(fx.port());
    REQUIRE_FALSE(c.connect());
    std::string raw = "POST /v1/traces HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + kToken +
                      "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 10; ++i) raw += "2000\r\n" + std::string(0x2000, ' ') + "\r\n";  // 80 KiB
    raw += "0\r\n\r\n";
    REQUIRE_FALSE(c.write_raw(raw));
    Response res;
    REQUIRE_FALSE(c.read(res));
    CHECK(status(res) == 413);
  }
  SECTION("a gzip bomb: small on the wire, too large decompressed") {
    const std::string bomb = gzip_repeat(std::string(1 << 16, ' '), 16u << 20);
    REQUIRE(bomb.size() < 64 * 1024);
    const Response res = fetch(fx.port(), post(bomb, kToken, "application/json", "gzip"));
    CHECK(status(res) == 413);
    CHECK_THAT(body_json(res)["message"].get<std::string>(), Catch::Contains("decompressed"));
  }
  CHECK(fx.store.batches().empty());
  CHECK(has_line(fx.metrics_text(), "shadowmeter_collector_rejected_requests_total{reason=\"too_large\"} 1"));
}

TEST_CASE("malformed bodies get 400 with the reason") {
  Fixture fx;
  Response res = fetch(fx.port(), post("{\"resourceSpans\": [", kToken));
  CHECK(status(res) == 400);
  CHECK_THAT(body_json(res)["message"].get<std::string>(), Catch::Contains("not JSON"));

  json bad_id = call_event(1);
  bad_id["shadowmeter.event_id"] = "not-an-id";
  res = fetch(fx.port(), post(otlp({call_event(2), bad_id}), kToken));
  CHECK(status(res) == 400);
  CHECK_THAT(body_json(res)["message"].get<std::string>(), Catch::Contains("shadowmeter.event_id"));

  res = fetch(fx.port(), post(otlp({record_event(3, "mystery")}), kToken));
  CHECK(status(res) == 400);
  CHECK_THAT(body_json(res)["message"].get<std::string>(), Catch::Contains("mystery"));

  res = fetch(fx.port(), post("this is not gzip", kToken, "application/json", "gzip"));
  CHECK(status(res) == 400);
  CHECK_THAT(body_json(res)["message"].get<std::string>(), Catch::Contains("gzip"));

  const std::string m = fx.metrics_text();
  CHECK(has_line(m, "shadowmeter_collector_rejected_requests_total{reason=\"malformed\"} 3"));
  CHECK(has_line(m, "shadowmeter_collector_rejected_requests_total{reason=\"bad_encoding\"} 1"));
  CHECK(fx.store.batches().empty());
}

TEST_CASE("more spans than allowed get 400") {
  ServerOptions o = small_options();
  o.max_spans = 3;
  Fixture fx(o);
  CHECK(status(fetch(fx.port(), post(otlp_calls(1, 3), kToken))) == 200);
  const Response res = fetch(fx.port(), post(otlp_calls(10, 4), kToken));
  CHECK(status(res) == 400);
  CHECK_THAT(body_json(res)["message"].get<std::string>(), Catch::Contains("more than 3 spans"));
}

TEST_CASE("routes: 404 and 405") {
  Fixture fx;
  CHECK(status(fetch(fx.port(), get("/nope"))) == 404);
  CHECK(status(fetch(fx.port(), get("/v1/logs"))) == 404);
  Response res = fetch(fx.port(), get("/v1/traces", kToken));
  CHECK(status(res) == 405);
  CHECK(res[http::field::allow] == "POST");
  Request post_health = post("{}", kToken);
  post_health.target("/healthz");
  res = fetch(fx.port(), post_health);
  CHECK(status(res) == 405);
  CHECK(res[http::field::allow] == "GET");
}

TEST_CASE("health, readiness and metrics are open") {
  ServerOptions o = small_options();
  o.ready_cache = 0ms;  // each /readyz pings
  Fixture fx(o);
  Response res = fetch(fx.port(), get("/healthz"));
  CHECK(status(res) == 200);
  CHECK(fetch(fx.port(), get("/readyz")).result_int() == 200);
  fx.api.ready = false;
  CHECK(fetch(fx.port(), get("/readyz")).result_int() == 503);
  res = fetch(fx.port(), get("/metrics"));
  CHECK(status(res) == 200);
  CHECK_THAT(std::string(res[http::field::content_type]), Catch::StartsWith("text/plain; version=0.0.4"));
  for (const char* name :
       {"shadowmeter_collector_ingested_events_total", "shadowmeter_collector_duplicate_events_total",
        "shadowmeter_collector_rejected_requests_total", "shadowmeter_collector_batch_commit_seconds",
        "shadowmeter_collector_queue_events", "shadowmeter_collector_store_bytes",
        "shadowmeter_collector_store_calls", "shadowmeter_collector_heartbeats_total",
        "shadowmeter_collector_gap_dropped_events_total",
        "shadowmeter_collector_dimension_attributes_dropped_total"}) {
    INFO(name);
    CHECK(res.body().find(std::string("# TYPE ") + name) != std::string::npos);
  }
}

TEST_CASE("query API") {
  Fixture fx;
  SECTION("needs the token") {
    const Response res = fetch(fx.port(), get("/api/v1/calls"));
    CHECK(status(res) == 401);
    CHECK(res[http::field::www_authenticate] == "Bearer realm=\"shadowmeter\"");
    CHECK(status(fetch(fx.port(), get("/api/v1/agents", "bad"))) == 401);
  }
  SECTION("calls with filters") {
    const Response res = fetch(
        fx.port(),
        get("/api/v1/calls?from=2026-08-01T12:00:00Z&provider=openai&shadow=true&limit=5&cursor=c1", kToken));
    REQUIRE(status(res) == 200);
    const json j = body_json(res);
    CHECK(j["calls"].size() == 1);
    CHECK(j["calls"][0]["shadowmeter.event_id"] == event_id(1));
    CHECK(j["next_cursor"] == "next-1");
    std::lock_guard lock(fx.api.mu);
    CHECK(fx.api.last.from_unix_nano == 1785585600ull * 1000000000ull);
    CHECK(fx.api.last.provider == "openai");
    CHECK(fx.api.last.shadow == true);
    CHECK(fx.api.last.limit == 5);
    CHECK(fx.api.last.cursor == "c1");
  }
  SECTION("bad parameters get 400") {
    Response res = fetch(fx.port(), get("/api/v1/calls?limit=5000", kToken));
    CHECK(status(res) == 400);
    CHECK_THAT(body_json(res)["error"].get<std::string>(), Catch::Contains("limit"));
    fx.api.mode = 1;
    res = fetch(fx.port(), get("/api/v1/calls?cursor=zzz", kToken));
    CHECK(status(res) == 400);
    CHECK_THAT(body_json(res)["error"].get<std::string>(), Catch::Contains("cursor"));
  }
  SECTION("a store that does not answer gets 503 with Retry-After") {
    fx.api.mode = 2;
    fx.api.ready = false;
    const Response res = fetch(fx.port(), get("/api/v1/calls", kToken));
    CHECK(status(res) == 503);
    CHECK(res[http::field::retry_after] == "2");
    CHECK(res.body().find("connection refused") == std::string::npos);  // not echoed
  }
  SECTION("a query failing on a store that answers gets 500 saying why, not 'retry later'") {
    fx.api.mode = 2;
    const Response res = fetch(fx.port(), get("/api/v1/calls", kToken));
    CHECK(status(res) == 500);
    CHECK(res[http::field::retry_after] == "");
    CHECK(body_json(res)["error"] == "the query failed: connection refused");
  }
  SECTION("agents") {
    const Response res = fetch(fx.port(), get("/api/v1/agents", kToken));
    REQUIRE(status(res) == 200);
    CHECK(body_json(res)["agents"][0]["host.name"] == "node-1");
  }
  SECTION("wrong method") {
    Request r = post("{}", kToken);
    r.target("/api/v1/calls");
    CHECK(status(fetch(fx.port(), r)) == 405);
  }
}

TEST_CASE("keep-alive: several requests on one connection") {
  Fixture fx;
  Conn c(fx.port());
  REQUIRE_FALSE(c.connect());
  for (int i = 0; i < 3; ++i) {
    REQUIRE_FALSE(c.send(post(otlp_calls(10 * i, 2), kToken)));
    Response res;
    REQUIRE_FALSE(c.read(res));
    CHECK(status(res) == 200);
    CHECK(res.keep_alive());
    // A refused request with its body read keeps the connection too.
    REQUIRE_FALSE(c.send(post(otlp_calls(1, 1), "wrong")));
    REQUIRE_FALSE(c.read(res));
    CHECK(status(res) == 401);
    CHECK(res.keep_alive());
    REQUIRE_FALSE(c.send(get("/healthz")));
    REQUIRE_FALSE(c.read(res));
    CHECK(status(res) == 200);
  }
  CHECK(fx.store.batches().size() == 3);
}

TEST_CASE("Expect: 100-continue") {
  Fixture fx;
  Conn c(fx.port());
  REQUIRE_FALSE(c.connect());
  const std::string body = otlp_calls(1, 2);
  REQUIRE_FALSE(c.write_raw("POST /v1/traces HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + kToken +
                            "\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: " +
                            std::to_string(body.size()) + "\r\n\r\n"));
  http::response<http::empty_body> cont;
  REQUIRE_FALSE(c.read_continue(cont));
  CHECK(cont.result() == http::status::continue_);
  REQUIRE_FALSE(c.write_raw(body));
  Response res;
  REQUIRE_FALSE(c.read(res));
  CHECK(status(res) == 200);
}

TEST_CASE("Expect: 100-continue with a refused head is answered at once") {
  Fixture fx;
  Conn c(fx.port());
  REQUIRE_FALSE(c.connect());
  REQUIRE_FALSE(
      c.write_raw("POST /v1/traces HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nope\r\n"
                  "Content-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: 100\r\n\r\n"));
  Response res;
  REQUIRE_FALSE(c.read(res));
  CHECK(status(res) == 401);
  CHECK_FALSE(res.keep_alive());
}

TEST_CASE("HEAD gets a 405 without a body") {
  Fixture fx;
  Conn c(fx.port());
  REQUIRE_FALSE(c.connect());
  Request head = get("/healthz");
  head.method(http::verb::head);
  REQUIRE_FALSE(c.send(head));
  Response res;
  REQUIRE_FALSE(c.read(res));
  CHECK(status(res) == 405);
  CHECK(res[http::field::content_length] == "0");
  REQUIRE_FALSE(c.send(get("/healthz")));
  REQUIRE_FALSE(c.read(res));
  CHECK(status(res) == 200);
  CHECK(res.body() == "ok\n");
}

TEST_CASE("a failing commit gets 503 with Retry-After") {
  Fixture fx;
  fx.store.fail(true);
  const Response res = fetch(fx.port(), post(otlp_calls(1, 2), kToken));
  CHECK(status(res) == 503);
  CHECK(res[http::field::retry_after] == "2");
  CHECK(
      has_line(fx.metrics_text(), "shadowmeter_collector_rejected_requests_total{reason=\"store_error\"} 1"));
  fx.store.fail(false);
  CHECK(status(fetch(fx.port(), post(otlp_calls(1, 2), kToken))) == 200);
}

TEST_CASE("over the high-water mark: 503 with Retry-After, nothing queued") {
  IngestQueueOptions q;
  q.high_water_events = 3;
  Fixture fx(small_options(), token_policy(), q);
  fx.store.hold(true);
  auto first =
      std::async(std::launch::async, [&] { return try_fetch(fx.port(), post(otlp_calls(1, 3), kToken)); });
  fx.store.wait_entered(1);  // 3 events are being committed
  const Response refused = fetch(fx.port(), post(otlp_calls(10, 1), kToken));
  CHECK(status(refused) == 503);
  CHECK(refused[http::field::retry_after] == "2");
  CHECK(fx.queue.queued_events() == 3);
  fx.store.hold(false);
  const std::optional<Response> first_res = first.get();
  REQUIRE(first_res);
  CHECK(status(*first_res) == 200);
  const auto batches = fx.store.batches();
  REQUIRE(batches.size() == 1);
  CHECK(batches[0].calls.size() == 3);
  CHECK(has_line(fx.metrics_text(),
                 "shadowmeter_collector_rejected_requests_total{reason=\"backpressure\"} 1"));
}

TEST_CASE("graceful stop: the request in flight is committed and answered, new connections are refused") {
  Fixture fx;
  fx.store.hold(true);
  Conn idle(fx.port());
  REQUIRE_FALSE(idle.connect());
  REQUIRE_FALSE(idle.send(get("/healthz")));
  Response idle_res;
  REQUIRE_FALSE(idle.read(idle_res));  // now idle between requests

  Conn busy(fx.port());
  REQUIRE_FALSE(busy.connect());
  REQUIRE_FALSE(busy.send(post(otlp_calls(1, 2), kToken)));
  fx.store.wait_entered(1);
  auto stopped = std::async(std::launch::async, [&] { return fx.server->stop(20s); });
  CHECK(idle.closed_by_server());  // idle connections are closed at once
  // Wait until the listener is gone.
  for (int i = 0;; ++i) {
    Conn probe(fx.port());
    if (probe.connect() || probe.closed_by_server()) break;
    REQUIRE(i < 2000);
    std::this_thread::sleep_for(5ms);
  }
  fx.store.hold(false);
  Response res;
  REQUIRE_FALSE(busy.read(res));
  CHECK(status(res) == 200);
  CHECK_FALSE(res.keep_alive());
  CHECK(stopped.get());
  CHECK(fx.store.batches().size() == 1);
  Conn after(fx.port());
  CHECK(after.connect());
}

namespace {

ServerOptions two_connections() {
  ServerOptions o = small_options();
  o.max_connections = 2;
  o.evict_after = 0ms;  // any idle connection may give way
  return o;
}

// Connects each of `conns` and writes `raw` on it.
void connect_and_write(std::initializer_list<Conn*> conns, const std::string& raw) {
  for (Conn* c : conns) {
    REQUIRE_FALSE(c->connect());
    REQUIRE_FALSE(c->write_raw(raw));
  }
}

}  // namespace

TEST_CASE("beyond the connection limit the longest-idle connection gives way") {
  Fixture fx(two_connections());
  Conn a(fx.port()), b(fx.port());
  connect_and_write({&a, &b}, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  for (Conn* c : {&a, &b}) {
    Response r;
    REQUIRE_FALSE(c->read(r));
  }
  // b authenticates: a, idle and never authenticated, is the one closed for the newcomer.
  REQUIRE_FALSE(b.send(get("/api/v1/agents", kToken)));
  Response r;
  REQUIRE_FALSE(b.read(r));
  REQUIRE(status(r) == 200);
  Conn extra(fx.port());
  REQUIRE_FALSE(extra.connect());
  REQUIRE_FALSE(extra.send(get("/healthz")));
  REQUIRE_FALSE(extra.read(r));
  CHECK(status(r) == 200);
  CHECK(a.closed_by_server());
  REQUIRE_FALSE(b.send(get("/healthz")));
  REQUIRE_FALSE(b.read(r));
  CHECK(status(r) == 200);
}

TEST_CASE("beyond the connection limit with every connection busy, a newcomer gets 503 + Retry-After") {
  Fixture fx(two_connections());
  // Both slots hold a request whose body is still coming: busy, not idle.
  Conn a(fx.port()), b(fx.port());
  connect_and_write({&a, &b}, "POST /v1/traces HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + kToken +
                                  "\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{");
  Response r;
  for (int i = 0; i < 3; ++i) {
    Conn extra(fx.port());
    REQUIRE_FALSE(extra.connect());
    REQUIRE_FALSE(extra.send(get("/healthz")));
    REQUIRE_FALSE(extra.read(r));
    CHECK(status(r) == 503);
    CHECK(r[http::field::retry_after] == "2");
    CHECK(r[http::field::connection] == "close");
  }
  CHECK(has_line(fx.metrics.serialize(), "shadowmeter_collector_rejected_requests_total{reason=\"connection_limit\"} 3"));
}

TEST_CASE("a connection idle for less than evict_after does not give way") {
  ServerOptions o = two_connections();
  o.evict_after = 1h;
  Fixture fx(o);
  Conn a(fx.port()), b(fx.port());
  connect_and_write({&a, &b}, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  Response r;
  for (Conn* c : {&a, &b}) REQUIRE_FALSE(c->read(r));
  Conn extra(fx.port());
  REQUIRE_FALSE(extra.connect());
  REQUIRE_FALSE(extra.send(get("/healthz")));
  REQUIRE_FALSE(extra.read(r));
  CHECK(status(r) == 503);
  REQUIRE_FALSE(a.send(get("/healthz")));
  REQUIRE_FALSE(a.read(r));
  CHECK(status(r) == 200);
}

TEST_CASE("an idle connection is closed after the read timeout") {
  ServerOptions o = small_options();
  o.read_timeout = 1s;
  Fixture fx(o);
  Conn c(fx.port());
  REQUIRE_FALSE(c.connect());
  CHECK(c.closed_by_server());
}

TEST_CASE("oversized request heads get 431") {
  Fixture fx;
  Request r = get("/healthz");
  r.set("X-Padding", std::string(20000, 'p'));
  const Response res = fetch(fx.port(), r);
  CHECK(status(res) == 431);
}

TEST_CASE("TLS") {
  const Certs& cert = certs();
  ServerOptions o = small_options();
  o.tls.cert_file = cert.server_cert;
  o.tls.key_file = cert.server_key;
  Fixture fx(o);
  REQUIRE(fx.server->tls());
  auto ctx = client_tls();
  Conn c(fx.port(), ctx);
  REQUIRE_FALSE(c.connect());
  REQUIRE_FALSE(c.send(post(otlp_calls(1, 2), kToken)));
  Response res;
  REQUIRE_FALSE(c.read(res));
  CHECK(status(res) == 200);
  REQUIRE_FALSE(c.send(get("/healthz")));
  REQUIRE_FALSE(c.read(res));
  CHECK(status(res) == 200);
  CHECK(fx.store.batches().at(0).principal == token_principal(kToken));

  // Plain HTTP to the TLS listener gets no answer.
  Conn plain(fx.port());
  REQUIRE_FALSE(plain.connect());
  REQUIRE_FALSE(plain.send(get("/healthz")));
  Response none;
  CHECK(plain.read(none));
}

TEST_CASE("mTLS with required client certificates") {
  const Certs& cert = certs();
  ServerOptions o = small_options();
  o.tls.cert_file = cert.server_cert;
  o.tls.key_file = cert.server_key;
  o.tls.client_ca_file = cert.client_ca;
  o.tls.require_client_cert = true;
  AuthPolicy auth;
  auth.require_client_cert = true;
  Fixture fx(o, auth);

  SECTION("a client with a valid certificate is the principal mtls:<CN>") {
    auto ctx = client_tls(cert.client_cert, cert.client_key);
    Conn c(fx.port(), ctx);
    REQUIRE_FALSE(c.connect());
    REQUIRE_FALSE(c.send(post(otlp_calls(1, 1), "")));
    Response res;
    REQUIRE_FALSE(c.read(res));
    CHECK(status(res) == 200);
    CHECK(fx.store.batches().at(0).principal == "mtls:agent-1");
  }
  SECTION("a client without a certificate fails the handshake") {
    auto ctx = client_tls();
    Conn c(fx.port(), ctx);
    // TLS 1.3 reports the server's refusal on the client's first read rather than in its handshake.
    bool failed = static_cast<bool>(c.connect());
    if (!failed) {
      Response res;
      failed = c.send(get("/healthz")) || c.read(res);
    }
    CHECK(failed);
  }
  SECTION("a client with a certificate from another CA fails the handshake") {
    auto ctx = client_tls(cert.rogue_cert, cert.rogue_key);
    Conn c(fx.port(), ctx);
    bool failed = static_cast<bool>(c.connect());
    if (!failed) {
      Response res;
      failed = c.send(get("/healthz")) || c.read(res);
    }
    CHECK(failed);
  }
  CHECK(fx.store.batches().size() <= 1);
}

TEST_CASE("mTLS and tokens: the token is still required") {
  const Certs& cert = certs();
  ServerOptions o = small_options();
  o.tls.cert_file = cert.server_cert;
  o.tls.key_file = cert.server_key;
  o.tls.client_ca_file = cert.client_ca;
  Fixture fx(o, token_policy());
  auto ctx = client_tls(cert.client_cert, cert.client_key);
  Conn c(fx.port(), ctx);
  REQUIRE_FALSE(c.connect());
  REQUIRE_FALSE(c.send(post(otlp_calls(1, 1), "")));
  Response res;
  REQUIRE_FALSE(c.read(res));
  CHECK(status(res) == 401);
  REQUIRE_FALSE(c.send(post(otlp_calls(1, 1), kToken)));
  REQUIRE_FALSE(c.read(res));
  CHECK(status(res) == 200);
  CHECK(fx.store.batches().at(0).principal == token_principal(kToken));

  // Optional client certificates: a client without one still gets in with the token.
  auto no_cert = client_tls();
  Conn d(fx.port(), no_cert);
  REQUIRE_FALSE(d.connect());
  REQUIRE_FALSE(d.send(post(otlp_calls(5, 1), kToken)));
  REQUIRE_FALSE(d.read(res));
  CHECK(status(res) == 200);
}
