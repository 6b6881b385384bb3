// HTTP/2 through the connection table: frames built here (header blocks compressed with nghttp2's
// own HPACK deflater), fed as the kernel would deliver them, must give the same exchanges as
// HTTP/1.1: exact usage per stream, many streams at once, classification by :authority, gaps,
// resets, compressed and streamed bodies.
#include <nghttp2/nghttp2.h>
#include <zlib.h>

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "capture/connection_table.h"
#include "dimensions/extractor.h"
#include <map>

using namespace shadowmeter;
using namespace shadowmeter::capture;

namespace {

constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
enum : std::uint8_t { DATA = 0, HEADERS = 1, RST_STREAM = 3, SETTINGS = 4, WINDOW_UPDATE = 8 };
enum : std::uint8_t { END_STREAM = 0x1, ACK = 0x1, END_HEADERS = 0x4 };

std::string frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream, std::string_view payload) {
  std::string f;
  const auto n = static_cast<std::uint32_t>(payload.size());
  f.push_back(static_cast<char>((n >> 16) & 0xFF));
  f.push_back(static_cast<char>((n >> 8) & 0xFF));
  f.push_back(static_cast<char>(n & 0xFF));
  f.push_back(static_cast<char>(type));
  f.push_back(static_cast<char>(flags));
  for (int shift = 24; shift >= 0; shift -= 8) f.push_back(static_cast<char>((stream >> shift) & 0xFF));
  f.append(payload);
  return f;
}

// One HPACK encoder per direction, as each endpoint has its own.
class Encoder {
 public:
  Encoder() {
    nghttp2_hd_deflater* d = nullptr;
    REQUIRE(nghttp2_hd_deflate_new(&d, 4096) == 0);
    d_.reset(d);
  }
  std::string block(const std::vector<std::pair<std::string, std::string>>& headers) {
    std::vector<nghttp2_nv> nva;
    for (const auto& [n, v] : headers) {
      nva.push_back({reinterpret_cast<std::uint8_t*>(const_cast<char*>(n.data())),
                     reinterpret_cast<std::uint8_t*>(const_cast<char*>(v.data())), n.size(), v.size(),
                     NGHTTP2_NV_FLAG_NONE});
    }
    std::string out(nghttp2_hd_deflate_bound(d_.get(), nva.data(), nva.size()), '\0');
    const auto n = nghttp2_hd_deflate_hd(d_.get(), reinterpret_cast<std::uint8_t*>(out.data()), out.size(),
                                         nva.data(), nva.size());
    REQUIRE(n >= 0);
    out.resize(static_cast<std::size_t>(n));
    return out;
  }

 private:
  struct Del {
    void operator()(nghttp2_hd_deflater* d) const { nghttp2_hd_deflate_del(d); }
  };
  std::unique_ptr<nghttp2_hd_deflater, Del> d_;
};

std::string body_json(int prompt, int completion, int id) {
  return R"({"id":"chatcmpl-)" + std::to_string(id) +
         R"(","object":"chat.completion","model":"gpt-4o-mini-2024-07-18","choices":[],)"
         R"("usage":{"prompt_tokens":)" +
         std::to_string(prompt) + R"(,"completion_tokens":)" + std::to_string(completion) + "}}";
}

const std::string kRequestBody = R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]})";

struct H2 {
  Encoder client_enc, server_enc;
  std::string client_bytes() { return std::string(kPreface) + frame(SETTINGS, 0, 0, std::string(6, '\0')); }
  std::string server_bytes() { return frame(SETTINGS, 0, 0, "") + frame(SETTINGS, ACK, 0, ""); }
  std::string request(std::uint32_t id, const std::string& authority = "api.openai.com",
                      const std::string& body = kRequestBody) {
    const std::string block = client_enc.block({{":method", "POST"},
                                                {":scheme", "https"},
                                                {":authority", authority},
                                                {":path", "/v1/chat/completions?api-version=2"},
                                                {"content-type", "application/json"},
                                                {"authorization", "Bearer sk-secret"}});
    return frame(HEADERS, END_HEADERS, id, block) + frame(DATA, END_STREAM, id, body);
  }
  std::string response_head(std::uint32_t id, const std::string& ctype = "application/json",
                            const std::string& encoding = "") {
    std::vector<std::pair<std::string, std::string>> hs{{":status", "200"}, {"content-type", ctype}};
    if (!encoding.empty()) hs.emplace_back("content-encoding", encoding);
    return frame(HEADERS, END_HEADERS, id, server_enc.block(hs));
  }
  std::string response(std::uint32_t id, int prompt, int completion) {
    return response_head(id) + frame(DATA, END_STREAM, id, body_json(prompt, completion, static_cast<int>(id)));
  }
};

