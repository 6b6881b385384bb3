#include <catch2/catch.hpp>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "compress.h"
#include "protocols/http1/chunked_decoder.h"
#include "protocols/http1/http1_parser.h"

using namespace shadowmeter;
using namespace shadowmeter::http1;
using namespace std::string_literals;

namespace {

struct Message {
  MessageHead head;
  std::string body;
  std::size_t body_calls = 0;
  bool ended = false;
  MessageEnd end;
};

// Records what the parser reports and checks the call protocol: on_body and on_end only inside a
// message, exactly one on_end per on_head.
struct Recorder : MessageSink {
  std::vector<Message> messages;
  std::function<BodyPolicy(const MessageHead&)> policy;

  BodyPolicy on_head(const MessageHead& head) override {
    if (!messages.empty()) CHECK(messages.back().ended);
    messages.push_back({head, {}, 0, false, {}});
    return policy ? policy(head) : BodyPolicy{};
  }
  void on_body(std::string_view decoded) override {
    REQUIRE(!messages.empty());
    CHECK_FALSE(messages.back().ended);
    CHECK_FALSE(decoded.empty());
    messages.back().body.append(decoded);
    ++messages.back().body_calls;
  }
  void on_end(const MessageEnd& end) override {
    REQUIRE(!messages.empty());
    CHECK_FALSE(messages.back().ended);
    messages.back().ended = true;
    messages.back().end = end;
    CHECK(end.decoded_body_bytes == messages.back().body.size());
  }
};

// Movable (feed_all returns one): the parser keeps a reference to the sink, so both live on the heap.
struct Run {
  std::unique_ptr<Recorder> sink_owner = std::make_unique<Recorder>();
  std::unique_ptr<Parser> parser_owner;
  Recorder& sink;
  Parser& parser;
  explicit Run(Role role, const Limits& limits = {})
      : parser_owner(std::make_unique<Parser>(role, *sink_owner, limits)),
        sink(*sink_owner),
        parser(*parser_owner) {}
  const std::vector<Message>& msgs() const { return sink.messages; }
};

// Everything observable, as text, to compare runs fed with different splits.
std::string summary(const Run& r) {
  std::ostringstream o;
  for (const auto& m : r.msgs()) {
    o << (m.head.is_request ? m.head.method + " " + m.head.target
                            : std::to_string(m.head.status) + " " + m.head.reason)
      << " v" << m.head.version << "\n";
    for (const auto& h : m.head.headers) o << "  " << h.name << "=" << h.value << "\n";
    o << "  body[" << m.body.size() << "]=" << m.body << "\n";
    o << "  end=" << (m.ended ? to_string(m.end.outcome) : "none") << " wire=" << m.end.wire_body_bytes
      << " decoded=" << m.end.decoded_body_bytes << "\n";
  }
  const auto& s = r.parser.stats();
  o << "stats " << s.messages << " " << s.malformed << " " << s.gaps << " " << s.truncated << " "
    << s.decode_errors << " " << s.decode_limits << " " << s.resync_skipped_bytes << " " << s.informational
    << " " << s.body_limits << " upgraded=" << r.parser.upgraded();
  return o.str();
}

std::string request(std::string_view method, std::string_view target, std::string_view body,
                    std::string_view extra = "") {
  std::string r = std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: api.openai.com\r\n";
  r += extra;
  if (!body.empty()) r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  return r + "\r\n" + std::string(body);
}

std::string response(int status, std::string_view body, std::string_view extra = "") {
  std::string r = "HTTP/1.1 " + std::to_string(status) + " OK\r\nContent-Type: application/json\r\n";
  r += extra;
  return r + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

std::string chunk(std::string_view data) {
  char len[32];
  std::snprintf(len, sizeof(len), "%zx\r\n", data.size());
  return len + std::string(data) + "\r\n";
}

std::string chunked(std::string_view data, std::size_t piece) {
  std::string out;
  for (std::size_t i = 0; i < data.size(); i += piece) out += chunk(data.substr(i, piece));
  return out + "0\r\n\r\n";
}

const std::string kChatBody = R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]})";
const std::string kCompletion =
    R"({"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o-mini","choices":[],)"
    R"("usage":{"prompt_tokens":12,"completion_tokens":34,"total_tokens":46}})";
const std::string kEvents =
    "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n"
    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":17,\"completion_tokens\":29}}\n\n"
    "data: [DONE]\n\n";

Run feed_all(Role role, std::string_view bytes, const Limits& limits = {}) {
  Run r(role, limits);
  r.parser.feed(bytes);
  r.parser.eof();
  return r;
}

}  // namespace

