#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "capture/connection_table.h"
#include "capture/host.h"

using namespace shadowmeter;
using namespace shadowmeter::capture;

namespace {

const std::string kBody =
    R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]})";

std::string request(const std::string& host = "api.openai.com", const std::string& body = kBody) {
  return "POST /v1/chat/completions?api-version=1 HTTP/1.1\r\nHost: " + host +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
         body;
}

std::string completion_json(int prompt, int completion) {
  return R"({"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o-mini-2024-07-18","choices":[],)"
         R"("usage":{"prompt_tokens":)" +
         std::to_string(prompt) + R"(,"completion_tokens":)" + std::to_string(completion) +
         R"(,"total_tokens":)" + std::to_string(prompt + completion) + "}}";
}

std::string response(int prompt, int completion) {
  auto body = completion_json(prompt, completion);
  return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

struct Harness {
  providers::Catalog catalog;
  providers::Registry registry;
  std::vector<Exchange> exchanges;
  std::vector<ConnKey> ignored;
  std::vector<http1::Outcome> outcomes;
  std::unique_ptr<ConnectionTable> table;
  std::uint64_t offsets[2] = {0, 0};
  std::uint64_t ts = 1000;

  // The name a ClientHello gave the socket (the connection tracker's answer), by (process, fd).
  std::optional<std::string> hello_name;

  explicit Harness(CaptureLimits limits = {}) {
    catalog.add({"openai", "api.openai.com", "openai"});
    CaptureCallbacks cb;
    cb.server_name = [this](std::uint32_t tgid, std::int32_t fd) -> std::optional<std::string> {
      if (tgid == 42 && fd == 7) return hello_name;
      return std::nullopt;
    };
    cb.ignore = [this](const ConnKey& k) { ignored.push_back(k); };
    cb.exchange = [this](Exchange&& e) { exchanges.push_back(std::move(e)); };
    cb.parse_outcome = [this](http1::Outcome o) { outcomes.push_back(o); };
    table = std::make_unique<ConnectionTable>(catalog, registry, limits, std::move(cb));
  }

  void send(Direction d, std::string_view bytes, ConnKey key = {42, 0xabc}) {
    Chunk c;
    c.key = key;
    c.direction = d;
    c.stream_offset = offsets[static_cast<int>(d)];
    c.ts_ns = ++ts;
    c.fd = 7;
    c.comm = "curl";
    c.data = bytes;
    offsets[static_cast<int>(d)] += bytes.size();
    table->on_chunk(c);
  }
  // Skips `lost` bytes of the stream as a failed ring-buffer write would.
  void lose(Direction d, std::uint64_t lost) { offsets[static_cast<int>(d)] += lost; }
};

}  // namespace

TEST_CASE("one exchange: exact usage, host, path without query, pid, timestamps") {
  Harness h;
  h.send(Direction::egress, request());
  h.send(Direction::ingress, response(123, 45));
  REQUIRE(h.exchanges.size() == 1);
  const auto& e = h.exchanges[0];
  CHECK(e.key.tgid == 42u);
  CHECK(e.host == "api.openai.com");
  CHECK(e.port == 443);
  CHECK(e.method == "POST");
  CHECK(e.path == "/v1/chat/completions");
  CHECK(e.status == 200);
  CHECK(e.comm == "curl");
  CHECK(e.fd == 7);
  CHECK(e.start_ns == 1001u);
  CHECK(e.end_ns == 1002u);
  CHECK(e.error_type.empty());
  CHECK(e.call.provider == "openai");
  CHECK(e.call.request_model == "gpt-4o-mini");
  CHECK(e.call.response_model == "gpt-4o-mini-2024-07-18");
  REQUIRE(e.call.usage.input_tokens);
  CHECK(*e.call.usage.input_tokens == 123);
  CHECK(*e.call.usage.output_tokens == 45);
  CHECK(e.call.usage.source == providers::UsageSource::response);
  CHECK(h.ignored.empty());
  CHECK(h.table->size() == 1);
  CHECK(h.table->buffered_bytes() == 0);
}