struct Harness {
  providers::Catalog catalog;
  providers::Registry registry;
  std::vector<Exchange> exchanges;
  std::vector<ConnKey> ignored;
  std::unique_ptr<ConnectionTable> table;
  std::uint64_t offsets[2] = {0, 0};
  std::uint64_t ts = 1000;

  Harness() {
    catalog.add({"openai", "api.openai.com", "openai"});
    CaptureCallbacks cb;
    cb.ignore = [this](const ConnKey& k) { ignored.push_back(k); };
    cb.exchange = [this](Exchange&& e) { exchanges.push_back(std::move(e)); };
    table = std::make_unique<ConnectionTable>(catalog, registry, CaptureLimits{}, std::move(cb));
  }
  void send(Direction d, std::string_view bytes) {
    Chunk c;
    c.key = {42, 0xabc, 9};
    c.direction = d;
    c.stream_offset = offsets[static_cast<int>(d)];
    c.ts_ns = ++ts;
    c.fd = 7;
    c.comm = "curl";
    c.data = bytes;
    offsets[static_cast<int>(d)] += bytes.size();
    table->on_chunk(c);
  }
  void out(std::string_view b) { send(Direction::egress, b); }
  void in(std::string_view b) { send(Direction::ingress, b); }
  std::uint64_t verdict(Verdict v) const { return table->stats().verdicts[static_cast<int>(v)]; }
};

void check_usage(const Exchange& e, int prompt, int completion) {
  INFO("exchange " << e.call.response_id << " error " << e.error_type);
  REQUIRE(e.call.usage.input_tokens);
  CHECK(*e.call.usage.input_tokens == prompt);
  REQUIRE(e.call.usage.output_tokens);
  CHECK(*e.call.usage.output_tokens == completion);
  CHECK(e.call.usage.source == providers::UsageSource::response);
}

std::string gzip(std::string_view s) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&z, static_cast<uLong>(s.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(s.data()));
  z.avail_in = static_cast<uInt>(s.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

}  // namespace

TEST_CASE("HTTP/2: one stream gives one exchange with exact usage and protocol version 2") {
  Harness h;
  H2 c;
  h.out(c.client_bytes() + c.request(1));
  h.in(c.server_bytes() + c.response(1, 123, 45));
  REQUIRE(h.exchanges.size() == 1);
  const Exchange& e = h.exchanges[0];
  check_usage(e, 123, 45);
  CHECK(e.protocol_version == "2");
  CHECK(e.host == "api.openai.com");
  CHECK(e.port == 443);
  CHECK(e.method == "POST");
  CHECK(e.path == "/v1/chat/completions");
  CHECK(e.status == 200);
  CHECK(e.error_type.empty());
  CHECK(e.call.request_model == "gpt-4o-mini");
  CHECK(e.call.response_id == "chatcmpl-1");
  CHECK(h.ignored.empty());
  CHECK(h.verdict(Verdict::ai) == 1);
  CHECK(h.table->buffered_bytes() == 0);
}

TEST_CASE("HTTP/2: every split of both byte streams gives the same exchanges") {
  H2 c;
  // HPACK encoders are stateful: blocks are built one statement at a time, in wire order.
  std::string out = c.client_bytes();
  out += c.request(1);
  out += c.request(3);
  std::string in = c.server_bytes();
  in += c.response(3, 7, 8);
  in += c.response(1, 1000, 2000);
  const std::size_t settings_len = c.server_bytes().size();
  for (std::size_t split = 1; split < out.size(); split += 5) {
    Harness h;
    // The server's SETTINGS may interleave with the client's bytes anywhere; its answers follow the
    // requests (a response cannot be seen before the request it answers was sent).
    const std::size_t s1 = std::min(split % (settings_len + 1), settings_len);
    const std::size_t s2 = settings_len + split % (in.size() - settings_len);
    h.out(std::string_view(out).substr(0, split));
    h.in(std::string_view(in).substr(0, s1));
    h.out(std::string_view(out).substr(split));
    h.in(std::string_view(in).substr(s1, s2 - s1));
    h.in(std::string_view(in).substr(s2));
    INFO("split " << split);
    REQUIRE(h.exchanges.size() == 2);
    check_usage(h.exchanges[0], 7, 8);  // stream 3 finished first
    check_usage(h.exchanges[1], 1000, 2000);
  }
}