TEST_CASE("a request: start line, lower-cased names, trimmed values, Content-Length body") {
  Run r(Role::request);
  r.parser.feed(
      "POST /v1/chat/completions?x=1 HTTP/1.1\r\nHost:  api.openai.com \r\nX-Mixed-Case:\tv a l\t\r\n"
      "content-length: 5\r\n\r\nhello");
  REQUIRE(r.msgs().size() == 1);
  const auto& m = r.msgs()[0];
  CHECK(m.head.is_request);
  CHECK(m.head.method == "POST");
  CHECK(m.head.target == "/v1/chat/completions?x=1");
  CHECK(m.head.version == "1.1");
  REQUIRE(m.head.headers.size() == 3);
  CHECK(m.head.headers[0].name == "host");
  CHECK(m.head.headers[0].value == "api.openai.com");
  CHECK(m.head.headers[1].name == "x-mixed-case");
  CHECK(m.head.headers[1].value == "v a l");
  CHECK(m.head.header("HOST") == "api.openai.com");
  CHECK(m.head.header("absent").empty());
  CHECK(m.body == "hello");
  CHECK(m.ended);
  CHECK(m.end.outcome == Outcome::complete);
  CHECK(m.end.wire_body_bytes == 5);
  CHECK(m.end.decoded_body_bytes == 5);
  CHECK_FALSE(r.parser.in_message());
  CHECK(r.parser.stats().messages == 1);
}

TEST_CASE("bare LF line ends and an HTTP/1.0 request without a body") {
  Run r(Role::request);
  r.parser.feed("GET /a HTTP/1.0\nHost: x\n\nDELETE /b HTTP/1.1\nHost: x\r\nContent-Length: 2\n\nok");
  REQUIRE(r.msgs().size() == 2);
  CHECK(r.msgs()[0].head.version == "1.0");
  CHECK(r.msgs()[0].end.outcome == Outcome::complete);
  CHECK(r.msgs()[0].body.empty());
  CHECK(r.msgs()[1].head.method == "DELETE");
  CHECK(r.msgs()[1].body == "ok");
}

TEST_CASE("empty lines before a message are tolerated, not counted") {
  Run r(Role::request);
  r.parser.feed(request("POST", "/a", "x") + "\r\n\r\n" + request("GET", "/b", ""));
  REQUIRE(r.msgs().size() == 2);
  CHECK(r.msgs()[1].head.target == "/b");
  CHECK(r.parser.stats().malformed == 0);
  CHECK(r.parser.stats().resync_skipped_bytes == 0);
}

TEST_CASE("pipelined requests in one feed, and the same split every possible way") {
  const std::string stream = request("POST", "/v1/chat/completions", kChatBody) +
                             request("GET", "/v1/models", "") +
                             "POST /v1/embeddings HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" +
                             chunked(kChatBody, 10) + request("POST", "/v1/x", "tail");
  const Run whole = feed_all(Role::request, stream);
  REQUIRE(whole.msgs().size() == 4);
  CHECK(whole.msgs()[0].body == kChatBody);
  CHECK(whole.msgs()[1].head.target == "/v1/models");
  CHECK(whole.msgs()[2].body == kChatBody);
  CHECK(whole.msgs()[2].end.wire_body_bytes == kChatBody.size());
  CHECK(whole.msgs()[3].body == "tail");
  for (const auto& m : whole.msgs()) CHECK(m.end.outcome == Outcome::complete);
  const std::string expected = summary(whole);
  for (std::size_t i = 1; i < stream.size(); ++i) {
    Run r(Role::request);
    r.parser.feed(std::string_view(stream).substr(0, i));
    r.parser.feed(std::string_view(stream).substr(i));
    r.parser.eof();
    INFO("split at " << i);
    REQUIRE(summary(r) == expected);
  }
  Run bytewise(Role::request);
  for (char c : stream) bytewise.parser.feed(std::string_view(&c, 1));
  bytewise.parser.eof();
  CHECK(summary(bytewise) == expected);
}

TEST_CASE("a request and its response give the same results at every split offset") {
  const std::string req = request("POST", "/v1/chat/completions", kChatBody, "Accept-Encoding: gzip\r\n");
  const std::string gz = testing::gzip(kCompletion);
  const std::string resp =
      "HTTP/1.1 100 Continue\r\n\r\n" + response(200, gz, "Content-Encoding: gzip\r\n") +
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n" +
      chunked(kEvents, 17) + "HTTP/1.1 204 No Content\r\n\r\n" +
      "HTTP/1.1 200 OK\r\nContent-Encoding: br\r\n\r\n" + testing::brotli(kCompletion);
  const Run whole_req = feed_all(Role::request, req);
  const Run whole_resp = feed_all(Role::response, resp);
  REQUIRE(whole_resp.msgs().size() == 4);
  CHECK(whole_resp.msgs()[0].body == kCompletion);
  CHECK(whole_resp.msgs()[0].end.wire_body_bytes == gz.size());
  CHECK(whole_resp.msgs()[1].body == kEvents);
  CHECK(whole_resp.msgs()[2].head.status == 204);
  CHECK(whole_resp.msgs()[3].body == kCompletion);
  for (const auto& m : whole_resp.msgs()) CHECK(m.end.outcome == Outcome::complete);
  CHECK(whole_resp.parser.stats().informational == 1);
  const std::string want_req = summary(whole_req);
  const std::string want_resp = summary(whole_resp);

  const std::string pair = req + resp;  // one split point over both streams
  for (std::size_t i = 0; i <= pair.size(); ++i) {
    Run rq(Role::request);
    Run rs(Role::response);
    if (i <= req.size()) {
      rq.parser.feed(std::string_view(req).substr(0, i));
      rq.parser.feed(std::string_view(req).substr(i));
      rs.parser.feed(resp);
    } else {
      const std::size_t j = i - req.size();
      rq.parser.feed(req);
      rs.parser.feed(std::string_view(resp).substr(0, j));
      rs.parser.feed(std::string_view(resp).substr(j));
    }
    rq.parser.eof();
    rs.parser.eof();
    INFO("split at " << i);
    REQUIRE(summary(rq) == want_req);
    REQUIRE(summary(rs) == want_resp);
  }
}

