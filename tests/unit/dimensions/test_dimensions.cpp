// Custom dimensions and tags (unit_economics:): extraction from headers and body fields, bounds,
// sensitive values as keyed fingerprints, and the capture layer feeding them on HTTP/1.1.
#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "capture/connection_table.h"
#include "dimensions/extractor.h"
#include "dimensions/field_tap.h"
#include "providers/json_scan.h"
#include "providers/request_fields.h"

using namespace shadowmeter;
using dimensions::Extractor;
using dimensions::Kind;
using dimensions::Rule;

namespace {

// A stand-in keyed fingerprint: the real one is HMAC-SHA-256 (attribution::Fingerprinter).
std::string fake_fingerprint(std::string_view v) {
  std::string hex = "0123456789abcdef0123456789abcdef";
  hex[0] = "0123456789abcdef"[v.size() % 16];
  return hex;
}

std::vector<Rule> rules() {
  return {
      {"feature", "x-feature", "", Kind::dimension, false},
      {"customer", "", "metadata.user_id", Kind::dimension, true},
      {"app_feature", "", "metadata.feature", Kind::dimension, false},
      {"tier", "", "metadata.tier", Kind::dimension, false},
      {"request_id", "x-request-id", "", Kind::tag, false},
      {"safety", "", "safety_identifier", Kind::tag, false},
  };
}

std::map<std::string, std::string> as_map(const dimensions::Extracted& x) {
  return {x.attributes.begin(), x.attributes.end()};
}

dimensions::Extracted run(const Extractor& ex, const providers::HeaderList& headers, std::string_view body) {
  auto tap = ex.new_tap();
  REQUIRE(tap);
  providers::RequestFields v(tap.get());  // as a provider scans the body: one scan feeds both
  providers::scan_json(body, v);
  CHECK(tap->fed);
  return ex.extract(headers, tap.get());
}

}  // namespace

TEST_CASE("headers and scalar body fields become dimension and tag attributes") {
  Extractor ex(rules(), fake_fingerprint);
  const providers::HeaderList headers{{"content-type", "application/json"}, {"x-feature", "summarize"},
                                      {"x-request-id", "req-7"}, {"x-feature", "ignored-second"}};
  const auto x = run(ex, headers,
                     R"({"model":"gpt-4o","metadata":{"user_id":"alice@example.com","feature":"search",)"
                     R"("tier":3},"messages":[{"role":"user","content":"secret prompt"}],)"
                     R"("safety_identifier":true})");
  const auto m = as_map(x);
  CHECK(m.at("shadowmeter.dimension.feature") == "summarize");  // the first of a repeated header
  CHECK(m.at("shadowmeter.dimension.app_feature") == "search");
  CHECK(m.at("shadowmeter.dimension.tier") == "3");               // numbers and booleans as text
  CHECK(m.at("shadowmeter.tag.safety") == "true");
  CHECK(m.at("shadowmeter.tag.request_id") == "req-7");
  CHECK(m.at("shadowmeter.dimension.customer") == "fp:" + fake_fingerprint("alice@example.com").substr(0, 16));
  CHECK(m.size() == 6);
  CHECK(x.cut == 0);
  for (const auto& [k, v] : m) CHECK(v.find("secret prompt") == std::string::npos);
}

TEST_CASE("objects, arrays, absent fields and empty values give no attribute") {
  Extractor ex(rules(), fake_fingerprint);
  const auto x = run(ex, {{"x-feature", ""}},
                     R"({"metadata":{"user_id":{"id":"a"},"feature":["a","b"],"tier":null}})");
  CHECK(x.attributes.empty());
}