TEST_CASE("every split point of request and response gives the same exchange") {
  const std::string req = request();
  const std::string resp = response(1000, 2000);
  for (std::size_t split = 1; split < req.size(); split += 7) {
    Harness h;
    h.send(Direction::egress, std::string_view(req).substr(0, split));
    h.send(Direction::egress, std::string_view(req).substr(split));
    const std::size_t rs = split % resp.size();
    h.send(Direction::ingress, std::string_view(resp).substr(0, rs));
    h.send(Direction::ingress, std::string_view(resp).substr(rs));
    INFO("split " << split);
    REQUIRE(h.exchanges.size() == 1);
    CHECK(*h.exchanges[0].call.usage.input_tokens == 1000);
    CHECK(*h.exchanges[0].call.usage.output_tokens == 2000);
    CHECK(h.exchanges[0].error_type.empty());
  }
}

TEST_CASE("keep-alive and pipelining pair responses with requests in order") {
  Harness h;
  h.send(Direction::egress, request() + request());
  h.send(Direction::ingress, response(1, 2) + response(3, 4));
  h.send(Direction::egress, request());
  h.send(Direction::ingress, response(5, 6));
  REQUIRE(h.exchanges.size() == 3);
  CHECK(*h.exchanges[0].call.usage.input_tokens == 1);
  CHECK(*h.exchanges[1].call.usage.input_tokens == 3);
  CHECK(*h.exchanges[2].call.usage.output_tokens == 6);
}

TEST_CASE("a non-AI host is marked ignored once and costs nothing afterwards") {
  Harness h;
  h.send(Direction::egress, request("static.example.test"));
  REQUIRE(h.ignored.size() == 1);
  CHECK(h.ignored[0].tgid == 42u);
  CHECK(h.table->size() == 0);
  h.send(Direction::ingress, response(1, 1));
  h.send(Direction::egress, request());  // same connection: stays ignored even if the Host changed
  CHECK(h.exchanges.empty());
  CHECK(h.table->stats().ignored_chunks == 2);
  CHECK(h.table->stats().verdicts[static_cast<int>(Verdict::not_ai)] == 1);
  // The SSL* ends; a new connection reusing the pointer (a new kernel id) is classified afresh.
  h.table->on_connection_end({42, 0xabc}, 5000);
  h.offsets[0] = h.offsets[1] = 0;
  h.send(Direction::egress, request(), {42, 0xabc, 2});
  h.send(Direction::ingress, response(9, 9), {42, 0xabc, 2});
  CHECK(h.exchanges.size() == 1);
}

TEST_CASE("a new connection at a reused SSL* is its own, even before the old one's end is seen") {
  Harness h;
  const ConnKey a{42, 0xabc, 1}, b{42, 0xabc, 2};
  h.send(Direction::egress, request(), a);
  h.offsets[0] = 0;
  h.send(Direction::egress, request(), b);  // B's first bytes arrive before A's end
  h.offsets[1] = 0;
  h.send(Direction::ingress, response(7, 7), b);
  h.table->on_connection_end(a, 6000);
  REQUIRE(h.exchanges.size() == 2);
  CHECK(h.exchanges[0].key.id == 2u);
  CHECK(*h.exchanges[0].call.usage.input_tokens == 7);
  CHECK(h.exchanges[0].error_type.empty());
  CHECK(h.exchanges[1].key.id == 1u);
  CHECK(h.exchanges[1].error_type == "no_response");
}