TEST_CASE("two split points over a chunked response with extensions and trailers") {
  const std::string resp =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;name=value;other=\"q\"\r\nhello\r\n"
      "1 ; ext\r\n,\r\n"
      "6\r\n world\r\n"
      "0;last\r\nX-Trailer: one\r\nServer-Timing: x;dur=1\r\n\r\n" +
      response(200, "next");
  const Run whole = feed_all(Role::response, resp);
  REQUIRE(whole.msgs().size() == 2);
  CHECK(whole.msgs()[0].body == "hello, world");
  CHECK(whole.msgs()[0].end.outcome == Outcome::complete);
  CHECK(whole.msgs()[0].end.wire_body_bytes == 12);
  CHECK(whole.msgs()[1].body == "next");
  const std::string want = summary(whole);
  for (std::size_t i = 0; i <= resp.size(); ++i) {
    for (std::size_t j = i; j <= resp.size(); ++j) {
      Run r(Role::response);
      r.parser.feed(std::string_view(resp).substr(0, i));
      r.parser.feed(std::string_view(resp).substr(i, j - i));
      r.parser.feed(std::string_view(resp).substr(j));
      r.parser.eof();
      if (summary(r) != want) FAIL("split at " << i << "," << j);
    }
  }
}

TEST_CASE("Transfer-Encoding chunked wins over Content-Length") {
  Run r(Role::request);
  r.parser.feed("POST /a HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n" +
                chunked("abcdef", 4) + request("GET", "/b", ""));
  REQUIRE(r.msgs().size() == 2);
  CHECK(r.msgs()[0].body == "abcdef");
  CHECK(r.msgs()[1].head.target == "/b");
  CHECK(r.parser.stats().malformed == 0);
}

TEST_CASE("Content-Length: identical duplicates are one length, conflicting ones are malformed") {
  {
    Run r(Role::request);
    r.parser.feed("POST /a HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3, 3\r\n\r\nabc");
    REQUIRE(r.msgs().size() == 1);
    CHECK(r.msgs()[0].body == "abc");
  }
  {
    Run r(Role::request);
    const std::string bad = "POST /a HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n";
    r.parser.feed(bad + "abcd" + request("GET", "/b", ""));
    REQUIRE(r.msgs().size() == 1);
    CHECK(r.msgs()[0].head.target == "/b");
    CHECK(r.parser.stats().malformed == 1);
    CHECK(r.parser.stats().messages == 1);
    // The bad head and its body "abcd" up to the next request are discarded.
    CHECK(r.parser.stats().resync_skipped_bytes == bad.size() + 4);
  }
  for (const char* value : {"-1", "abc", "1 2", "", "99999999999999999999"}) {
    Run r(Role::request);
    r.parser.feed(std::string("POST /a HTTP/1.1\r\nContent-Length: ") + value + "\r\n\r\n");
    CHECK(r.msgs().empty());
    CHECK(r.parser.stats().malformed == 1);
  }
}

TEST_CASE("malformed heads end nothing that was not started and resynchronise at the next request") {
  const std::string next = request("POST", "/ok", "body");
  const std::vector<std::string> bad_heads = {
      "POST /a HTTP/1.1\r\nHost: x\r\n folded: continuation\r\n\r\n",  // obs-fold
      "POST /a HTTP/1.1\r\nHost : x\r\n\r\n",                          // space before the colon
      "POST /a HTTP/1.1\r\nno colon here\r\n\r\n",
      "POST /a HTTP/1.1\r\n: empty name\r\n\r\n",
      "POST /a HTTP/2.0\r\nHost: x\r\n\r\n",
      "POST  /a HTTP/1.1\r\nHost: x\r\n\r\n",
      "POST /a\r\nHost: x\r\n\r\n",
      "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 binary\r\n\r\n"s,
      "POST /a HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",  // request body of unknown length
      "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
  };
  for (const auto& bad : bad_heads) {
    INFO(bad);
    Run r(Role::request);
    r.parser.feed(bad + next);
    REQUIRE(r.msgs().size() == 1);
    CHECK(r.msgs()[0].head.target == "/ok");
    CHECK(r.msgs()[0].body == "body");
    CHECK(r.parser.stats().malformed == 1);
    CHECK(r.parser.stats().resync_skipped_bytes == bad.size());
  }
}

TEST_CASE("a malformed start line that ends with a real one: the glued message is parsed") {
  Run r(Role::request);
  const std::string junk = "\x16\x03\x01\x02\x00"s;
  r.parser.feed(junk + request("POST", "/ok", "body"));
  REQUIRE(r.msgs().size() == 1);
  CHECK(r.msgs()[0].head.target == "/ok");
  CHECK(r.msgs()[0].body == "body");
  CHECK(r.parser.stats().malformed == 1);
  CHECK(r.parser.stats().resync_skipped_bytes == junk.size());
}