TEST_CASE("HTTP/2: twenty concurrent streams with interleaved DATA frames") {
  Harness h;
  H2 c;
  std::string out = c.client_bytes();
  for (std::uint32_t id = 1; id <= 39; id += 2) out += c.request(id);
  h.out(out);
  std::string in = c.server_bytes();
  for (std::uint32_t id = 1; id <= 39; id += 2) in += c.response_head(id);
  // First halves of every body, then the second halves, in reverse order.
  std::vector<std::string> bodies;
  for (std::uint32_t id = 1; id <= 39; id += 2)
    bodies.push_back(body_json(static_cast<int>(id) * 10, static_cast<int>(id), static_cast<int>(id)));
  for (std::uint32_t i = 0; i < 20; ++i)
    in += frame(DATA, 0, 2 * i + 1, bodies[i].substr(0, bodies[i].size() / 2));
  for (std::uint32_t i = 20; i-- > 0;)
    in += frame(DATA, END_STREAM, 2 * i + 1, bodies[i].substr(bodies[i].size() / 2));
  h.in(in);
  REQUIRE(h.exchanges.size() == 20);
  for (std::size_t k = 0; k < 20; ++k) {
    const int id = 39 - 2 * static_cast<int>(k);  // the reverse order they ended in
    check_usage(h.exchanges[k], id * 10, id);
    CHECK(h.exchanges[k].call.response_id == "chatcmpl-" + std::to_string(id));
  }
}

TEST_CASE("HTTP/2: a connection whose first request is not to an AI host is not followed") {
  Harness h;
  H2 c;
  h.out(c.client_bytes() + c.request(1, "www.example.com"));
  CHECK(h.ignored.size() == 1);
  CHECK(h.verdict(Verdict::not_ai) == 1);
  CHECK(h.table->size() == 0);
  CHECK(h.exchanges.empty());
}

TEST_CASE("HTTP/2: the server's SETTINGS seen before the client's preface is kept") {
  Harness h;
  H2 c;
  h.in(c.server_bytes());
  h.out(c.client_bytes() + c.request(1));
  h.in(c.response(1, 5, 6));
  REQUIRE(h.exchanges.size() == 1);
  check_usage(h.exchanges[0], 5, 6);
}

TEST_CASE("HTTP/2: gzip response body and an SSE stream") {
  Harness h;
  H2 c;
  std::string out = c.client_bytes();
  out += c.request(1);
  out += c.request(3);
  h.out(out);
  const std::string z = gzip(body_json(300, 40, 1));
  std::string in = c.server_bytes();
  in += c.response_head(1, "application/json", "gzip");
  in += frame(DATA, 0, 1, z.substr(0, 10)) + frame(DATA, END_STREAM, 1, z.substr(10));
  in += c.response_head(3, "text/event-stream");
  in += frame(DATA, 0, 3,
              "data: {\"id\":\"chatcmpl-9\",\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,"
              "\"delta\":{\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]}\n\n");
  in += frame(DATA, END_STREAM, 3,
              "data: {\"id\":\"chatcmpl-9\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,"
              "\"completion_tokens\":2}}\n\ndata: [DONE]\n\n");
  h.in(in);
  REQUIRE(h.exchanges.size() == 2);
  check_usage(h.exchanges[0], 300, 40);
  CHECK(h.exchanges[0].error_type.empty());
  CHECK(h.exchanges[1].call.stream);
  CHECK(h.exchanges[1].call.usage.source == providers::UsageSource::stream);
  CHECK(h.exchanges[1].call.usage.input_tokens == 12);
  CHECK(h.exchanges[1].call.usage.output_tokens == 2);
}

TEST_CASE("HTTP/2: a lost chunk ends the streams in flight and stops following the connection") {
  Harness h;
  H2 c;
  std::string out = c.client_bytes();
  out += c.request(1);
  out += c.request(3);
  h.out(out);
  std::string in = c.server_bytes();
  in += c.response(1, 1, 2);
  in += c.response_head(3);
  h.in(in);
  REQUIRE(h.exchanges.size() == 1);
  h.offsets[1] += 100;  // bytes the kernel could not deliver
  h.in(frame(DATA, END_STREAM, 3, body_json(3, 4, 3)));
  REQUIRE(h.exchanges.size() == 2);
  CHECK(h.exchanges[1].error_type == "capture_gap");
  CHECK_FALSE(h.exchanges[1].call.usage.input_tokens.has_value());
  CHECK(h.verdict(Verdict::http2) == 1);
  CHECK(h.ignored.size() == 1);
  CHECK(h.table->buffered_bytes() == 0);
}

