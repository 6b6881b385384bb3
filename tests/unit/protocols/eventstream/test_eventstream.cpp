// AWS event-stream decoder: every split point, every header type, each corruption, the limits.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "protocols/eventstream/encode_message.h"
#include "protocols/eventstream/eventstream.h"

using namespace shadowmeter::eventstream;
using namespace shadowmeter::eventstream::testing;

namespace {

struct Got {
  std::string message_type, event_type, content_type, exception_type, error_code, payload;
  std::size_t headers = 0;
  bool operator==(const Got&) const = default;
};

struct Run {
  std::vector<Got> got;
  Decoder decoder;
  explicit Run(Limits l = {})
      : decoder(
            [this](const Message& m) {
              got.push_back({std::string(m.message_type), std::string(m.event_type),
                             std::string(m.content_type), std::string(m.exception_type),
                             std::string(m.error_code), std::string(m.payload), m.headers.size()});
            },
            l) {}
};

// Feeds `s` cut at the given offsets (ascending), then finishes.
std::vector<Got> decode_split(std::string_view s, const std::vector<std::size_t>& cuts,
                              Error* err = nullptr) {
  Run r;
  std::size_t at = 0;
  for (std::size_t c : cuts) {
    r.decoder.feed(s.substr(at, c - at));
    at = c;
  }
  r.decoder.feed(s.substr(at));
  r.decoder.finish();
  if (err) *err = r.decoder.error();
  return r.got;
}

const std::string kStream =
    event("messageStart", R"({"role":"assistant"})") +
    event("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"Hello"},"p":"abcdefgh"})") +
    message("", "") +  // no headers, no payload: the 16-byte minimum
    exception("throttlingException", R"({"message":"Too many requests"})") +
    event("metadata",
          R"({"usage":{"inputTokens":12,"outputTokens":5,"totalTokens":17},"metrics":{"latencyMs":310}})");

const std::vector<Got> kExpected{
    {"event", "messageStart", "application/json", "", "", R"({"role":"assistant"})", 3},
    {"event", "contentBlockDelta", "application/json", "", "",
     R"({"contentBlockIndex":0,"delta":{"text":"Hello"},"p":"abcdefgh"})", 3},
    {"", "", "", "", "", "", 0},
    {"exception", "", "application/json", "throttlingException", "", R"({"message":"Too many requests"})", 3},
    {"event", "metadata", "application/json", "", "",
     R"({"usage":{"inputTokens":12,"outputTokens":5,"totalTokens":17},"metrics":{"latencyMs":310}})", 3},
};

}  // namespace

TEST_CASE("the empty message of the format's test vectors") {
  const std::string empty("\x00\x00\x00\x10\x00\x00\x00\x00\x05\xc2\x48\xeb\x7d\x98\xc8\xff", 16);
  CHECK(message("", "") == empty);
  Run r;
  CHECK(r.decoder.feed(empty));
  r.decoder.finish();
  REQUIRE(r.got.size() == 1);
  CHECK(r.got[0] == Got{});
  CHECK(r.decoder.error() == Error::none);
  CHECK(r.decoder.stats().messages == 1);
  CHECK(r.decoder.stats().message_bytes == 16);
  CHECK(r.decoder.stats().discarded_bytes == 0);
}

TEST_CASE("a stream decodes whole into its messages") {
  Error err{};
  CHECK(decode_split(kStream, {}, &err) == kExpected);
  CHECK(err == Error::none);
}

TEST_CASE("every split point into two pieces gives the same messages") {
  for (std::size_t i = 0; i <= kStream.size(); ++i) {
    INFO("split at " << i);
    Error err{};
    REQUIRE(decode_split(kStream, {i}, &err) == kExpected);
    REQUIRE(err == Error::none);
  }
}

TEST_CASE("every pair of split points into three pieces gives the same messages") {
  // The first three messages (two events and the empty message), to keep this quick.
  const std::string s =
      event("messageStart", R"({"role":"assistant"})") +
      event("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"Hello"},"p":"abcdefgh"})") +
      message("", "");
  REQUIRE(kStream.starts_with(s));
  const auto want = decode_split(s, {});
  REQUIRE(want == std::vector<Got>(kExpected.begin(), kExpected.begin() + 3));
  for (std::size_t i = 0; i <= s.size(); ++i) {
    for (std::size_t j = i; j <= s.size(); ++j) {
      INFO("splits at " << i << " and " << j);
      REQUIRE(decode_split(s, {i, j}) == want);
    }
  }
}