TEST_CASE("a head over max_head_bytes or with too many headers is malformed") {
  Limits lim;
  lim.max_head_bytes = 100;
  lim.max_headers = 3;
  {
    Run r(Role::request, lim);
    const std::string big = "GET /" + std::string(200, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n";
    r.parser.feed(big + request("GET", "/small", ""));
    REQUIRE(r.msgs().size() == 1);
    CHECK(r.msgs()[0].head.target == "/small");
    CHECK(r.parser.stats().malformed == 1);
    CHECK(r.parser.stats().resync_skipped_bytes == big.size());
  }
  {
    Run r(Role::request, lim);
    r.parser.feed("GET /a HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n");
    CHECK(r.msgs().size() == 1);
    r.parser.feed("GET /b HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n");
    CHECK(r.msgs().size() == 1);
    CHECK(r.parser.stats().malformed == 1);
  }
}

TEST_CASE("resynchronisation believes only a known method, target and HTTP/1.x ending a line") {
  Run r(Role::request);
  r.parser.gap(10);
  const std::string junk =
      "tail of a body with GET / HTTP/1.1 inside\r\nGETX / HTTP/1.1\r\nGET /no-version\r\n"
      "POST /a HTTP/1.1 but\r\n{\"text\":\"POST / HTTP/1.1\"}\r\n";
  r.parser.feed(junk);
  CHECK(r.msgs().empty());
  CHECK(r.parser.stats().resync_skipped_bytes == junk.size());
  r.parser.feed(request("GET", "/real", ""));
  REQUIRE(r.msgs().size() == 1);
  CHECK(r.msgs()[0].head.target == "/real");
  CHECK(r.parser.stats().resync_skipped_bytes == junk.size());
  CHECK(r.parser.stats().malformed == 0);
  CHECK(r.parser.stats().gaps == 1);
}

TEST_CASE("resynchronisation finds a message glued to the end of a body without a newline") {
  {
    Run r(Role::request);
    r.parser.gap(3);
    const std::string tail = "Content-Length: 9\r\n\r\n{\"a\":\"b\"}";
    r.parser.feed(tail + request("POST", "/v1/chat/completions", kChatBody));
    REQUIRE(r.msgs().size() == 1);
    CHECK(r.msgs()[0].head.method == "POST");
    CHECK(r.msgs()[0].head.target == "/v1/chat/completions");
    CHECK(r.msgs()[0].body == kChatBody);
    CHECK(r.parser.stats().resync_skipped_bytes == tail.size());
  }
  {
    Run r(Role::response);
    r.parser.gap(3);
    const std::string tail = "tokens\":3}}";
    r.parser.feed(tail + response(429, "slow down"));
    REQUIRE(r.msgs().size() == 1);
    CHECK(r.msgs()[0].head.status == 429);
    CHECK(r.msgs()[0].head.reason == "OK");
    CHECK(r.msgs()[0].body == "slow down");
    CHECK(r.parser.stats().resync_skipped_bytes == tail.size());
  }
}

TEST_CASE("responses: HEAD, 204 and 304 have no body; the next response follows at once") {
  Run r(Role::response);
  int n = 0;
  r.sink.policy = [&](const MessageHead&) { return BodyPolicy{.no_body = n++ == 0}; };
  r.parser.feed(
      "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nContent-Encoding: gzip\r\n\r\n"
      "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n"
      "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n" +
      response(200, "body"));
  REQUIRE(r.msgs().size() == 4);
  for (int i = 0; i < 3; ++i) {
    CHECK(r.msgs()[static_cast<std::size_t>(i)].body.empty());
    CHECK(r.msgs()[static_cast<std::size_t>(i)].end.outcome == Outcome::complete);
    CHECK(r.msgs()[static_cast<std::size_t>(i)].end.wire_body_bytes == 0);
  }
  CHECK(r.msgs()[1].head.status == 204);
  CHECK(r.msgs()[2].head.status == 304);
  CHECK(r.msgs()[3].body == "body");
}

TEST_CASE("1xx interim responses are consumed and counted; 101 upgrades") {
  Run r(Role::response);
  r.parser.feed("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n" +
                response(200, "done") + "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n" +
                "\x81\x05hello" + response(200, "ignored"));
  REQUIRE(r.msgs().size() == 2);
  CHECK(r.msgs()[0].head.status == 200);
  CHECK(r.msgs()[0].body == "done");
  CHECK(r.msgs()[1].head.status == 101);
  CHECK(r.msgs()[1].end.outcome == Outcome::complete);
  CHECK(r.parser.stats().informational == 2);
  CHECK(r.parser.stats().messages == 2);
  CHECK(r.parser.upgraded());
  r.parser.gap(5);
  r.parser.feed(response(200, "still ignored"));
  r.parser.eof();
  CHECK(r.msgs().size() == 2);
  CHECK(r.parser.upgraded());
}

TEST_CASE("CONNECT: the request side upgrades; the response side when told the request was CONNECT") {
  Run rq(Role::request);
  rq.parser.feed("CONNECT api.openai.com:443 HTTP/1.1\r\nHost: api.openai.com:443\r\n\r\n\x16\x03\x01 tls");
  REQUIRE(rq.msgs().size() == 1);
  CHECK(rq.msgs()[0].end.outcome == Outcome::complete);
  CHECK(rq.parser.upgraded());

  Run rs(Role::response);
  rs.sink.policy = [](const MessageHead&) { return BodyPolicy{.upgrade_on_2xx = true}; };
  rs.parser.feed("HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x03 tls");
  REQUIRE(rs.msgs().size() == 1);
  CHECK(rs.msgs()[0].body.empty());
  CHECK(rs.parser.upgraded());
}

TEST_CASE("a response without length is read until the connection closes") {
  Run r(Role::response);
  r.parser.feed("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nfirst part, ");
  r.parser.feed("HTTP/1.1 200 OK\r\n\r\n");  // inside the body: just bytes
  CHECK(r.parser.in_message());
  CHECK(r.msgs().size() == 1);
  CHECK_FALSE(r.msgs()[0].ended);
  r.parser.eof();
  REQUIRE(r.msgs().size() == 1);
  CHECK(r.msgs()[0].body == "first part, HTTP/1.1 200 OK\r\n\r\n");
  CHECK(r.msgs()[0].end.outcome == Outcome::complete);
  CHECK(r.parser.stats().truncated == 0);
}

TEST_CASE("every content coding is decoded in responses, split anywhere") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"gzip", testing::gzip(kCompletion)},
      {"x-gzip", testing::gzip(kCompletion)},
      {"deflate", testing::zlib_wrapped(kCompletion)},
      {"deflate", testing::raw_deflate(kCompletion)},
      {"br", testing::brotli(kCompletion)},
      {"zstd", testing::zstd(kCompletion)},
      {"identity", kCompletion},
  };
  for (const auto& [coding, packed] : cases) {
    INFO(coding);
    for (bool use_chunked : {false, true}) {
      const std::string head = "HTTP/1.1 200 OK\r\nContent-Encoding: " + coding + "\r\n";
      const std::string resp =
          (use_chunked ? head + "Transfer-Encoding: chunked\r\n\r\n" + chunked(packed, 7)
                       : head + "Content-Length: " + std::to_string(packed.size()) + "\r\n\r\n" + packed) +
          response(200, "after");
      const Run whole = feed_all(Role::response, resp);
      REQUIRE(whole.msgs().size() == 2);
      CHECK(whole.msgs()[0].body == kCompletion);
      CHECK(whole.msgs()[0].end.outcome == Outcome::complete);
      CHECK(whole.msgs()[0].end.wire_body_bytes == packed.size());
      CHECK(whole.msgs()[0].end.decoded_body_bytes == kCompletion.size());
      CHECK(whole.msgs()[1].body == "after");
      const std::string want = summary(whole);
      for (std::size_t i = 1; i < resp.size(); i += 3) {
        Run r(Role::response);
        r.parser.feed(std::string_view(resp).substr(0, i));
        r.parser.feed(std::string_view(resp).substr(i));
        r.parser.eof();
        REQUIRE(summary(r) == want);
      }
    }
  }
}

