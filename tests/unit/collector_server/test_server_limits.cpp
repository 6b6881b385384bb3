// The server under hostile input, over real sockets: numbers out of range and impossible values are
// 400s naming the field (never a dropped connection), JSON nesting and decoded size are bounded,
// Transfer-Encoding framing per RFC 9112 section 6.3, short head timeouts for clients that never
// authenticated, /readyz outside the query admission, and the response headers of the JSON routes.
#include <catch2/catch.hpp>
#include <string>

#include "server_fixture.h"
#include "server_test_util.h"

using namespace shadowmeter::collector;
using namespace smtest;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// A call span as the agent would send it, then edited as raw text.
std::string one_span(const std::string& start = "\"1763900000000000000\"", const std::string& extra = "") {
  return R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":)" + start +
         R"(,"endTimeUnixNano":"1763900000000000001","attributes":[{"key":"shadowmeter.event_id","value":{"stringValue":")" +
         event_id(1) + R"("}})" + extra + "]}]}]}]}";
}

std::string message(const Response& r) { return body_json(r).value("message", ""); }

}  // namespace

TEST_CASE("a time beyond 64 bits is a 400 naming the field, and the connection stays usable") {
  Fixture fx;
  Conn c(fx.port());
  REQUIRE_FALSE(c.connect());
  REQUIRE_FALSE(c.send(post(one_span("\"99999999999999999999\""), kToken)));
  Response r;
  REQUIRE_FALSE(c.read(r));
  CHECK(status(r) == 400);
  CHECK(message(r) == "span startTimeUnixNano \"99999999999999999999\" is out of the 64-bit range");
  REQUIRE_FALSE(c.send(post(one_span(), kToken)));
  REQUIRE_FALSE(c.read(r));
  CHECK(status(r) == 200);
  CHECK(fx.store.batches().size() == 1);
}

TEST_CASE("impossible values are 400s naming the attribute; nothing of the request is stored") {
  Fixture fx;
  const auto refused = [&](const std::string& attr) {
    const Response r = fetch(fx.port(), post(one_span("\"1763900000000000000\"", "," + attr), kToken));
    CHECK(status(r) == 400);
    return message(r);
  };
  CHECK_THAT(refused(R"({"key":"shadowmeter.cost.usd","value":{"doubleValue":1.7e308}})"),
             Catch::Contains("attribute shadowmeter.cost.usd"));
  CHECK_THAT(refused(R"({"key":"gen_ai.usage.input_tokens","value":{"intValue":"-3"}})"),
             Catch::Contains("attribute gen_ai.usage.input_tokens"));
  CHECK_THAT(refused(R"({"key":"shadowmeter.capture.ringbuf_drops","value":{"stringValue":"x"}})"),
             Catch::Contains("attribute shadowmeter.capture.ringbuf_drops"));
  CHECK_THAT(refused(R"({"key":"host.name","value":{"stringValue":"a\u0000b"}})"),
             Catch::Contains("NUL character"));
  CHECK(fx.store.batches().empty());
}

TEST_CASE("deep nesting is a 400 and a large decoded document a 413, within the body limit") {
  ServerOptions o = small_options();
  o.max_decoded_bytes = 512 * 1024;
  Fixture fx(o);
  const std::string deep = "{\"a\":" + std::string(20000, '[') + std::string(20000, ']') + "}";
  Response r = fetch(fx.port(), post(deep, kToken));
  CHECK(status(r) == 400);
  CHECK_THAT(message(r), Catch::Contains("nested deeper than 64 levels"));

  std::string wide = "{\"a\":[[]";
  while (wide.size() < 60000) wide += ",[]";
  wide += "]}";
  r = fetch(fx.port(), post(wide, kToken));
  CHECK(status(r) == 413);
  CHECK_THAT(message(r), Catch::Contains("decoded document larger than 524288 bytes"));
  CHECK(has_line(fx.metrics.serialize(), "shadowmeter_collector_rejected_requests_total{reason=\"too_large\"} 1"));
}