TEST_CASE("HTTP/2: a reset stream, a stream without answer at close, and an error status") {
  Harness h;
  H2 c;
  std::string out = c.client_bytes();
  for (std::uint32_t id : {1u, 3u, 5u}) out += c.request(id);
  h.out(out);
  std::string in = c.server_bytes();
  in += c.response_head(1);
  in += frame(DATA, 0, 1, "{\"id\":");
  h.in(in);
  h.out(frame(RST_STREAM, 0, 1, std::string("\0\0\0\x8", 4)));  // CANCEL
  REQUIRE(h.exchanges.size() == 1);
  CHECK(h.exchanges[0].error_type == "stream_reset");
  h.in(frame(HEADERS, END_HEADERS | END_STREAM, 3, c.server_enc.block({{":status", "429"}})));
  REQUIRE(h.exchanges.size() == 2);
  CHECK(h.exchanges[1].status == 429);
  CHECK(h.exchanges[1].error_type == "429");
  h.table->on_connection_end({42, 0xabc, 9}, 5000);
  REQUIRE(h.exchanges.size() == 3);
  CHECK(h.exchanges[2].error_type == "no_response");
  CHECK(h.table->buffered_bytes() == 0);
}

TEST_CASE("HTTP/2: a body complete by its Content-Length ends the exchange without END_STREAM") {
  Harness h;
  H2 c;
  h.out(c.client_bytes() + c.request(1));
  const std::string body = body_json(21, 22, 1);
  std::string in = c.server_bytes();
  in += frame(HEADERS, END_HEADERS, 1,
              c.server_enc.block({{":status", "200"},
                                  {"content-type", "application/json"},
                                  {"content-length", std::to_string(body.size())}}));
  in += frame(DATA, 0, 1, body);  // the END_STREAM frame never comes: the client closed first
  h.in(in);
  REQUIRE(h.exchanges.size() == 1);
  check_usage(h.exchanges[0], 21, 22);
  CHECK(h.exchanges[0].error_type.empty());
  h.table->on_connection_end({42, 0xabc, 9}, 5000);
  CHECK(h.exchanges.size() == 1);
}

TEST_CASE("HTTP/2: configured request headers and body fields reach the exchange (custom dimensions)") {
  using shadowmeter::dimensions::Kind;
  shadowmeter::dimensions::Extractor dims(
      {{"feature", "x-feature", "", Kind::dimension, false}, {"user", "", "user", Kind::dimension, false},
       {"request_id", "x-request-id", "", Kind::tag, false}},
      [](std::string_view) { return std::string(32, 'f'); });
  providers::Catalog catalog;
  catalog.add({"openai", "api.openai.com", "openai"});
  providers::Registry registry;
  std::vector<Exchange> out;
  CaptureCallbacks cb;
  cb.exchange = [&](Exchange&& e) { out.push_back(std::move(e)); };
  cb.body_tap = [&] { return dims.new_tap(); };
  cb.request_fields = [&](const providers::HeaderList& h, Exchange& e) {
    e.dimensions = dims.extract(h, e.body_tap.get()).attributes;
  };
  ConnectionTable table(catalog, registry, CaptureLimits{}, std::move(cb));
  H2 c;
  const std::string block = c.client_enc.block({{":method", "POST"},
                                                {":scheme", "https"},
                                                {":authority", "api.openai.com"},
                                                {":path", "/v1/chat/completions"},
                                                {"content-type", "application/json"},
                                                {"x-feature", "summarize"},
                                                {"x-request-id", "req-42"}});
  const std::string body = R"({"model":"gpt-4o-mini","user":"team-a","messages":[]})";
  std::uint64_t offsets[2] = {0, 0};
  const auto send = [&](Direction d, const std::string& bytes) {
    Chunk ch;
    ch.key = {42, 0xabc, 9};
    ch.direction = d;
    ch.stream_offset = offsets[static_cast<int>(d)];
    ch.ts_ns = 1000 + offsets[0] + offsets[1];
    ch.fd = 7;
    ch.comm = "python3";
    ch.data = bytes;
    offsets[static_cast<int>(d)] += bytes.size();
    table.on_chunk(ch);
  };
  send(Direction::egress, c.client_bytes() + frame(HEADERS, END_HEADERS, 1, block) + frame(DATA, END_STREAM, 1, body));
  send(Direction::ingress, c.server_bytes() + c.response(1, 5, 6));
  REQUIRE(out.size() == 1);
  const std::map<std::string, std::string> m(out[0].dimensions.begin(), out[0].dimensions.end());
  CHECK(m.size() == 3);
  CHECK(m.at("shadowmeter.dimension.feature") == "summarize");
  CHECK(m.at("shadowmeter.dimension.user") == "team-a");
  CHECK(m.at("shadowmeter.tag.request_id") == "req-42");
}