TEST_CASE("two codings are undone in reverse order; transfer codings before chunked too") {
  const std::string packed = testing::brotli(testing::gzip(kCompletion));  // gzip applied first, then br
  const Run r = feed_all(Role::response, response(200, packed, "Content-Encoding: gzip, br\r\n"));
  REQUIRE(r.msgs().size() == 1);
  CHECK(r.msgs()[0].body == kCompletion);
  CHECK(r.msgs()[0].end.outcome == Outcome::complete);

  const std::string zs = testing::zstd(kCompletion);
  const Run t = feed_all(Role::response,
                         "HTTP/1.1 200 OK\r\nTransfer-Encoding: zstd, chunked\r\n\r\n" + chunked(zs, 11));
  REQUIRE(t.msgs().size() == 1);
  CHECK(t.msgs()[0].body == kCompletion);

  const Run three = feed_all(Role::response, response(200, packed, "Content-Encoding: gzip, gzip, br\r\n"));
  REQUIRE(three.msgs().size() == 1);
  CHECK(three.msgs()[0].body.empty());
  CHECK(three.msgs()[0].end.outcome == Outcome::decode_error);
}

TEST_CASE("unknown or corrupt coding: body not delivered, decode_error, framing continues") {
  Run r(Role::response);
  const std::string gz = testing::gzip(kCompletion);
  const std::string corrupt = gz.substr(0, 20) + std::string(30, 'x') + gz.substr(50);
  r.parser.feed(response(200, "opaque body", "Content-Encoding: compress\r\n") +
                response(200, corrupt, "Content-Encoding: gzip\r\n") +
                response(200, gz.substr(0, gz.size() - 4), "Content-Encoding: gzip\r\n") +  // cut short
                response(200, "", "Content-Encoding: compress\r\n") + response(200, "fine"));
  REQUIRE(r.msgs().size() == 5);
  CHECK(r.msgs()[0].body.empty());
  CHECK(r.msgs()[0].end.outcome == Outcome::decode_error);
  CHECK(r.msgs()[0].end.wire_body_bytes == 11);
  CHECK(r.msgs()[1].end.outcome == Outcome::decode_error);
  CHECK(r.msgs()[1].end.wire_body_bytes == corrupt.size());
  CHECK(r.msgs()[2].end.outcome == Outcome::decode_error);
  CHECK(r.msgs()[3].end.outcome == Outcome::complete);  // nothing to decode
  CHECK(r.msgs()[4].body == "fine");
  CHECK(r.msgs()[4].end.outcome == Outcome::complete);
  CHECK(r.parser.stats().decode_errors == 3);
}