TEST_CASE("values past 128 bytes are cut at a UTF-8 boundary and counted; sensitive ones are hashed whole") {
  Extractor ex(rules(), fake_fingerprint);
  // 127 ASCII bytes then a 2-byte character: the cut must not split it.
  const std::string long_value = std::string(127, 'a') + "\xc3\xa9" + "tail";
  const auto x = run(ex, {{"x-feature", long_value}},
                     R"({"metadata":{"user_id":")" + std::string(300, 'u') + R"("}})");
  const auto m = as_map(x);
  CHECK(m.at("shadowmeter.dimension.feature") == std::string(127, 'a'));
  CHECK(x.cut == 1);
  // The sensitive value is fingerprinted over its whole 300 bytes (fake: length 300 % 16 = 12 -> 'c').
  CHECK(m.at("shadowmeter.dimension.customer") == "fp:c123456789abcdef");
  CHECK(dimensions::utf8_prefix("ab\xc3\xa9", 3) == std::string_view("ab"));
  CHECK_FALSE(dimensions::utf8_prefix("a\xff", 10).has_value());
  // A header value that is not UTF-8 is not recorded.
  CHECK(as_map(run(ex, {{"x-feature", "bad\xff"}}, "{}")).count("shadowmeter.dimension.feature") == 0);
}

TEST_CASE("a body cut by the capture still yields the fields complete before the cut") {
  Extractor ex(rules(), fake_fingerprint);
  const auto x = run(ex, {}, R"({"metadata":{"feature":"search","tier":"gold"},"messages":[{"content":"abc)");
  const auto m = as_map(x);
  CHECK(m.at("shadowmeter.dimension.app_feature") == "search");
  CHECK(m.at("shadowmeter.dimension.tier") == "gold");
}

TEST_CASE("header-only rules need no body tap") {
  Extractor ex({{"feature", "x-feature", "", Kind::dimension, false}}, fake_fingerprint);
  CHECK_FALSE(ex.new_tap());
  CHECK(as_map(ex.extract({{"x-feature", "chat"}}, nullptr)).at("shadowmeter.dimension.feature") == "chat");
}

TEST_CASE("capture: HTTP/1.1 request headers and body reach the exchange's dimensions") {
  providers::Catalog catalog;
  catalog.add({"openai", "api.openai.com", "openai"});
  providers::Registry registry;
  Extractor ex(rules(), fake_fingerprint);
  std::vector<capture::Exchange> out;
  capture::CaptureCallbacks cb;
  cb.exchange = [&](capture::Exchange&& e) { out.push_back(std::move(e)); };
  cb.body_tap = [&] { return ex.new_tap(); };
  cb.request_fields = [&](const providers::HeaderList& h, capture::Exchange& e) {
    e.dimensions = ex.extract(h, e.body_tap.get()).attributes;
  };
  capture::ConnectionTable table(catalog, registry, {}, std::move(cb));
  const std::string body = R"({"model":"gpt-4o-mini","metadata":{"feature":"search"},"messages":[]})";
  const std::string req = "POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\nX-Feature: summarize\r\n"
                          "Content-Type: application/json\r\nContent-Length: " +
                          std::to_string(body.size()) + "\r\n\r\n" + body;
  const std::string resp_body = R"({"id":"c1","model":"gpt-4o-mini","usage":{"prompt_tokens":3,"completion_tokens":4}})";
  const std::string resp = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                           std::to_string(resp_body.size()) + "\r\n\r\n" + resp_body;
  capture::Chunk c;
  c.key = {42, 0xabc};
  c.fd = 7;
  c.comm = "python3";
  c.direction = capture::Direction::egress;
  c.ts_ns = 1;
  c.data = req;
  table.on_chunk(c);
  c.direction = capture::Direction::ingress;
  c.stream_offset = 0;
  c.ts_ns = 2;
  c.data = resp;
  table.on_chunk(c);
  REQUIRE(out.size() == 1);
  const std::map<std::string, std::string> m(out[0].dimensions.begin(), out[0].dimensions.end());
  CHECK(m.at("shadowmeter.dimension.feature") == "summarize");  // "X-Feature" matched case-insensitively
  CHECK(m.at("shadowmeter.dimension.app_feature") == "search");
  CHECK_FALSE(out[0].body_tap);  // released before the exchange leaves capture
}