TEST_CASE("byte by byte gives the same messages") {
  Run r;
  for (char c : kStream) REQUIRE(r.decoder.feed(std::string_view(&c, 1)));
  r.decoder.finish();
  CHECK(r.got == kExpected);
  CHECK(r.decoder.stats().messages == 5);
  CHECK(r.decoder.stats().message_bytes == kStream.size());
}

TEST_CASE("every header type is decoded with its exact value") {
  const std::string uuid("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\xff", 16);
  const std::string headers =
      header("t", 0, "") + header("f", 1, "") + int_header("b", 2, -2, 1) + int_header("s", 3, -300, 2) +
      int_header("i", 4, 70000, 4) + int_header("l", 5, -5000000000LL, 8) +
      str_header("raw", std::string("\x00\xff", 2), 6) + str_header(":event-type", "chunk") +
      int_header("ts", 8, 1700000000123LL, 8) + header("id", 9, uuid);
  const std::string m = message(headers, "{}");
  for (std::size_t piece : {m.size(), std::size_t{5}, std::size_t{1}}) {
    std::vector<Header> hs;
    std::vector<std::string> names, values;
    std::string event_type;
    Decoder d([&](const Message& msg) {
      event_type = msg.event_type;
      for (const Header& h : msg.headers) {
        hs.push_back(h);
        names.emplace_back(h.name);
        values.emplace_back(h.bytes);
      }
    });
    for (std::size_t i = 0; i < m.size(); i += piece) d.feed(std::string_view(m).substr(i, piece));
    d.finish();
    REQUIRE(d.error() == Error::none);
    REQUIRE(hs.size() == 10);
    CHECK(event_type == "chunk");
    CHECK(names == std::vector<std::string>{"t", "f", "b", "s", "i", "l", "raw", ":event-type", "ts", "id"});
    CHECK(hs[0].type == HeaderType::bool_true);
    CHECK(hs[0].integer == 1);
    CHECK(hs[1].type == HeaderType::bool_false);
    CHECK(hs[1].integer == 0);
    CHECK(hs[2].type == HeaderType::byte);
    CHECK(hs[2].integer == -2);
    CHECK(hs[3].type == HeaderType::int16);
    CHECK(hs[3].integer == -300);
    CHECK(hs[4].type == HeaderType::int32);
    CHECK(hs[4].integer == 70000);
    CHECK(hs[5].type == HeaderType::int64);
    CHECK(hs[5].integer == -5000000000LL);
    CHECK(hs[6].type == HeaderType::bytes);
    CHECK(values[6] == std::string("\x00\xff", 2));
    CHECK(hs[7].type == HeaderType::string);
    CHECK(values[7] == "chunk");
    CHECK(hs[8].type == HeaderType::timestamp);
    CHECK(hs[8].integer == 1700000000123LL);
    CHECK(hs[9].type == HeaderType::uuid);
    CHECK(values[9] == uuid);
  }
}

TEST_CASE("named headers: only string values count, the first of duplicates wins") {
  const std::string headers = str_header(":message-type", "event", 6) +  // bytes, not string
                              str_header(":message-type", "error") + str_header(":message-type", "event") +
                              str_header(":error-code", "InternalFailure");
  Error err{};
  const auto got = decode_split(message(headers, "x"), {}, &err);
  REQUIRE(got.size() == 1);
  CHECK(got[0].message_type == "error");
  CHECK(got[0].error_code == "InternalFailure");
  CHECK(got[0].headers == 4);
  CHECK(err == Error::none);
}

TEST_CASE("a bad prelude CRC stops the decoder before the message") {
  const std::string s = event("a", "1") + event("b", "2", {.prelude_crc = true}) + event("c", "3");
  for (std::size_t piece : {s.size(), std::size_t{3}, std::size_t{1}}) {
    Run r;
    for (std::size_t i = 0; i < s.size(); i += piece) r.decoder.feed(std::string_view(s).substr(i, piece));
    r.decoder.finish();
    REQUIRE(r.got.size() == 1);
    CHECK(r.got[0].event_type == "a");
    CHECK(r.decoder.error() == Error::prelude_crc);
    CHECK(r.decoder.stats().messages == 1);
    CHECK(r.decoder.stats().message_bytes == event("a", "1").size());
    CHECK(r.decoder.stats().discarded_bytes == s.size() - event("a", "1").size());
  }
}