TEST_CASE("a gzip bomb stops at max_decoded_bytes with the exact count; the next response parses") {
  Limits lim;
  lim.max_decoded_bytes = 5000;
  const std::string bomb = testing::gzip(std::string(16u << 20, 'A'));  // 16 MiB -> ~16 KiB
  Run r(Role::response, lim);
  const std::string stream = response(200, bomb, "Content-Encoding: gzip\r\n") + response(200, kCompletion);
  for (std::size_t i = 0; i < stream.size(); i += 4096)
    r.parser.feed(std::string_view(stream).substr(i, 4096));
  REQUIRE(r.msgs().size() == 2);
  CHECK(r.msgs()[0].body == std::string(5000, 'A'));
  CHECK(r.msgs()[0].end.outcome == Outcome::decode_limit);
  CHECK(r.msgs()[0].end.decoded_body_bytes == 5000);
  CHECK(r.msgs()[0].end.wire_body_bytes == bomb.size());
  CHECK(r.msgs()[1].body == kCompletion);
  CHECK(r.msgs()[1].end.outcome == Outcome::complete);
  CHECK(r.parser.stats().decode_limits == 1);
}

TEST_CASE("a body over max_body_bytes is cut there but framed to its end") {
  Limits lim;
  lim.max_body_bytes = 10;
  Run r(Role::response, lim);
  r.parser.feed(response(200, "0123456789abcdefghij") +
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked("0123456789", 3) +
                response(200, "0123456789"));
  REQUIRE(r.msgs().size() == 3);
  CHECK(r.msgs()[0].body == "0123456789");
  CHECK(r.msgs()[0].end.outcome == Outcome::body_limit);
  CHECK(r.msgs()[0].end.wire_body_bytes == 20);
  CHECK(r.msgs()[1].body == "0123456789");  // exactly the limit is fine
  CHECK(r.msgs()[1].end.outcome == Outcome::complete);
  CHECK(r.msgs()[2].end.outcome == Outcome::complete);
  CHECK(r.parser.stats().body_limits == 1);
}

TEST_CASE("deliver=false frames without decoding or delivering") {
  Run r(Role::response);
  r.sink.policy = [](const MessageHead& h) { return BodyPolicy{.deliver = h.header("x-keep").empty()}; };
  const std::string gz = testing::gzip(kCompletion);
  r.parser.feed(response(200, gz, "Content-Encoding: gzip\r\nX-Keep: no\r\n") + response(200, "yes"));
  REQUIRE(r.msgs().size() == 2);
  CHECK(r.msgs()[0].body_calls == 0);
  CHECK(r.msgs()[0].end.outcome == Outcome::complete);
  CHECK(r.msgs()[0].end.wire_body_bytes == gz.size());
  CHECK(r.msgs()[0].end.decoded_body_bytes == 0);
  CHECK(r.msgs()[1].body == "yes");
}

TEST_CASE("eof: a cut body is truncated, a cut head is counted, an empty stream is nothing") {
  {
    Run r(Role::response);
    r.parser.feed(response(200, kCompletion).substr(0, 80));
    CHECK(r.parser.in_message());
    r.parser.eof();
    REQUIRE(r.msgs().size() == 1);
    CHECK(r.msgs()[0].end.outcome == Outcome::truncated);
    CHECK(r.msgs()[0].end.wire_body_bytes == r.msgs()[0].body.size());
    CHECK(r.parser.stats().truncated == 1);
    CHECK_FALSE(r.parser.in_message());
  }
  {
    Run r(Role::response);
    r.parser.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel");
    r.parser.eof();
    REQUIRE(r.msgs().size() == 1);
    CHECK(r.msgs()[0].body == "hel");
    CHECK(r.msgs()[0].end.outcome == Outcome::truncated);
  }
  {
    Run r(Role::request);
    r.parser.feed("POST /v1/chat/completions HTTP/1.1\r\nHost: api");
    CHECK(r.parser.in_message());
    r.parser.eof();
    CHECK(r.msgs().empty());
    CHECK(r.parser.stats().truncated == 1);
  }
  {
    Run r(Role::request);
    r.parser.feed("\r\n");
    r.parser.eof();
    CHECK(r.parser.stats().truncated == 0);
  }
}