TEST_CASE("Transfer-Encoding whose final coding is not chunked is a 400 and the connection closes") {
  Fixture fx;
  for (const std::string te : {"xchunked", "identity", "gzip", "chunked, identity", "chunked, chunked",
                               "chunked\r\nTransfer-Encoding: chunked"}) {
    INFO(te);
    Conn c(fx.port());
    REQUIRE_FALSE(c.connect());
    // Read as bodyless, the body would be the next request: it must never be answered.
    REQUIRE_FALSE(c.write_raw("POST /v1/traces HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + kToken +
                              "\r\nContent-Type: application/json\r\nTransfer-Encoding: " + te +
                              "\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    Response r;
    REQUIRE_FALSE(c.read(r));
    CHECK(status(r) == 400);
    // (Beast itself refuses a repeated Transfer-Encoding line as malformed.)
    if (te.find('\n') == std::string::npos)
      CHECK_THAT(body_json(r)["error"].get<std::string>(), Catch::Contains("final transfer coding must be chunked"));
    CHECK_FALSE(r.keep_alive());
    CHECK(c.closed_by_server());
  }
  // A coding before chunked is valid framing this server does not implement.
  Conn c(fx.port());
  REQUIRE_FALSE(c.connect());
  REQUIRE_FALSE(c.write_raw("GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"));
  Response r;
  REQUIRE_FALSE(c.read(r));
  CHECK(status(r) == 501);
  CHECK(c.closed_by_server());
  // Plain chunked still works.
  Conn good(fx.port());
  REQUIRE_FALSE(good.connect());
  Request chunked = post(otlp({call_event(9)}), kToken);
  chunked.chunked(true);
  REQUIRE_FALSE(good.send(chunked));
  REQUIRE_FALSE(good.read(r));
  CHECK(status(r) == 200);
  CHECK(has_line(fx.metrics.serialize(), "shadowmeter_collector_rejected_requests_total{reason=\"bad_framing\"} 6"));
}

TEST_CASE("a connection that never authenticates gets the short head timeout") {
  ServerOptions o = small_options();
  o.read_timeout = 60s;  // longer than the client's own timeout: only header_timeout can close it
  o.header_timeout = 1s;
  Fixture fx(o);
  Conn silent(fx.port());
  REQUIRE_FALSE(silent.connect());
  CHECK(silent.closed_by_server());
  Conn unauthenticated(fx.port());
  REQUIRE_FALSE(unauthenticated.connect());
  REQUIRE_FALSE(unauthenticated.send(get("/healthz")));
  Response r;
  REQUIRE_FALSE(unauthenticated.read(r));
  CHECK(unauthenticated.closed_by_server());
}

TEST_CASE("/readyz and /healthz do not take query slots") {
  ServerOptions o = small_options();
  o.max_pending_queries = 0;  // every API query is refused
  Fixture fx(o);
  CHECK(status(fetch(fx.port(), get("/api/v1/agents", kToken))) == 503);
  CHECK(status(fetch(fx.port(), get("/readyz"))) == 200);
  CHECK(status(fetch(fx.port(), get("/healthz"))) == 200);
}

TEST_CASE("JSON routes say nosniff; calls and agents are not cached") {
  Fixture fx;
  for (const char* path : {"/api/v1/calls", "/api/v1/agents"}) {
    const Response r = fetch(fx.port(), get(path, kToken));
    REQUIRE(status(r) == 200);
    CHECK(r["X-Content-Type-Options"] == "nosniff");
    CHECK(r[http::field::cache_control] == "no-store");
  }
  for (const Response& r : {fetch(fx.port(), post(otlp({call_event(1)}), kToken)), fetch(fx.port(), get("/nope")),
                            fetch(fx.port(), get("/api/v1/calls"))})
    CHECK(r["X-Content-Type-Options"] == "nosniff");
}
