#include <catch2/catch.hpp>
#include <cstdlib>
#include <map>
#include <new>
#include <string>
#include <vector>

#include "h2_builders.h"
#include "protocols/http2/decoder.h"

using namespace h2test;
using shadowmeter::http2::Decoder;
using shadowmeter::http2::Limits;
using shadowmeter::http2::looks_like_preface;
using shadowmeter::http2::to_string;

// Every allocation in this test program is counted, so that a test can show that streaming DATA
// through the decoder allocates nothing.
namespace {
std::size_t g_allocations = 0;
}  // namespace

// GCC sees free() on memory from operator new and warns, not knowing both are replaced here.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(std::size_t n) {
  ++g_allocations;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

const Fields kRequest = {{":method", "POST"},
                         {":scheme", "https"},
                         {":authority", "api.openai.com"},
                         {":path", "/v1/chat/completions"},
                         {"content-type", "application/json"},
                         {"authorization", "Bearer sk-test-not-a-key"}};
const char* const kRequestFlat =
    ":method: POST; :scheme: https; :authority: api.openai.com; :path: /v1/chat/completions; "
    "content-type: application/json; authorization: Bearer sk-test-not-a-key";
const Fields kResponse = {
    {":status", "200"}, {"content-type", "text/event-stream"}, {"x-request-id", "req_1"}};
const char* const kResponseFlat = ":status: 200; content-type: text/event-stream; x-request-id: req_1";
const std::string kBody = R"({"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]})";
const std::string kChunk1 = "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n";
const std::string kChunk2 =
    "data: {\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2}}\n\ndata: [DONE]\n\n";

struct Exchange {
  std::string client, server;
};

// A streamed chat completion on stream 1 as a real client and server would send it, with the
// connection-level frames around it.
Exchange one_stream_exchange() {
  Deflater creq, sres;
  Exchange x;
  x.client = kPreface + settings({{kMaxConcurrentStreams, 100}, {kInitialWindowSize, 1u << 20}}) +
             frame(kWindowUpdate, 0, 0, u32(1u << 24)) +
             frame(kHeaders, kEndHeaders, 1, creq.encode(kRequest)) +
             frame(kData, 0, 1, kBody.substr(0, 30)) + frame(kData, kEndStream, 1, kBody.substr(30)) +
             settings_ack();
  x.server = settings({{kMaxConcurrentStreams, 128}}) + settings_ack() +
             frame(kHeaders, kEndHeaders, 1, sres.encode(kResponse)) + frame(kData, 0, 1, kChunk1) +
             frame(kPing, 0, 0, "12345678") + frame(kData, kEndStream, 1, kChunk2);
  return x;
}

void feed_split(Decoder& d, Side side, std::string_view bytes, std::size_t piece) {
  for (std::size_t i = 0; i < bytes.size(); i += piece) d.feed(side, bytes.substr(i, piece));
}

}  // namespace