TEST_CASE("a gap inside a Content-Length body ends that message and stays in step") {
  const std::string first = response(200, kCompletion);
  const std::string second = response(200, "second body");
  const std::size_t cut = first.size() - 30;
  for (std::uint64_t lost : {std::uint64_t{10}, std::uint64_t{30}}) {
    Run r(Role::response);
    r.parser.feed(std::string_view(first).substr(0, cut));
    r.parser.gap(lost);
    r.parser.feed(std::string_view(first).substr(cut + lost));
    r.parser.feed(second);
    REQUIRE(r.msgs().size() == 2);
    CHECK(r.msgs()[0].end.outcome == Outcome::gap);
    CHECK(r.msgs()[0].body == kCompletion.substr(0, kCompletion.size() - 30));
    CHECK(r.msgs()[1].body == "second body");
    CHECK(r.msgs()[1].end.outcome == Outcome::complete);
    CHECK(r.parser.stats().gaps == 1);
    CHECK(r.parser.stats().resync_skipped_bytes == 0);
  }
}

TEST_CASE("a gap running past the end of a Content-Length body resynchronises") {
  const std::string first = response(200, kCompletion);
  const std::string second = response(200, "second body");
  const std::string third = response(201, "third");
  const std::string stream = first + second + third;
  const std::size_t cut = first.size() - 10;
  Run r(Role::response);
  r.parser.feed(std::string_view(stream).substr(0, cut));
  r.parser.gap(25);  // the body's last 10 bytes and 15 of the next head
  r.parser.feed(std::string_view(stream).substr(cut + 25));
  REQUIRE(r.msgs().size() == 2);
  CHECK(r.msgs()[0].end.outcome == Outcome::gap);
  CHECK(r.msgs()[1].head.status == 201);
  CHECK(r.msgs()[1].body == "third");
  CHECK(r.parser.stats().resync_skipped_bytes == second.size() - 15);
}

TEST_CASE("a gap in a chunked body resynchronises at the next message") {
  const std::string first = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(kEvents, 20);
  const std::string second = response(200, "after the gap");
  Run r(Role::response);
  const std::size_t cut = first.size() / 2;
  const std::size_t lost = 7;
  r.parser.feed(std::string_view(first).substr(0, cut));
  r.parser.gap(lost);
  const std::string_view rest = std::string_view(first).substr(cut + lost);
  r.parser.feed(rest);
  r.parser.feed(second);
  REQUIRE(r.msgs().size() == 2);
  CHECK(r.msgs()[0].end.outcome == Outcome::gap);
  CHECK(r.msgs()[1].body == "after the gap");
  CHECK(r.parser.stats().resync_skipped_bytes == rest.size());
  CHECK(r.parser.stats().gaps == 1);
  CHECK(r.parser.stats().malformed == 0);
}

TEST_CASE("a gap in a head drops it without on_end and resynchronises") {
  const std::string first = request("POST", "/v1/chat/completions", kChatBody);
  const std::string second = request("POST", "/v1/embeddings", "{}");
  Run r(Role::request);
  r.parser.feed(std::string_view(first).substr(0, 20));
  CHECK(r.parser.in_message());
  r.parser.gap(15);
  CHECK_FALSE(r.parser.in_message());
  const std::string_view rest = std::string_view(first).substr(35);
  r.parser.feed(rest);
  r.parser.feed(second);
  REQUIRE(r.msgs().size() == 1);
  CHECK(r.msgs()[0].head.target == "/v1/embeddings");
  CHECK(r.msgs()[0].body == "{}");
  CHECK(r.parser.stats().resync_skipped_bytes == 20 + rest.size());
}

TEST_CASE("a gap between messages finds a request that starts right after it") {
  Run r(Role::request);
  r.parser.feed(request("GET", "/a", ""));
  r.parser.gap(100);  // a whole write lost
  r.parser.feed(request("GET", "/b", ""));
  REQUIRE(r.msgs().size() == 2);
  CHECK(r.msgs()[1].head.target == "/b");
  CHECK(r.parser.stats().resync_skipped_bytes == 0);
}

TEST_CASE("a gap in a close-delimited body ends it; the rest of the stream is that body") {
  Run r(Role::response);
  r.parser.feed("HTTP/1.1 200 OK\r\n\r\npart one");
  r.parser.gap(3);
  r.parser.feed(response(200, "looks like a response but is body"));
  r.parser.eof();
  REQUIRE(r.msgs().size() == 1);
  CHECK(r.msgs()[0].end.outcome == Outcome::gap);
  CHECK(r.msgs()[0].body == "part one");
}

TEST_CASE("bad chunked framing is malformed and resynchronises") {
  const std::vector<std::string> bodies = {
      "5\r\nhello world\r\n0\r\n\r\n",       // data longer than the size
      "z\r\nhello\r\n0\r\n\r\n",             // not hex
      "1000000000000000\r\nx\r\n0\r\n\r\n",  // 16 hex digits: overflow
      "5\rhello\r\n0\r\n\r\n",               // bare CR
  };
  for (const auto& b : bodies) {
    INFO(b);
    Run r(Role::response);
    r.parser.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b + response(200, "next"));
    REQUIRE(r.msgs().size() == 2);
    CHECK(r.msgs()[0].end.outcome == Outcome::malformed);
    CHECK(r.msgs()[1].body == "next");
    CHECK(r.parser.stats().malformed == 1);
  }
}