TEST_CASE("a bad message CRC never yields the message") {
  const std::string s = event("a", "1") + event("b", "2", {.message_crc = true}) + event("c", "3");
  for (std::size_t piece : {s.size(), std::size_t{3}, std::size_t{1}}) {
    Run r;
    bool ok = true;
    for (std::size_t i = 0; i < s.size(); i += piece)
      ok = r.decoder.feed(std::string_view(s).substr(i, piece));
    r.decoder.finish();
    CHECK_FALSE(ok);
    REQUIRE(r.got.size() == 1);
    CHECK(r.got[0].event_type == "a");
    CHECK(r.decoder.error() == Error::message_crc);
    CHECK(r.decoder.stats().discarded_bytes == s.size() - event("a", "1").size());
  }
}

TEST_CASE("any single corrupted byte is caught and the message is never delivered") {
  const std::string m = event("contentBlockDelta", R"({"delta":{"text":"Hi"}})");
  for (std::size_t i = 0; i < m.size(); ++i) {
    for (unsigned mask : {0x01u, 0x80u, 0xffu}) {
      std::string bad = m;
      bad[i] = static_cast<char>(static_cast<unsigned char>(bad[i]) ^ mask);
      Run r;
      r.decoder.feed(bad);
      r.decoder.finish();
      INFO("byte " << i << " mask " << mask);
      CHECK(r.got.empty());
      // A length grown past the bytes at hand shows as a cut stream only if its prelude CRC
      // matched, which a changed length cannot do.
      CHECK((r.decoder.error() == Error::prelude_crc || r.decoder.error() == Error::message_crc));
    }
  }
}

TEST_CASE("limits: lengths under the minimum or over the limit stop at the prelude") {
  auto prelude = [](std::uint32_t total, std::uint32_t headers) {
    std::string p;
    put_be(p, total, 4);
    put_be(p, headers, 4);
    put_be(p, crc_of(p), 4);
    return p;
  };
  SECTION("total under 16") {
    Run r;
    CHECK_FALSE(r.decoder.feed(prelude(15, 0)));
    CHECK(r.decoder.error() == Error::too_short);
    CHECK(r.decoder.stats().discarded_bytes == 12);
  }
  SECTION("total over the limit: refused from the 12 prelude bytes alone, nothing buffered") {
    Run r(Limits{.max_message_bytes = 1024});
    CHECK_FALSE(r.decoder.feed(prelude(1025, 0)));
    CHECK(r.decoder.error() == Error::too_long);
    CHECK_FALSE(r.decoder.mid_message());
  }
  SECTION("the default limit is 16 MiB") {
    Run r;
    CHECK(r.decoder.feed(prelude(16u << 20, 0)));  // accepted: now waiting for the body
    CHECK(r.decoder.mid_message());
    Run r2;
    CHECK_FALSE(r2.decoder.feed(prelude((16u << 20) + 1, 0)));
    CHECK(r2.decoder.error() == Error::too_long);
    Run r3;
    CHECK_FALSE(r3.decoder.feed(prelude(0xFFFFFFFFu, 0)));
    CHECK(r3.decoder.error() == Error::too_long);
  }
  SECTION("a message exactly at the limit passes") {
    const std::string m = message(str_header("k", "v"), std::string(100, 'x'));
    Run r(Limits{.max_message_bytes = m.size()});
    CHECK(r.decoder.feed(m));
    CHECK(r.got.size() == 1);
    Run r2(Limits{.max_message_bytes = m.size() - 1});
    CHECK_FALSE(r2.decoder.feed(m));
    CHECK(r2.got.empty());
    CHECK(r2.decoder.error() == Error::too_long);
  }
  SECTION("headers length past the end of the message") {
    Run r;
    CHECK_FALSE(r.decoder.feed(prelude(20, 5)));
    CHECK(r.decoder.error() == Error::bad_headers);
  }
  SECTION("too many headers") {
    std::string hs;
    for (int i = 0; i < 5; ++i) hs += str_header("h" + std::to_string(i), "v");
    Run ok(Limits{.max_headers = 5});
    CHECK(ok.decoder.feed(message(hs, "")));
    CHECK(ok.got.size() == 1);
    Run r(Limits{.max_headers = 4});
    CHECK_FALSE(r.decoder.feed(message(hs, "")));
    CHECK(r.got.empty());
    CHECK(r.decoder.error() == Error::bad_headers);
  }
}