TEST_CASE("server side, HTTP/2 and non-HTTP connections are not followed") {
  SECTION("bytes received first: a server") {
    Harness h;
    h.send(Direction::ingress, request());
    CHECK(h.ignored.size() == 1);
    CHECK(h.table->stats().verdicts[static_cast<int>(Verdict::server)] == 1);
  }
  SECTION("the tail of a response under way when the agent started is not taken for a server") {
    Harness h;
    h.send(Direction::ingress, "ory\":[]}],\"usage\":{\"prompt_tokens\":1}}");
    CHECK(h.ignored.empty());
    h.send(Direction::egress, request());
    h.send(Direction::ingress, response(21, 22));
    REQUIRE(h.exchanges.size() == 1);
    CHECK(*h.exchanges[0].call.usage.input_tokens == 21);
  }
  SECTION("HTTP/2 preface: followed (test_http2_capture), unless it is broken") {
    Harness h;
    h.send(Direction::egress, std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24));
    CHECK(h.ignored.empty());
    CHECK(h.table->size() == 1);
    // A first frame that is not SETTINGS breaks the protocol: the connection is not followed.
    h.send(Direction::egress, std::string("\0\0\0\x8\0\0\0\0\0", 9));
    CHECK(h.table->stats().verdicts[static_cast<int>(Verdict::http2)] == 1);
    CHECK(h.ignored.size() == 1);
  }
  SECTION("binary protocol") {
    Harness h;
    h.send(Direction::egress, std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 and more bytes here", 33));
    CHECK(h.table->stats().verdicts[static_cast<int>(Verdict::not_http)] == 1);
  }
  SECTION("a request line split in tiny writes is still recognised") {
    Harness h;
    const std::string req = request();
    for (char ch : req) h.send(Direction::egress, std::string_view(&ch, 1));
    h.send(Direction::ingress, response(7, 8));
    REQUIRE(h.exchanges.size() == 1);
    CHECK(*h.exchanges[0].call.usage.input_tokens == 7);
  }
}

TEST_CASE("a gap inside a response body is reported, never a wrong number, and the next exchange is exact") {
  Harness h;
  const std::string resp = response(11, 22);
  h.send(Direction::egress, request());
  h.send(Direction::ingress, std::string_view(resp).substr(0, resp.size() - 30));
  h.lose(Direction::ingress, 20);
  h.send(Direction::ingress, std::string_view(resp).substr(resp.size() - 10));
  h.send(Direction::egress, request());
  h.send(Direction::ingress, response(33, 44));
  REQUIRE(h.exchanges.size() == 2);
  CHECK(h.exchanges[0].error_type == "capture_gap");
  CHECK_FALSE(h.exchanges[0].call.usage.input_tokens);
  CHECK(h.exchanges[0].call.usage.source == providers::UsageSource::none);
  CHECK(h.exchanges[1].error_type.empty());
  CHECK(*h.exchanges[1].call.usage.input_tokens == 33);
  CHECK(h.table->stats().gaps == 1);
  CHECK(h.table->stats().gap_bytes == 20);
}

TEST_CASE("an unreadable request body is a gap right away; the answer is flagged, not trusted") {
  Harness h;
  const std::string req = request();
  const std::size_t head_len = req.find("\r\n\r\n") + 4;
  h.send(Direction::egress, std::string_view(req).substr(0, head_len));
  Chunk fault;
  fault.key = {42, 0xabc};
  fault.direction = Direction::egress;
  fault.stream_offset = h.offsets[0];
  fault.lost = static_cast<std::uint32_t>(req.size() - head_len);  // the probe could not read the body
  h.offsets[0] += fault.lost;
  h.table->on_chunk(fault);
  CHECK(h.table->stats().gaps == 1);
  CHECK(h.table->stats().gap_bytes == req.size() - head_len);
  h.send(Direction::ingress, response(4, 5));
  REQUIRE(h.exchanges.size() == 1);
  CHECK(h.exchanges[0].error_type == "request_capture_gap");
  CHECK(h.exchanges[0].call.request_model.empty());
}

TEST_CASE("a response to a request whose end was never seen is flagged request_incomplete") {
  Harness h;
  const std::string req = request();
  h.send(Direction::egress, std::string_view(req).substr(0, req.size() - 10));
  h.send(Direction::ingress, response(4, 5));
  REQUIRE(h.exchanges.size() == 1);
  CHECK(h.exchanges[0].error_type == "request_incomplete");
}