TEST_CASE("ChunkedDecoder alone: data pieces, the end, and the bytes after it") {
  ChunkedDecoder d;
  const std::string in = "4;a=b\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nT: v\r\n\r\nNEXT";
  std::string data;
  std::size_t pos = 0;
  while (pos < in.size()) {
    const auto st = d.next(std::string_view(in).substr(pos));
    data.append(st.data);
    pos += st.consumed;
    if (st.status != ChunkedDecoder::Status::more) break;
  }
  CHECK(d.status() == ChunkedDecoder::Status::done);
  CHECK(data == "Wikipedia in\r\n\r\nchunks.");
  CHECK(in.substr(pos) == "NEXT");
  d.reset();
  CHECK(d.status() == ChunkedDecoder::Status::more);
  const auto bad = d.next("xyz");
  CHECK(bad.status == ChunkedDecoder::Status::error);
  CHECK(bad.consumed == 1);
}

TEST_CASE("classification helpers") {
  CHECK(looks_like_request_start("POST /v1/chat HTTP/1.1"));
  CHECK(looks_like_request_start("GET "));
  CHECK(looks_like_request_start("OPTIONS * HTTP/1.1"));
  CHECK_FALSE(looks_like_request_start("POST"));
  CHECK_FALSE(looks_like_request_start("PRI * HTTP/2.0"));
  CHECK_FALSE(looks_like_request_start("\x16\x03\x01"));
  CHECK_FALSE(looks_like_request_start("GETX / HTTP/1.1"));
  CHECK(looks_like_response_start("HTTP/1.1 200 OK"));
  CHECK_FALSE(looks_like_response_start("HTTP/2 200"));
  CHECK(std::string(to_string(Outcome::decode_limit)) == "decode_limit");
}

TEST_CASE("out of step: a message glued into a start line or a header line is found") {
  {
    // The body is longer than its Content-Length says: the rest runs into the next request line.
    Run r(Role::request);
    r.parser.feed(
        "POST /a HTTP/1.1\r\nContent-Length: 2\r\n\r\n{\"a\":1}POST /b HTTP/1.1\r\nHost: x\r\n\r\n");
    REQUIRE(r.msgs().size() == 2);
    CHECK(r.msgs()[0].body == "{\"");
    CHECK(r.msgs()[1].head.target == "/b");
    CHECK(r.parser.stats().malformed == 1);
    CHECK(r.parser.stats().resync_skipped_bytes == 5);  // a":1}
  }
  {
    Run r(Role::request);
    const std::string cut = "GET /a HTTP/1.1\r\nHost: x\r\n{\"x\":1}";
    r.parser.feed(cut + "GET /b HTTP/1.1\r\nHost: y\r\n\r\n");
    REQUIRE(r.msgs().size() == 1);
    CHECK(r.msgs()[0].head.target == "/b");
    CHECK(r.msgs()[0].head.header("host") == "y");
    CHECK(r.parser.stats().malformed == 1);
    CHECK(r.parser.stats().resync_skipped_bytes == cut.size());
  }
}

TEST_CASE("messy input with small limits gives the same results at every split") {
  Limits lim;
  lim.max_head_bytes = 64;
  lim.max_body_bytes = 8;
  const std::string stream =
      "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nhello world!"
      "HTTP/1.1 200 OK\r\nX-Long: " +
      std::string(80, 'v') + "HTTP/1.1 201 Created\r\nContent-Length: 3\r\n\r\nabc" +
      "junk\x01HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n5x\r\nHTTP/1.1 203 "
      "OK\r\nContent-Length: 0\r\n\r\n"
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\nHTTP/1.0 200 OK\r\n\r\nuntil close";
  const Run whole = feed_all(Role::response, stream, lim);
  REQUIRE(whole.msgs().size() == 6);
  CHECK(whole.msgs()[0].end.outcome == Outcome::body_limit);
  CHECK(whole.msgs()[0].body == "hello wo");
  CHECK(whole.msgs()[1].head.status == 201);  // found at the end of the over-long header line
  CHECK(whole.msgs()[1].body == "abc");
  CHECK(whole.msgs()[2].head.status == 202);                 // glued after junk
  CHECK(whole.msgs()[2].end.outcome == Outcome::malformed);  // "5x" is no chunk size
  CHECK(whole.msgs()[3].head.status == 203);
  CHECK(whole.msgs()[4].head.status == 204);
  CHECK(whole.msgs()[5].body == "until cl");  // until close, cut at max_body_bytes
  CHECK(whole.msgs()[5].end.outcome == Outcome::body_limit);
  for (std::size_t i : {1u, 3u, 4u}) CHECK(whole.msgs()[i].end.outcome == Outcome::complete);
  CHECK(whole.parser.stats().malformed == 3);
  CHECK(whole.parser.stats().informational == 1);
  CHECK(whole.parser.stats().body_limits == 2);
  const std::string want = summary(whole);
  for (std::size_t i = 0; i <= stream.size(); ++i) {
    Run r(Role::response, lim);
    r.parser.feed(std::string_view(stream).substr(0, i));
    r.parser.feed(std::string_view(stream).substr(i));
    r.parser.eof();
    INFO("split at " << i);
    REQUIRE(summary(r) == want);
  }
  Run bytewise(Role::response, lim);
  for (char c : stream) bytewise.parser.feed(std::string_view(&c, 1));
  bytewise.parser.eof();
  CHECK(summary(bytewise) == want);
}