TEST_CASE("malformed headers (with good CRCs) stop the decoder") {
  const std::vector<std::pair<const char*, std::string>> cases{
      {"empty name", header("", 7, std::string("\x00\x01x", 3))},
      {"name past the end", std::string(1, '\x05') + "ab"},
      {"no type byte", std::string(1, '\x02') + "ab"},
      {"unknown type 10", header("n", 10, "")},
      {"unknown type 255", header("n", 255, "")},
      {"string length past the end", header("n", 7, std::string("\x00\x09", 2) + "abc")},
      {"string length cut", header("n", 7, std::string("\x00", 1))},
      {"int32 cut", header("n", 4, std::string("\x00\x01", 2))},
      {"int64 cut", header("n", 5, std::string(7, '\0'))},
      {"uuid cut", header("n", 9, std::string(15, '\0'))},
      {"byte missing", header("n", 2, "")},
  };
  for (const auto& [what, hs] : cases) {
    INFO(what);
    const std::string s = event("before", "1") + message(hs, "payload") + event("after", "2");
    Run r;
    CHECK_FALSE(r.decoder.feed(s));
    r.decoder.finish();
    REQUIRE(r.got.size() == 1);
    CHECK(r.got[0].event_type == "before");
    CHECK(r.decoder.error() == Error::bad_headers);
  }
}

TEST_CASE("a cut stream ends as truncated; a clean end does not") {
  const std::string m = event("a", "payload");
  for (std::size_t cut = 1; cut < m.size(); ++cut) {
    Run r;
    CHECK(r.decoder.feed(std::string_view(m).substr(0, cut)));
    CHECK(r.decoder.mid_message());
    r.decoder.finish();
    CHECK(r.got.empty());
    CHECK(r.decoder.error() == Error::truncated);
    CHECK(r.decoder.stats().discarded_bytes == cut);
  }
  Run r;
  r.decoder.feed(m);
  r.decoder.finish();
  CHECK(r.decoder.error() == Error::none);
  CHECK_FALSE(r.decoder.mid_message());
}

TEST_CASE("after an error, later bytes are only counted") {
  Run r;
  CHECK_FALSE(r.decoder.feed(event("a", "1", {.message_crc = true})));
  const std::string good = event("b", "2");
  CHECK_FALSE(r.decoder.feed(good));
  r.decoder.finish();
  CHECK(r.got.empty());
  CHECK(r.decoder.error() == Error::message_crc);
  CHECK(r.decoder.stats().discarded_bytes == event("a", "1").size() + good.size());
  CHECK(to_string(r.decoder.error()) == std::string("message_crc"));
}

TEST_CASE("a large payload in small pieces") {
  std::string payload;
  for (int i = 0; payload.size() < 200000; ++i) payload += std::to_string(i) + ',';
  const std::string s = event("chunk", payload) + event("chunk", "tail");
  Run r;
  for (std::size_t i = 0; i < s.size(); i += 4093) r.decoder.feed(std::string_view(s).substr(i, 4093));
  r.decoder.finish();
  REQUIRE(r.got.size() == 2);
  CHECK(r.got[0].payload == payload);
  CHECK(r.got[1].payload == "tail");
  CHECK(r.decoder.error() == Error::none);
}

TEST_CASE("error names") {
  CHECK(std::string(to_string(Error::none)) == "none");
  CHECK(std::string(to_string(Error::too_short)) == "too_short");
  CHECK(std::string(to_string(Error::too_long)) == "too_long");
  CHECK(std::string(to_string(Error::prelude_crc)) == "prelude_crc");
  CHECK(std::string(to_string(Error::bad_headers)) == "bad_headers");
  CHECK(std::string(to_string(Error::truncated)) == "truncated");
}