TEST_CASE("a gap in the request stream resynchronises at the next request") {
  Harness h;
  h.send(Direction::egress, request());
  h.send(Direction::ingress, response(1, 1));
  const std::string req = request();
  h.send(Direction::egress, std::string_view(req).substr(0, 20));
  h.lose(Direction::egress, 15);
  h.send(Direction::egress, std::string_view(req).substr(35));
  h.send(Direction::egress, request());
  h.send(Direction::ingress, response(2, 2) + response(3, 3));
  // The broken request produced no exchange of its own; its response has no request to pair with
  // or pairs with the resynchronised one; either way no invented numbers.
  REQUIRE(h.exchanges.size() >= 2);
  CHECK(*h.exchanges[0].call.usage.input_tokens == 1);
  for (const auto& e : h.exchanges) {
    if (e.call.usage.input_tokens) CHECK((*e.call.usage.input_tokens == 1 || *e.call.usage.input_tokens == 2 ||
                                          *e.call.usage.input_tokens == 3));
  }
  CHECK(h.table->stats().gaps == 1);
}

TEST_CASE("duplicates are dropped; connection end emits a pending call as no_response") {
  Harness h;
  const std::string req = request();
  h.send(Direction::egress, req);
  Chunk dup;
  dup.key = {42, 0xabc};
  dup.direction = Direction::egress;
  dup.stream_offset = 0;
  dup.data = req;
  h.table->on_chunk(dup);
  CHECK(h.table->stats().duplicate_chunks == 1);
  h.table->on_connection_end({42, 0xabc}, 9999);
  REQUIRE(h.exchanges.size() == 1);
  CHECK(h.exchanges[0].error_type == "no_response");
  CHECK(h.exchanges[0].status == 0);
  CHECK(h.exchanges[0].end_ns == 9999u);
  CHECK(h.table->size() == 0);
}

TEST_CASE("a response cut by the connection end is truncated; process end flushes") {
  Harness h;
  const std::string resp = response(5, 5);
  h.send(Direction::egress, request());
  h.send(Direction::ingress, std::string_view(resp).substr(0, resp.size() - 5));
  h.table->on_process_end(42, 7777);
  REQUIRE(h.exchanges.size() == 1);
  CHECK(h.exchanges[0].error_type == "truncated");
  CHECK(h.exchanges[0].status == 200);
  CHECK_FALSE(h.exchanges[0].call.usage.input_tokens);
}

TEST_CASE("streamed SSE response: usage from the final chunk") {
  Harness h;
  const std::string body =
      R"({"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[]})";
  h.send(Direction::egress, request("api.openai.com", body));
  std::string events =
      "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini-2024-07-18\","
      "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}],\"usage\":null}\n\n"
      "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini-2024-07-18\","
      "\"choices\":[],\"usage\":{\"prompt_tokens\":17,\"completion_tokens\":29,\"total_tokens\":46}}\n\n"
      "data: [DONE]\n\n";
  std::string chunked;
  for (std::size_t i = 0; i < events.size(); i += 50) {
    auto piece = events.substr(i, 50);
    char len[16];
    std::snprintf(len, sizeof(len), "%zx\r\n", piece.size());
    chunked += len + piece + "\r\n";
  }
  chunked += "0\r\n\r\n";
  h.send(Direction::ingress,
         "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\nTransfer-Encoding: chunked\r\n\r\n");
  for (std::size_t i = 0; i < chunked.size(); i += 13) h.send(Direction::ingress, chunked.substr(i, 13));
  REQUIRE(h.exchanges.size() == 1);
  const auto& e = h.exchanges[0];
  CHECK(e.call.stream);
  CHECK(e.call.usage.source == providers::UsageSource::stream);
  CHECK(*e.call.usage.input_tokens == 17);
  CHECK(*e.call.usage.output_tokens == 29);
  CHECK(e.error_type.empty());
}

TEST_CASE("total buffer budget bounds what is held; the call is reported as body_limit") {
  CaptureLimits lim;
  lim.max_total_buffer_bytes = 100;  // the request body (67 bytes) fits, the response body does not
  Harness h(lim);
  h.send(Direction::egress, request());
  h.send(Direction::ingress, response(1, 2));
  REQUIRE(h.exchanges.size() == 1);
  CHECK(h.exchanges[0].error_type == "body_limit");
  CHECK_FALSE(h.exchanges[0].call.usage.input_tokens);
  CHECK(h.table->buffered_bytes() == 0);
}