TEST_CASE("looks_like_preface: prefixes of the preface and streams that start with it") {
  CHECK(looks_like_preface("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
  CHECK(looks_like_preface("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04"));
  CHECK(looks_like_preface("PRI *"));
  CHECK(looks_like_preface("P"));
  CHECK(looks_like_preface(""));  // a prefix of anything: the caller should wait for bytes
  CHECK_FALSE(looks_like_preface("PRI * HTTP/1.1\r\n"));
  CHECK_FALSE(looks_like_preface("POST /v1/chat/completions HTTP/1.1\r\n"));
  CHECK_FALSE(looks_like_preface("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\r"));
  CHECK_FALSE(looks_like_preface(std::string_view("\x16\x03\x01\x02\x00", 5)));  // a TLS ClientHello
}

TEST_CASE("to_string names every failure") {
  CHECK(std::string(to_string(Failure::none)) == "none");
  CHECK(std::string(to_string(Failure::bad_preface)) == "bad_preface");
  CHECK(std::string(to_string(Failure::frame_error)) == "frame_error");
  CHECK(std::string(to_string(Failure::hpack_error)) == "hpack_error");
  CHECK(std::string(to_string(Failure::limit)) == "limit");
  CHECK(std::string(to_string(Failure::gap)) == "gap");
}

TEST_CASE("a request/response exchange on one stream") {
  const auto x = one_stream_exchange();
  Recorder r;
  Decoder d(r);
  d.feed(Side::client, x.client);
  d.feed(Side::server, x.server);
  CHECK(r.c == std::vector<std::string>{"H 1 " + std::string(kRequestFlat), "D 1 " + kBody + "|END"});
  CHECK(r.s ==
        std::vector<std::string>{"H 1 " + std::string(kResponseFlat), "D 1 " + kChunk1 + kChunk2 + "|END"});
  CHECK(r.failures.empty());
  CHECK_FALSE(d.failed());
  CHECK(d.failure() == Failure::none);
  CHECK(d.stats().frames == 12);
  CHECK(d.stats().header_blocks == 2);
  CHECK(d.stats().data_bytes == kBody.size() + kChunk1.size() + kChunk2.size());
  CHECK(d.stats().ignored_frames == 2);  // WINDOW_UPDATE, PING
  CHECK(r.data_calls == 4);              // whole frames fed: one call per DATA frame
}

TEST_CASE("the exchange split at every byte position gives the same events") {
  const auto x = one_stream_exchange();
  Recorder whole;
  {
    Decoder d(whole);
    d.feed(Side::client, x.client);
    d.feed(Side::server, x.server);
  }
  REQUIRE(whole.c.size() == 2);
  REQUIRE(whole.s.size() == 2);
  // Client split at i and server split at a moving point, the four parts interleaved.
  for (std::size_t i = 0; i <= x.client.size(); ++i) {
    const std::size_t j = (i * 7) % (x.server.size() + 1);
    Recorder r;
    Decoder d(r);
    d.feed(Side::client, std::string_view(x.client).substr(0, i));
    d.feed(Side::server, std::string_view(x.server).substr(0, j));
    d.feed(Side::client, std::string_view(x.client).substr(i));
    d.feed(Side::server, std::string_view(x.server).substr(j));
    INFO("client split " << i << ", server split " << j);
    REQUIRE(r.c == whole.c);
    REQUIRE(r.s == whole.s);
    REQUIRE(r.failures.empty());
    REQUIRE(d.stats().data_bytes == kBody.size() + kChunk1.size() + kChunk2.size());
  }
  for (std::size_t j = 0; j <= x.server.size(); ++j) {
    Recorder r;
    Decoder d(r);
    d.feed(Side::server, std::string_view(x.server).substr(0, j));
    d.feed(Side::server, std::string_view(x.server).substr(j));
    INFO("server split " << j);
    REQUIRE(r.s == whole.s);
    REQUIRE(r.failures.empty());
  }
  Recorder bytewise;
  Decoder d(bytewise);
  feed_split(d, Side::client, x.client, 1);
  feed_split(d, Side::server, x.server, 1);
  CHECK(bytewise.c == whole.c);
  CHECK(bytewise.s == whole.s);
  CHECK(bytewise.data_calls == kBody.size() + kChunk1.size() + kChunk2.size());  // streamed, byte by byte
}

namespace {

// Per-stream view: header blocks, body and end_stream count for each (side, stream).
struct StreamSink : Sink {
  struct Stream {
    std::vector<std::string> blocks;
    std::string body;
    int ends = 0;
  };
  std::map<std::pair<int, std::uint32_t>, Stream> streams;
  int failures = 0;
  Stream& at(Side from, std::uint32_t id) { return streams[{from == Side::client ? 0 : 1, id}]; }
  void on_headers(Side from, std::uint32_t id, const std::vector<Header>& h, bool end) override {
    auto& s = at(from, id);
    s.blocks.push_back(flat(h));
    s.ends += end ? 1 : 0;
  }
  void on_data(Side from, std::uint32_t id, std::string_view p, bool end) override {
    auto& s = at(from, id);
    CHECK(s.ends == 0);  // nothing after the end of a stream
    s.body.append(p);
    s.ends += end ? 1 : 0;
  }
  void on_reset(Side, std::uint32_t, std::uint32_t) override {}
  void on_failure(Side, Failure) override { ++failures; }
};

}  // namespace

TEST_CASE("20 concurrent streams with interleaved frames, fed in uneven pieces") {
  constexpr std::uint32_t kStreams = 20;
  constexpr int kRounds = 4;
  Deflater creq, sres;
  std::string client = kPreface + settings();
  std::string server = settings() + settings_ack();
  auto id_of = [](std::uint32_t i) { return 2 * i + 1; };
  auto part = [](char side, std::uint32_t id, int k) {
    return std::string(1, side) + std::to_string(id) + "." + std::to_string(k) +
           std::string(static_cast<std::size_t>(k) * 3 + 1, 'x') + ";";
  };
  for (std::uint32_t i = 0; i < kStreams; ++i) {
    Fields req = kRequest;
    req.push_back({"x-stream", std::to_string(id_of(i))});
    client += frame(kHeaders, kEndHeaders, id_of(i), creq.encode(req));
  }
  for (int k = 0; k < kRounds; ++k) {
    for (std::uint32_t i = 0; i < kStreams; ++i) {
      client += frame(kData, k == kRounds - 1 ? kEndStream : 0, id_of(i), part('q', id_of(i), k));
    }
  }
  for (std::uint32_t i = kStreams; i-- > 0;) {  // answered in reverse order
    Fields res = kResponse;
    res.push_back({"x-stream", std::to_string(id_of(i))});
    server += frame(kHeaders, kEndHeaders, id_of(i), sres.encode(res));
  }
  for (int k = 0; k < kRounds; ++k) {
    for (std::uint32_t i = 0; i < kStreams; ++i) {
      server += frame(kData, k == kRounds - 1 ? kEndStream : 0, id_of(i), part('r', id_of(i), k));
    }
  }

  StreamSink sink;
  Decoder d(sink);
  // Directions interleaved, piece sizes from a small LCG (1..97 bytes).
  std::uint32_t seed = 12345;
  std::size_t ci = 0, si = 0;
  while (ci < client.size() || si < server.size()) {
    seed = seed * 1103515245u + 12345u;
    const std::size_t n = 1 + (seed >> 16) % 97;
    if ((seed >> 8) & 1) {
      d.feed(Side::client, std::string_view(client).substr(ci, n));
      ci = std::min(client.size(), ci + n);
    } else {
      d.feed(Side::server, std::string_view(server).substr(si, n));
      si = std::min(server.size(), si + n);
    }
  }
  REQUIRE(sink.failures == 0);
  REQUIRE(sink.streams.size() == 2 * kStreams);
  for (std::uint32_t i = 0; i < kStreams; ++i) {
    const auto id = id_of(i);
    const auto& q = sink.at(Side::client, id);
    const auto& r = sink.at(Side::server, id);
    std::string want_q, want_r;
    for (int k = 0; k < kRounds; ++k) {
      want_q += part('q', id, k);
      want_r += part('r', id, k);
    }
    INFO("stream " << id);
    CHECK(q.blocks ==
          std::vector<std::string>{kRequestFlat + std::string("; x-stream: ") + std::to_string(id)});
    CHECK(r.blocks ==
          std::vector<std::string>{kResponseFlat + std::string("; x-stream: ") + std::to_string(id)});
    CHECK(q.body == want_q);
    CHECK(r.body == want_r);
    CHECK(q.ends == 1);
    CHECK(r.ends == 1);
  }
  CHECK(d.stats().header_blocks == 2 * kStreams);
  CHECK(d.stats().frames == 3 + 2 * kStreams * (1 + kRounds));
}

TEST_CASE("padding on DATA and HEADERS is stripped, however the bytes are split") {
  Deflater sres;
  const std::string block = sres.encode(kResponse);
  std::string priority = u32(0x80000003u) + std::string(1, '\x10');  // exclusive dependency on 3, weight 16
  const std::string server =
      settings() + frame(kHeaders, kEndHeaders | kPadded | kPriorityFlag, 1, padded(priority + block, 7)) +
      frame(kData, kPadded, 1, padded("hello ", 10)) +  //
      frame(kData, kPadded, 1, padded("world", 0)) +    // PADDED with a zero pad length
      frame(kData, kPadded, 1, padded("", 3)) +         // only padding
      frame(kData, kPadded | kEndStream, 1, padded("!", 255)) +
      frame(kHeaders, kEndHeaders | kPadded, 3, padded(sres.encode(kResponse), 1)) +
      frame(kData, kPadded | kEndStream, 3, padded("", 4));  // END_STREAM on a frame of padding only
  const std::vector<std::string> want = {"H 1 " + std::string(kResponseFlat), "D 1 hello world!|END",
                                         "H 3 " + std::string(kResponseFlat), "D 3 |END"};
  for (std::size_t i = 0; i <= server.size(); ++i) {
    Recorder r;
    Decoder d(r);
    d.feed(Side::server, std::string_view(server).substr(0, i));
    d.feed(Side::server, std::string_view(server).substr(i));
    INFO("split at " << i);
    REQUIRE(r.s == want);
    REQUIRE(r.failures.empty());
    REQUIRE(d.stats().data_bytes == 12);
  }
  Recorder r;
  Decoder d(r);
  feed_split(d, Side::server, server, 1);
  CHECK(r.s == want);
  CHECK(r.data_calls == 13);  // 12 bytes one at a time, plus the empty END_STREAM piece of stream 3
}

TEST_CASE("END_STREAM on a padded DATA frame is reported with its last content byte") {
  const std::string server = settings() + frame(kData, kPadded | kEndStream, 1, padded("abc", 200));
  Recorder r;
  Decoder d(r);
  // Everything up to and including the content, none of the padding yet.
  d.feed(Side::server, std::string_view(server).substr(0, server.size() - 200));
  CHECK(r.s == std::vector<std::string>{"D 1 abc|END"});
  d.feed(Side::server, std::string_view(server).substr(server.size() - 200));
  CHECK(r.s == std::vector<std::string>{"D 1 abc|END"});
  CHECK(r.failures.empty());
  CHECK(d.stats().frames == 2);
}

TEST_CASE("CONTINUATION: the block is decoded after END_HEADERS, END_STREAM comes from HEADERS") {
  Deflater creq;
  const std::string block = creq.encode(kRequest);
  REQUIRE(block.size() > 20);
  const std::string head = kPreface + settings();
  const std::string frames = frame(kHeaders, kEndStream | kPadded, 1, padded(block.substr(0, 7), 2)) +
                             frame(kContinuation, 0, 1, block.substr(7, 0)) +  // an empty fragment
                             frame(kContinuation, 0, 1, block.substr(7, 10));
  const std::string last = frame(kContinuation, kEndHeaders, 1, block.substr(17));
  Recorder r;
  Decoder d(r);
  d.feed(Side::client, head + frames + last.substr(0, last.size() - 1));
  CHECK(r.c.empty());  // nothing until the block is complete
  d.feed(Side::client, last.substr(last.size() - 1));
  CHECK(r.c == std::vector<std::string>{"H 1 END " + std::string(kRequestFlat)});
  CHECK(d.stats().header_blocks == 1);

  // END_STREAM is not defined on CONTINUATION: a set bit there changes nothing.
  Deflater c2;
  const std::string b2 = c2.encode(kRequest);
  Recorder r2;
  Decoder d2(r2);
  d2.feed(Side::client, head + frame(kHeaders, 0, 3, b2.substr(0, 5)) +
                            frame(kContinuation, kEndHeaders | kEndStream, 3, b2.substr(5)));
  CHECK(r2.c == std::vector<std::string>{"H 3 " + std::string(kRequestFlat)});
  CHECK(r2.failures.empty());
}

TEST_CASE("the dynamic table carries over between blocks, one table per direction") {
  // Fields the deflater indexes (no :path, no authorization): the second time each is one byte.
  const Fields fields = {{":method", "POST"},
                         {":scheme", "https"},
                         {":authority", "api.anthropic.com"},
                         {"content-type", "application/json"},
                         {"anthropic-version", "2023-06-01"},
                         {"user-agent", "shadowmeter-test/1.0"}};
  const Fields answer = {{":status", "200"}, {"anthropic-organization-id", "org-1"}, {"via", "1.1 google"}};
  Deflater creq, sres;
  const std::string b1 = creq.encode(fields);
  const std::string r1 = sres.encode(answer);
  const std::string b2 = creq.encode(fields);
  const std::string r2 = sres.encode(answer);
  CHECK(b2.size() == fields.size());  // all indexed
  CHECK(r2.size() == answer.size());
  const std::string want_req =
      ":method: POST; :scheme: https; :authority: api.anthropic.com; content-type: application/json; "
      "anthropic-version: 2023-06-01; user-agent: shadowmeter-test/1.0";
  const std::string want_res = ":status: 200; anthropic-organization-id: org-1; via: 1.1 google";

  Recorder r;
  Decoder d(r);
  // Client and server blocks interleaved: each side's references point into its own table.
  d.feed(Side::client, kPreface + settings() + frame(kHeaders, kEndHeaders | kEndStream, 1, b1));
  d.feed(Side::server, settings() + frame(kHeaders, kEndHeaders | kEndStream, 1, r1));
  d.feed(Side::client, frame(kHeaders, kEndHeaders | kEndStream, 3, b2));
  d.feed(Side::server, frame(kHeaders, kEndHeaders | kEndStream, 3, r2));
  CHECK(r.c == std::vector<std::string>{"H 1 END " + want_req, "H 3 END " + want_req});
  CHECK(r.s == std::vector<std::string>{"H 1 END " + want_res, "H 3 END " + want_res});
  CHECK(r.failures.empty());

  // Without the first block the indexed references of the second cannot be resolved.
  Recorder lost;
  Decoder d2(lost);
  d2.feed(Side::client, kPreface + settings() + frame(kHeaders, kEndHeaders, 3, b2));
  CHECK(lost.failures == std::vector<std::string>{"c hpack_error"});
  CHECK(lost.c.empty());
}

TEST_CASE("SETTINGS_HEADER_TABLE_SIZE from one side bounds the other side's encoder") {
  const Fields big = {{":status", "200"}, {"x-long", std::string(5000, 'v')}, {"x-other", "1"}};
  const std::string want = ":status: 200; x-long: " + std::string(5000, 'v') + "; x-other: 1";

  SECTION("a larger table announced by the server's encoder needs the client's SETTINGS") {
    Deflater sres(65536);
    sres.change_table_size(8192);  // the server saw the client's 8192
    const std::string b1 = sres.encode(big);
    const std::string b2 = sres.encode(big);
    CHECK(b2.size() == 3);  // the 5 KiB field fit in the 8 KiB table: indexed
    const std::string server =
        settings() + frame(kHeaders, kEndHeaders, 1, b1) + frame(kHeaders, kEndHeaders, 3, b2);

    Recorder ok;
    Decoder d(ok);
    d.feed(Side::client, kPreface + settings({{kHeaderTableSize, 8192}}));
    d.feed(Side::server, server);
    CHECK(ok.s == std::vector<std::string>{"H 1 " + want, "H 3 " + want});
    CHECK(ok.failures.empty());

    Recorder none;  // no SETTINGS from the client: a size update to 8192 is not allowed
    Decoder d2(none);
    d2.feed(Side::client, kPreface + settings());
    d2.feed(Side::server, server);
    CHECK(none.failures == std::vector<std::string>{"s hpack_error"});
    CHECK(none.s.empty());

    Recorder wrong_side;  // the server's own SETTINGS bound the client's encoder, not its own
    Decoder d3(wrong_side);
    d3.feed(Side::client, kPreface + settings());
    d3.feed(Side::server, settings({{kHeaderTableSize, 8192}}) + frame(kHeaders, kEndHeaders, 1, b1));
    CHECK(wrong_side.failures == std::vector<std::string>{"s hpack_error"});
  }

  SECTION("a value at the limit is honoured, one above it fails with limit") {
    Limits limits;
    limits.max_header_table_size = 10000;
    Deflater sres(65536);
    sres.change_table_size(10000);
    Recorder ok;
    Decoder d(ok, limits);
    d.feed(Side::client, kPreface + settings({{kHeaderTableSize, 10000}}));
    d.feed(Side::server, settings() + frame(kHeaders, kEndHeaders, 1, sres.encode(big)));
    CHECK(ok.s == std::vector<std::string>{"H 1 " + want});
    CHECK(ok.failures.empty());

    Recorder over;
    Decoder d2(over, limits);
    d2.feed(Side::client, kPreface + settings({{kMaxConcurrentStreams, 10}, {kHeaderTableSize, 10001}}));
    CHECK(over.failures == std::vector<std::string>{"c limit"});
    CHECK(d2.failure() == Failure::limit);
  }

  SECTION("a smaller size: blocks sent before the encoder saw it still decode, then the shrink") {
    Deflater sres(65536);
    sres.change_table_size(8192);
    const std::string b1 = sres.encode(big);
    const std::string in_flight = sres.encode(big);  // sent before the server read the new SETTINGS
    sres.change_table_size(0);
    const std::string after = sres.encode(big);  // announces size 0, everything literal
    const std::string after2 = sres.encode(big);
    CHECK(after2.size() > 4000);  // nothing indexed any more: the value is sent again (Huffman-coded)

    Recorder r;
    Decoder d(r);
    d.feed(Side::client, kPreface + settings({{kHeaderTableSize, 8192}}));
    d.feed(Side::server, settings() + frame(kHeaders, kEndHeaders, 1, b1));
    d.feed(Side::client, settings({{kHeaderTableSize, 0}}));
    d.feed(Side::server, frame(kHeaders, kEndHeaders, 3, in_flight) + frame(kHeaders, kEndHeaders, 5, after) +
                             frame(kHeaders, kEndHeaders, 7, after2));
    CHECK(r.s == std::vector<std::string>{"H 1 " + want, "H 3 " + want, "H 5 " + want, "H 7 " + want});
    CHECK(r.failures.empty());
  }
}

TEST_CASE("trailers: a second header block with END_STREAM after the body") {
  Deflater sres;
  const std::string server = settings() + frame(kHeaders, kEndHeaders, 1, sres.encode(kResponse)) +
                             frame(kData, 0, 1, "abc") +
                             frame(kHeaders, kEndHeaders | kEndStream, 1,
                                   sres.encode({{"grpc-status", "0"}, {"x-usage-tokens", "42"}}));
  Recorder r;
  Decoder d(r);
  feed_split(d, Side::server, server, 5);
  CHECK(r.s == std::vector<std::string>{"H 1 " + std::string(kResponseFlat), "D 1 abc",
                                        "H 1 END grpc-status: 0; x-usage-tokens: 42"});
  CHECK(d.stats().header_blocks == 2);
}

TEST_CASE("RST_STREAM from either side and GOAWAY with debug data") {
  Recorder r;
  Decoder d(r);
  const std::string client = kPreface + settings() + frame(kRstStream, 0, 5, u32(8));  // CANCEL
  const std::string server = settings() + frame(kRstStream, 0, 0x80000007u, u32(2)) +  // reserved bit set
                             frame(kGoaway, 0, 0, u32(0x80000009u) + u32(11) + std::string(300, 'd')) +
                             frame(kGoaway, 0, 0, u32(1) + u32(0));
  feed_split(d, Side::client, client, 3);
  feed_split(d, Side::server, server, 7);
  CHECK(r.c == std::vector<std::string>{"RST 5 8"});
  CHECK(r.s == std::vector<std::string>{"RST 7 2", "GOAWAY 9 11", "GOAWAY 1 0"});
  CHECK(r.failures.empty());
  CHECK(d.stats().frames == 6);
  CHECK(d.stats().ignored_frames == 0);
}

TEST_CASE("PING, PRIORITY, WINDOW_UPDATE and unknown frame types are counted and skipped") {
  Deflater creq;
  Recorder r;
  Decoder d(r);
  const std::string client = kPreface + settings() + frame(kPing, 0, 0, "pingpong") +
                             frame(kPriority, 0, 3, u32(1) + "\x0f") + frame(kWindowUpdate, 0, 1, u32(1000)) +
                             frame(0xfa, 0xff, 1, std::string(500, '\xff')) +  // an extension frame
                             frame(kHeaders, kEndHeaders | kEndStream, 1, creq.encode(kRequest));
  feed_split(d, Side::client, client, 11);
  CHECK(r.c == std::vector<std::string>{"H 1 END " + std::string(kRequestFlat)});
  CHECK(d.stats().ignored_frames == 4);
  CHECK(d.stats().frames == 6);
}

TEST_CASE("PUSH_PROMISE blocks update the server's table but are not reported") {
  Deflater sres;
  const Fields promised = {{":method", "GET"},
                           {":scheme", "https"},
                           {":authority", "cdn.example"},
                           {":path", "/style.css"},
                           {"x-pushed", "yes"}};
  const std::string push = sres.encode(promised);
  const std::string resp =
      sres.encode({{":status", "200"}, {"x-pushed", "yes"}, {":authority", "cdn.example"}});
  REQUIRE(resp.size() == 3);  // only references into the table the push filled
  const std::string server = settings() +
                             frame(kPushPromise, kEndHeaders | kPadded, 1, padded(u32(2) + push, 4)) +
                             frame(kHeaders, kEndHeaders, 1, resp);
  Recorder r;
  Decoder d(r);
  feed_split(d, Side::server, server, 2);
  CHECK(r.s == std::vector<std::string>{"H 1 :status: 200; x-pushed: yes; :authority: cdn.example"});
  CHECK(r.failures.empty());
  CHECK(d.stats().ignored_frames == 1);
  CHECK(d.stats().header_blocks == 1);

  // A promise split over CONTINUATION also counts as one ignored frame and is decoded.
  Deflater s2;
  const std::string push2 = s2.encode(promised);
  const std::string resp2 = s2.encode({{"x-pushed", "yes"}});
  Recorder r2;
  Decoder d2(r2);
  d2.feed(Side::server, settings() + frame(kPushPromise, 0, 1, u32(2) + push2.substr(0, 3)) +
                            frame(kContinuation, kEndHeaders, 1, push2.substr(3)) +
                            frame(kHeaders, kEndHeaders | kEndStream, 2, resp2));
  CHECK(r2.s == std::vector<std::string>{"H 2 END x-pushed: yes"});
  CHECK(d2.stats().ignored_frames == 1);
}

namespace {

struct FailureCase {
  const char* name;
  std::string client;  // fed first (after the preface unless the case says otherwise)
  std::string server;
  const char* want;
};

}  // namespace

TEST_CASE("framing errors fail the connection with frame_error") {
  Deflater creq;
  const std::string block = creq.encode(kRequest);
  const std::string c0 = kPreface + settings();
  const std::string s0 = settings();
  const std::vector<FailureCase> cases = {
      {"client's first frame is not SETTINGS", kPreface + frame(kHeaders, kEndHeaders, 1, block), "",
       "c frame_error"},
      {"server's first frame is a SETTINGS ACK", "", settings_ack(), "s frame_error"},
      {"server's first frame is DATA", "", frame(kData, 0, 1, "x"), "s frame_error"},
      {"DATA on stream 0", "", s0 + frame(kData, 0, 0, "x"), "s frame_error"},
      {"HEADERS on stream 0", c0 + frame(kHeaders, kEndHeaders, 0, block), "", "c frame_error"},
      {"CONTINUATION without HEADERS", c0 + frame(kContinuation, kEndHeaders, 1, block), "", "c frame_error"},
      {"DATA between HEADERS and its CONTINUATION",
       c0 + frame(kHeaders, 0, 1, block.substr(0, 4)) + frame(kData, 0, 1, "x"), "", "c frame_error"},
      {"PING between HEADERS and its CONTINUATION",
       c0 + frame(kHeaders, 0, 1, block.substr(0, 4)) + frame(kPing, 0, 0, "12345678"), "", "c frame_error"},
      {"CONTINUATION on another stream",
       c0 + frame(kHeaders, 0, 1, block.substr(0, 4)) + frame(kContinuation, kEndHeaders, 3, block.substr(4)),
       "", "c frame_error"},
      {"DATA pad length equal to the payload length", "",
       s0 + frame(kData, kPadded, 1,
                  "\x05"
                  "abcd"),
       "s frame_error"},
      {"DATA PADDED with an empty payload", "", s0 + frame(kData, kPadded, 1, ""), "s frame_error"},
      {"HEADERS padding reaching into the priority fields",
       c0 + frame(kHeaders, kEndHeaders | kPadded | kPriorityFlag, 1,
                  std::string(1, '\x01') + u32(0) + "\x10"),
       "", "c frame_error"},
      {"HEADERS PRIORITY shorter than 5 bytes", c0 + frame(kHeaders, kEndHeaders | kPriorityFlag, 1, "abc"),
       "", "c frame_error"},
      {"RST_STREAM of 3 bytes", "", s0 + frame(kRstStream, 0, 1, "abc"), "s frame_error"},
      {"RST_STREAM on stream 0", "", s0 + frame(kRstStream, 0, 0, u32(1)), "s frame_error"},
      {"SETTINGS of 5 bytes", kPreface + frame(kSettings, 0, 0, "abcde"), "", "c frame_error"},
      {"SETTINGS on a stream", "", s0 + frame(kSettings, 0, 1, ""), "s frame_error"},
      {"SETTINGS ACK with a payload", "", s0 + frame(kSettings, kAck, 0, std::string(6, '\0')),
       "s frame_error"},
      {"GOAWAY of 7 bytes", "", s0 + frame(kGoaway, 0, 0, "1234567"), "s frame_error"},
      {"GOAWAY on a stream", "", s0 + frame(kGoaway, 0, 1, u32(0) + u32(0)), "s frame_error"},
      {"PUSH_PROMISE from the client", c0 + frame(kPushPromise, kEndHeaders, 1, u32(2) + block), "",
       "c frame_error"},
      {"PUSH_PROMISE on stream 0", "", s0 + frame(kPushPromise, kEndHeaders, 0, u32(2)), "s frame_error"},
      {"PUSH_PROMISE shorter than its promised id", "", s0 + frame(kPushPromise, kEndHeaders, 1, "ab"),
       "s frame_error"},
  };
  for (const auto& fc : cases) {
    INFO(fc.name);
    Recorder r;
    Decoder d(r);
    d.feed(Side::client, fc.client);
    d.feed(Side::server, fc.server);
    CHECK(r.failures == std::vector<std::string>{fc.want});
    CHECK(d.failure() == Failure::frame_error);
    CHECK(d.failed());
    CHECK(r.c.empty());
    CHECK(r.s.empty());
    // Byte by byte: the same, and found without waiting for anything past the offending field.
    Recorder r1;
    Decoder d1(r1);
    feed_split(d1, Side::client, fc.client, 1);
    feed_split(d1, Side::server, fc.server, 1);
    CHECK(r1.failures == std::vector<std::string>{fc.want});
  }
}

TEST_CASE("a client that does not start with the preface: bad_preface") {
  Recorder r;
  Decoder d(r);
  d.feed(Side::client, "PRI * HTTP/2.0\r\n");
  CHECK(r.failures.empty());  // so far a prefix
  d.feed(Side::client, "\r\nSM\r\n\n");
  CHECK(r.failures == std::vector<std::string>{"c bad_preface"});
  CHECK(d.failure() == Failure::bad_preface);

  Recorder r2;
  Decoder d2(r2);
  d2.feed(Side::client, "POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n\r\n");
  CHECK(r2.failures == std::vector<std::string>{"c bad_preface"});
}

TEST_CASE("a header block that cannot be decoded: hpack_error") {
  Recorder r;
  Decoder d(r);
  // 0xbe is "indexed field 62": the first dynamic entry, and the table is empty.
  d.feed(Side::client, kPreface + settings() + frame(kHeaders, kEndHeaders, 1, "\x82\xbe"));
  CHECK(r.failures == std::vector<std::string>{"c hpack_error"});
  CHECK(r.c.empty());

  Recorder r2;
  Decoder d2(r2);
  // A literal whose length (127 + 0x7f...) runs past the end of the block.
  d2.feed(Side::server, settings() + frame(kHeaders, kEndHeaders, 1, "\x40\x7f\xff\xff\xff\x0f"));
  CHECK(r2.failures == std::vector<std::string>{"s hpack_error"});
}

TEST_CASE("limits: frame payload, header block, decoded header list") {
  SECTION("a frame longer than max_frame_payload fails as soon as its header is seen") {
    Limits limits;
    limits.max_frame_payload = 16384;
    Recorder r;
    Decoder d(r, limits);
    d.feed(Side::server, settings() + frame(kData, kEndStream, 1, std::string(16384, 'a')));
    CHECK(r.s == std::vector<std::string>{"D 1 " + std::string(16384, 'a') + "|END"});
    CHECK(r.failures.empty());
    d.feed(Side::server, frame(kData, 0, 1, std::string(16385, 'b')).substr(0, 9));
    CHECK(r.failures == std::vector<std::string>{"s limit"});
    CHECK(d.failure() == Failure::limit);
    CHECK(r.s.size() == 1);
  }

  SECTION("HEADERS + CONTINUATION over max_header_block_bytes") {
    Deflater creq;
    const std::string block = creq.encode(kRequest);
    const std::string frames =
        frame(kHeaders, 0, 1, block.substr(0, 20)) + frame(kContinuation, kEndHeaders, 1, block.substr(20));
    Limits at;
    at.max_header_block_bytes = block.size();
    Recorder ok;
    Decoder d(ok, at);
    d.feed(Side::client, kPreface + settings() + frames);
    CHECK(ok.c == std::vector<std::string>{"H 1 " + std::string(kRequestFlat)});
    CHECK(ok.failures.empty());

    Limits below;
    below.max_header_block_bytes = block.size() - 1;
    Recorder over;
    Decoder d2(over, below);
    // The CONTINUATION's header is enough to know: its payload is not needed.
    d2.feed(Side::client, kPreface + settings() + frames.substr(0, 9 + 20 + 9));
    CHECK(over.failures == std::vector<std::string>{"c limit"});
    CHECK(over.c.empty());
  }

  SECTION("decoded names + values over max_header_list_bytes, from a small block") {
    // 40 x-pad fields: one literal with indexing, then 39 one-byte references to it.
    Fields many;
    for (int i = 0; i < 40; ++i) many.push_back({"x-pad", std::string(95, 'p')});  // 100 bytes each
    Deflater creq;
    const std::string block = creq.encode(many);
    CHECK(block.size() < 150);
    Limits at;
    at.max_header_list_bytes = 4000;
    Recorder ok;
    Decoder d(ok, at);
    d.feed(Side::client, kPreface + settings() + frame(kHeaders, kEndHeaders, 1, block));
    REQUIRE(ok.c.size() == 1);
    CHECK(ok.failures.empty());

    Limits below;
    below.max_header_list_bytes = 3999;
    Recorder over;
    Decoder d2(over, below);
    d2.feed(Side::client, kPreface + settings() + frame(kHeaders, kEndHeaders, 1, block));
    CHECK(over.failures == std::vector<std::string>{"c limit"});
    CHECK(over.c.empty());
  }
}

TEST_CASE("gap: lost bytes end decoding") {
  Recorder r;
  Decoder d(r);
  d.feed(Side::server, settings());
  d.gap(Side::server);
  CHECK(r.failures == std::vector<std::string>{"s gap"});
  CHECK(d.failure() == Failure::gap);
}

TEST_CASE("after a failure on_failure is not called again and all input is ignored") {
  const auto x = one_stream_exchange();
  Recorder r;
  Decoder d(r);
  d.feed(Side::client, x.client.substr(0, 30));
  d.feed(Side::server, frame(kData, 0, 0, "x"));  // server's first frame is not SETTINGS
  REQUIRE(r.failures == std::vector<std::string>{"s frame_error"});
  d.feed(Side::client, x.client.substr(30));
  d.feed(Side::server, x.server);
  d.gap(Side::client);
  d.feed(Side::client, "garbage");
  CHECK(r.failures == std::vector<std::string>{"s frame_error"});
  CHECK(d.failure() == Failure::frame_error);
  CHECK(r.c.empty());
  CHECK(r.s.empty());
  CHECK(d.stats().frames == 1);  // the server's DATA: the client's SETTINGS was still incomplete
}

namespace {

// Counts and checksums DATA without keeping it, and checks each piece points into the bytes fed.
struct BodyCounter : Sink {
  std::string_view fed;
  std::uint64_t bytes = 0;
  std::uint64_t fnv = 14695981039346656037ull;
  std::size_t calls = 0;
  std::size_t ends = 0;
  std::size_t outside = 0;  // pieces that were not views into the fed buffer: copies
  std::size_t headers = 0;
  std::size_t failures = 0;
  void on_headers(Side, std::uint32_t, const std::vector<Header>&, bool) override { ++headers; }
  void on_data(Side, std::uint32_t, std::string_view p, bool end) override {
    ++calls;
    ends += end ? 1 : 0;
    if (!p.empty() && (p.data() < fed.data() || p.data() + p.size() > fed.data() + fed.size())) ++outside;
    bytes += p.size();
    for (char ch : p) {
      fnv ^= static_cast<unsigned char>(ch);
      fnv *= 1099511628211ull;
    }
  }
  void on_reset(Side, std::uint32_t, std::uint32_t) override {}
  void on_failure(Side, Failure) override { ++failures; }
};

}  // namespace

TEST_CASE("a 5 MB body in 16 KiB frames is streamed: exactly once, no copies, no allocation") {
  constexpr std::size_t kFrame = 16384;
  constexpr std::size_t kFrames = 320;  // 5 MiB
  Deflater sres;
  std::string body(kFrame * kFrames, '\0');
  std::uint64_t want_fnv = 14695981039346656037ull;
  for (std::size_t i = 0; i < body.size(); ++i) {
    body[i] = static_cast<char>((i * 31 + (i >> 9)) & 0xff);
    want_fnv ^= static_cast<unsigned char>(body[i]);
    want_fnv *= 1099511628211ull;
  }
  const std::string head = settings() + frame(kHeaders, kEndHeaders, 1, sres.encode(kResponse));
  std::string server = head;
  server.reserve(head.size() + kFrames * (9 + kFrame));
  for (std::size_t f = 0; f < kFrames; ++f) {
    server +=
        frame(kData, f + 1 == kFrames ? kEndStream : 0, 1, std::string_view(body).substr(f * kFrame, kFrame));
  }

  BodyCounter sink;
  sink.fed = server;
  Decoder d(sink);
  d.feed(Side::server, head);
  REQUIRE(sink.headers == 1);
  // Pieces of 1000 bytes, never aligned with frames. After every feed all DATA bytes fed so far
  // must have been delivered: nothing is held back.
  std::size_t lagging = 0;
  const std::size_t allocations_before = g_allocations;
  for (std::size_t pos = head.size(); pos < server.size();) {
    const std::size_t n = std::min<std::size_t>(1000, server.size() - pos);
    d.feed(Side::server, std::string_view(server).substr(pos, n));
    pos += n;
    const std::size_t q = pos - head.size();
    const std::size_t in_frame = q % (9 + kFrame);
    const std::size_t want = q / (9 + kFrame) * kFrame + (in_frame > 9 ? in_frame - 9 : 0);
    if (sink.bytes != want) ++lagging;
  }
  const std::size_t allocations = g_allocations - allocations_before;
  CHECK(allocations == 0);
  CHECK(lagging == 0);
  CHECK(sink.bytes == body.size());
  CHECK(sink.fnv == want_fnv);
  CHECK(sink.ends == 1);
  CHECK(sink.outside == 0);
  CHECK(sink.failures == 0);
  CHECK(d.stats().data_bytes == body.size());
  CHECK(d.stats().frames == 2 + kFrames);
  CHECK(sink.calls >= kFrames);
  CHECK(sink.calls <= kFrames + (server.size() - head.size()) / 1000 + 1);
}