TEST_CASE("connection limit evicts the least recently active connection") {
  CaptureLimits lim;
  lim.max_connections = 2;
  Harness h(lim);
  h.send(Direction::egress, request(), {1, 1});
  h.offsets[0] = 0;
  h.send(Direction::egress, request(), {2, 2});
  h.offsets[0] = 0;
  h.send(Direction::egress, request(), {3, 3});
  CHECK(h.table->size() == 2);
  CHECK(h.table->stats().evicted_connections == 1);
  REQUIRE(h.exchanges.size() == 1);
  CHECK(h.exchanges[0].key.tgid == 1u);
  CHECK(h.exchanges[0].error_type == "no_response");
}

TEST_CASE("Host header parsing") {
  auto a = parse_host_header("API.OpenAI.com:8443");
  REQUIRE(a);
  CHECK(a->host == "api.openai.com");
  CHECK(*a->port == 8443);
  auto b = parse_host_header("[::1]:443");
  REQUIRE(b);
  CHECK(b->host == "::1");
  CHECK(*b->port == 443);
  auto c = parse_host_header("api.openai.com.");
  REQUIRE(c);
  CHECK(c->host == "api.openai.com");
  CHECK_FALSE(c->port);
  CHECK_FALSE(parse_host_header(""));
  CHECK_FALSE(parse_host_header("a.com:99999"));
  CHECK_FALSE(parse_host_header("a.com:x"));
  CHECK_FALSE(parse_host_header("bad host"));
  CHECK_FALSE(parse_host_header("[::1"));
}

TEST_CASE("a response read without its request (probes attached after the write) is still an exchange") {
  Harness h;
  SECTION("the ClientHello named an AI host: usage and model from the response, request side absent") {
    h.hello_name = "api.openai.com";
    const std::string r = response(31, 9);
    h.send(Direction::ingress, r.substr(0, 20));  // split: the head arrives in pieces
    h.send(Direction::ingress, r.substr(20));
    REQUIRE(h.exchanges.size() == 1);
    const auto& e = h.exchanges[0];
    CHECK(e.request_missed);
    CHECK(e.host == "api.openai.com");
    CHECK(e.port == 443);
    CHECK(e.method.empty());
    CHECK(e.path.empty());
    CHECK(e.status == 200);
    CHECK(e.error_type.empty());
    CHECK(e.call.provider == "openai");
    CHECK(e.call.request_model.empty());
    CHECK(e.call.response_model == "gpt-4o-mini-2024-07-18");
    REQUIRE(e.call.usage.input_tokens);
    CHECK(*e.call.usage.input_tokens == 31);
    CHECK(*e.call.usage.output_tokens == 9);
    CHECK(h.table->stats().requests_missed == 1);
    CHECK(h.ignored.empty());
    // The next call on the connection is read whole, and is exact.
    h.send(Direction::egress, request());
    h.send(Direction::ingress, response(5, 6));
    REQUIRE(h.exchanges.size() == 2);
    CHECK_FALSE(h.exchanges[1].request_missed);
    CHECK(h.exchanges[1].method == "POST");
    CHECK(h.exchanges[1].call.request_model == "gpt-4o-mini");
    CHECK(*h.exchanges[1].call.usage.input_tokens == 5);
  }
  SECTION("cut by the connection end: reported truncated, still marked") {
    h.hello_name = "api.openai.com";
    h.send(Direction::ingress, response(31, 9).substr(0, 80));
    h.table->on_connection_end({42, 0xabc}, ++h.ts);
    REQUIRE(h.exchanges.size() == 1);
    CHECK(h.exchanges[0].request_missed);
    CHECK(h.exchanges[0].error_type == "truncated");
  }
  SECTION("no AI name for the socket: nothing is made up, and the next request decides") {
    h.send(Direction::ingress, response(31, 9));
    CHECK(h.exchanges.empty());
    CHECK(h.ignored.empty());
    CHECK(h.table->stats().requests_missed == 0);
    h.send(Direction::egress, request("example.com"));
    CHECK(h.ignored.size() == 1);
  }
  SECTION("a non-AI name: not followed") {
    h.hello_name = "example.com";
    h.send(Direction::ingress, response(31, 9));
    CHECK(h.exchanges.empty());
    CHECK(h.table->stats().requests_missed == 0);
  }
}
