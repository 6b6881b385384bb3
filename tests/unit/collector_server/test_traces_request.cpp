// POST /v1/traces without sockets: which media types and encodings pass, and how a decoded body is
// checked and split into calls, heartbeats and gaps (all or nothing).
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "export/otlp_json.h"
#include "server/dimension_drops.h"
#include "server/traces_request.h"

#include <map>

using namespace shadowmeter::collector;
using nlohmann::json;

namespace {

std::string id(int n) {
  char buf[33];
  std::snprintf(buf, sizeof buf, "%032x", n);
  return buf;
}

json call(int n) {
  return {{"shadowmeter.event_id", id(n)},    {"time_unix_nano", 1000 + n},
          {"end_time_unix_nano", 2000 + n},   {"gen_ai.provider.name", "openai"},
          {"gen_ai.request.model", "gpt-4o"}, {"gen_ai.usage.input_tokens", 10}};
}

json record(int n, const char* type) {
  json r = {{"shadowmeter.event_id", id(n)},
            {"time_unix_nano", 5000},
            {"end_time_unix_nano", 5000},
            {"shadowmeter.record.type", type}};
  if (std::string(type) == "gap") r["shadowmeter.gap.dropped_events"] = 4;
  return r;
}

shadowmeter::exporting::OtlpDecodeLimits spans(std::size_t n) {
  shadowmeter::exporting::OtlpDecodeLimits l;
  l.max_spans = n;
  return l;
}

std::string encode(const std::vector<json>& events) {
  shadowmeter::exporting::OtlpResource res;
  res.host_name = "node-1";
  res.service_version = "0.1.0";
  return shadowmeter::exporting::encode_otlp_traces(events, res);
}

}  // namespace

TEST_CASE("content type and encoding") {
  CHECK(check_traces_headers("application/json", "").verdict == HeaderVerdict::ok);
  CHECK(check_traces_headers("Application/JSON; charset=utf-8", "").verdict == HeaderVerdict::ok);
  CHECK(check_traces_headers("application/json", "identity").encoding == BodyEncoding::identity);
  CHECK(check_traces_headers("application/json", "GZIP").encoding == BodyEncoding::gzip);

  const HeaderCheck proto = check_traces_headers("application/x-protobuf", "");
  CHECK(proto.verdict == HeaderVerdict::bad_content_type);
  CHECK_THAT(proto.error, Catch::Contains("JSON only"));
  CHECK(check_traces_headers("", "").verdict == HeaderVerdict::bad_content_type);
  CHECK(check_traces_headers("text/plain", "").verdict == HeaderVerdict::bad_content_type);
  CHECK(check_traces_headers("application/jsonx", "").verdict == HeaderVerdict::bad_content_type);

  const HeaderCheck br = check_traces_headers("application/json", "br");
  CHECK(br.verdict == HeaderVerdict::bad_encoding);
  CHECK_THAT(br.error, Catch::Contains("gzip or identity"));
  CHECK(check_traces_headers("application/json", "deflate").verdict == HeaderVerdict::bad_encoding);
  CHECK(check_traces_headers("application/json", "gzip, br").verdict == HeaderVerdict::bad_encoding);
}

TEST_CASE("event ids are 32 lower-case hex digits") {
  CHECK(is_event_id("0123456789abcdef0123456789abcdef"));
  CHECK_FALSE(is_event_id("0123456789ABCDEF0123456789abcdef"));
  CHECK_FALSE(is_event_id("0123456789abcdef0123456789abcde"));
  CHECK_FALSE(is_event_id("0123456789abcdef0123456789abcdef0"));
  CHECK_FALSE(is_event_id("0123456789abcdeg0123456789abcdef"));
  CHECK_FALSE(is_event_id(""));
}

TEST_CASE("a body is split into calls, heartbeats and gaps") {
  const std::string body = encode({call(1), record(2, "heartbeat"), call(3), record(4, "gap"), call(5)});
  const TracesParse p = parse_traces_body(body, spans(100));
  REQUIRE(p.ok());
  CHECK(p.events() == 5);
  REQUIRE(p.batch.calls.size() == 3);
  REQUIRE(p.batch.heartbeats.size() == 1);
  REQUIRE(p.batch.gaps.size() == 1);
  CHECK(p.batch.calls[0]["shadowmeter.event_id"] == id(1));
  CHECK(p.batch.calls[1]["shadowmeter.event_id"] == id(3));
  CHECK(p.batch.calls[2]["host.name"] == "node-1");  // resource attributes merged
  CHECK(p.batch.calls[2]["time_unix_nano"] == 1005);
  CHECK(p.batch.heartbeats[0]["shadowmeter.event_id"] == id(2));
  CHECK(p.batch.gaps[0]["shadowmeter.gap.dropped_events"] == 4);
  CHECK(p.batch.principal.empty());
}

TEST_CASE("an empty document is fine") {
  const TracesParse p = parse_traces_body("{}", spans(10));
  CHECK(p.ok());
  CHECK(p.events() == 0);
  CHECK(parse_traces_body("{\"resourceSpans\":[]}", spans(10)).ok());
}

TEST_CASE("bad records refuse the whole body") {
  SECTION("upper-case event id") {
    json bad = call(2);
    bad["shadowmeter.event_id"] = "0000000000000000000000000000000A";
    const TracesParse p = parse_traces_body(encode({call(1), bad}), spans(100));
    CHECK_FALSE(p.ok());
    CHECK_THAT(p.error, Catch::Contains("span 1") && Catch::Contains("32 lower-case hex"));
    CHECK(p.events() == 0);
  }
  SECTION("short event id") {
    json bad = call(1);
    bad["shadowmeter.event_id"] = "abc";
    CHECK_FALSE(parse_traces_body(encode({bad}), spans(100)).ok());
  }
  SECTION("unknown record type") {
    const TracesParse p = parse_traces_body(encode({call(1), record(2, "metric")}), spans(100));
    CHECK_FALSE(p.ok());
    CHECK_THAT(p.error, Catch::Contains("unknown shadowmeter.record.type 'metric'"));
    CHECK(p.events() == 0);
  }
  SECTION("record type of the wrong type") {
    json bad = call(1);
    bad["shadowmeter.record.type"] = 3;
    const TracesParse p = parse_traces_body(encode({bad}), spans(100));
    CHECK_FALSE(p.ok());
    CHECK_THAT(p.error, Catch::Contains("must be a string"));
  }
}

TEST_CASE("malformed documents are refused with the decoder's reason") {
  CHECK_THAT(parse_traces_body("{\"resourceSpans\":", spans(10)).error, Catch::Contains("not JSON"));
  CHECK_THAT(parse_traces_body("[]", spans(10)).error, Catch::Contains("JSON object"));
  CHECK_THAT(parse_traces_body("{\"resourceSpans\":{}}", spans(10)).error, Catch::Contains("must be an array"));
  CHECK_FALSE(parse_traces_body("", spans(10)).ok());
  const std::string three = encode({call(1), call(2), call(3)});
  CHECK(parse_traces_body(three, spans(3)).ok());
  const TracesParse over = parse_traces_body(three, spans(2));
  CHECK_FALSE(over.ok());
  CHECK_THAT(over.error, Catch::Contains("more than 2 spans"));
}

namespace {

// One span of an otherwise valid call with `attr` (an OTLP key/value object) added, or with its
// start time replaced when `start` is given.
std::string span_with(const std::string& attr, const std::string& start = "\"1\"") {
  return R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":)" + start +
         R"(,"endTimeUnixNano":"2","attributes":[{"key":"shadowmeter.event_id","value":{"stringValue":")" + id(1) +
         R"("}})" + (attr.empty() ? "" : "," + attr) + "]}]}]}]}";
}

std::string refusal(const std::string& body) {
  const TracesParse p = parse_traces_body(body, spans(10));
  if (p.ok()) return "accepted";
  CHECK(p.failure == shadowmeter::exporting::OtlpFailure::malformed);
  CHECK(p.events() == 0);
  return p.error;
}

std::string attr(const char* key, const std::string& value) {
  return std::string(R"({"key":")") + key + R"(","value":)" + value + "}";
}

}  // namespace

TEST_CASE("numbers out of range are refused naming the field, never thrown") {
  CHECK(refusal(span_with("")) == "accepted");
  CHECK(refusal(span_with("", "\"99999999999999999999\"")) ==
        "span startTimeUnixNano \"99999999999999999999\" is out of the 64-bit range");
  CHECK(refusal(span_with("", "\"18446744073709551615\"")) ==
        "span 0: attribute time_unix_nano: 18446744073709551615 is not nanoseconds since the epoch in 0..2^63-1");
  CHECK_THAT(refusal(span_with(attr("k", R"({"intValue":"99999999999999999999"})"))),
             Catch::Contains("attribute k: intValue \"99999999999999999999\" is not a 64-bit decimal integer"));
  CHECK_THAT(refusal(span_with(attr("k", R"({"intValue":18446744073709551615})"))),
             Catch::Contains("attribute k: intValue 18446744073709551615 is out of the 64-bit range"));
  CHECK_THAT(refusal(span_with(attr("k", R"({"doubleValue":1e400})"))), Catch::Contains("not JSON"));
}

TEST_CASE("typed attributes are range-checked at ingest") {
  const auto why = [](const char* key, const std::string& value) { return refusal(span_with(attr(key, value))); };
  CHECK(why("shadowmeter.cost.usd", R"({"doubleValue":0.25})") == "accepted");
  CHECK(why("shadowmeter.cost.usd", R"({"doubleValue":1.7e308})") ==
        "span 0: attribute shadowmeter.cost.usd: 1.7e+308 is not a cost in 0..1000000 US dollars");
  CHECK_THAT(why("shadowmeter.cost.usd", R"({"doubleValue":-1})"), Catch::Contains("shadowmeter.cost.usd"));
  CHECK_THAT(why("shadowmeter.cost.usd", R"({"stringValue":"NaN"})"),
             Catch::Contains("attribute shadowmeter.cost.usd: \"NaN\" is not a number of US dollars"));
  CHECK(why("gen_ai.usage.input_tokens", R"({"intValue":"12"})") == "accepted");
  CHECK_THAT(why("gen_ai.usage.input_tokens", R"({"intValue":"-5"})"),
             Catch::Contains("attribute gen_ai.usage.input_tokens: -5 is not an integer in 0..1000000000"));
  CHECK_THAT(why("gen_ai.usage.cache_write.input_tokens", R"({"intValue":"9000000000"})"),
             Catch::Contains("gen_ai.usage.cache_write.input_tokens"));
  CHECK_THAT(why("gen_ai.usage.output_tokens", R"({"doubleValue":1.5})"), Catch::Contains("output_tokens"));
  CHECK_THAT(why("shadowmeter.gap.dropped_events", R"({"intValue":"-1"})"), Catch::Contains("dropped_events"));
  CHECK_THAT(why("http.response.status_code", R"({"intValue":"100000"})"), Catch::Contains("status_code"));
  CHECK_THAT(why("shadowmeter.shadow", R"({"stringValue":"yes"})"), Catch::Contains("is not a boolean"));
}

TEST_CASE("heartbeat counters and start time are typed; strings hold no NUL") {
  const auto why = [](const char* key, const std::string& value) { return refusal(span_with(attr(key, value))); };
  CHECK(why("shadowmeter.capture.ringbuf_drops", R"({"intValue":"3"})") == "accepted");
  CHECK(why("shadowmeter.capture.ringbuf_drops", R"({"stringValue":"x"})") ==
        "span 0: attribute shadowmeter.capture.ringbuf_drops: \"x\" is not an integer in 0..2^53");
  CHECK_THAT(why("shadowmeter.agent.start_time_unix_nano", R"({"stringValue":"x"})"),
             Catch::Contains("shadowmeter.agent.start_time_unix_nano"));
  CHECK_THAT(why("shadowmeter.events.usage_source.exact", R"({"intValue":"-2"})"),
             Catch::Contains("usage_source.exact"));
  CHECK(why("shadowmeter.owner", R"({"stringValue":"team\u0000a"})") ==
        "span 0: attribute shadowmeter.owner: the string holds a NUL character");
  CHECK_THAT(refusal(span_with(R"({"key":"a\u0000b","value":{"stringValue":"v"}})")),
             Catch::Contains("the key holds a NUL character"));
  CHECK_THAT(why("big", "{\"stringValue\":\"" + std::string(70000, 'a') + "\"}"),
             Catch::Contains("more than 65536 bytes"));
}

TEST_CASE("nesting depth and decoded size are bounded before the document is built") {
  std::string deep = "{\"resourceSpans\":" + std::string(100, '[') + std::string(100, ']') + "}";
  const TracesParse d = parse_traces_body(deep, spans(10));
  CHECK(d.failure == shadowmeter::exporting::OtlpFailure::malformed);
  CHECK_THAT(d.error, Catch::Contains("nested deeper than 64 levels"));

  std::string wide = "{\"x\":[";
  for (int i = 0; i < 100000; ++i) wide += i ? ",[]" : "[]";
  wide += "]}";
  shadowmeter::exporting::OtlpDecodeLimits small = spans(10);
  small.max_decoded_bytes = 1 << 20;
  const TracesParse w = parse_traces_body(wide, small);
  CHECK(w.failure == shadowmeter::exporting::OtlpFailure::too_large);
  CHECK_THAT(w.error, Catch::Contains("decoded document larger than 1048576 bytes"));

  // The shared budget: what it grants is reported for release; a refusal stops the parse.
  std::uint64_t granted = 0;
  shadowmeter::exporting::OtlpDecodeLimits shared = spans(10);
  shared.reserve = [&granted](std::uint64_t n) {
    if (granted >= (2u << 20)) return false;
    granted += n;
    return true;
  };
  const TracesParse b = parse_traces_body(wide + std::string(0, ' '), shared);
  CHECK(b.failure == shadowmeter::exporting::OtlpFailure::busy);
  CHECK(b.reserved == granted);
  CHECK(granted == (2u << 20));

  shared.reserve = [&granted](std::uint64_t n) {
    granted += n;
    return true;
  };
  granted = 0;
  const TracesParse ok = parse_traces_body(encode({call(1), call(2)}), shared);
  CHECK(ok.ok());
  CHECK(ok.reserved == granted);
  CHECK(granted > 0);
}

TEST_CASE("dimension and tag attributes that break their bounds are dropped; the call is kept") {
  json c = call(1);
  c["shadowmeter.dimension.feature"] = "summarize";
  c["shadowmeter.dimension.Feature"] = "upper-case name";
  c["shadowmeter.dimension." + std::string(33, 'n')] = "name too long";
  c["shadowmeter.dimension.tier"] = 3;
  c["shadowmeter.dimension.empty"] = "";
  c["shadowmeter.dimension.long"] = std::string(129, 'x');
  c["shadowmeter.dimension.max"] = std::string(128, 'x');
  c["shadowmeter.dimension.nul"] = std::string("a\0b", 3);
  c["shadowmeter.tag.request_id"] = "req-1";
  for (int i = 0; i < 9; ++i) c["shadowmeter.dimension.z" + std::to_string(i)] = "v";  // 2 + 9 > 8
  for (int i = 0; i < 4; ++i) c["shadowmeter.tag.t" + std::to_string(i)] = "v";        // 1 + 4 > 4
  const TracesParse p = parse_traces_body(encode({c}), spans(4));
  REQUIRE(p.ok());
  REQUIRE(p.batch.calls.size() == 1);
  const json& kept = p.batch.calls[0];
  CHECK(kept.at("gen_ai.request.model") == "gpt-4o");
  CHECK(kept.at("shadowmeter.dimension.feature") == "summarize");
  CHECK(kept.at("shadowmeter.dimension.max") == std::string(128, 'x'));
  CHECK(kept.at("shadowmeter.tag.request_id") == "req-1");
  std::map<std::string, std::string> why;
  for (const auto& d : p.dropped_attributes) why[d.attribute] = d.reason;
  CHECK(why.at("shadowmeter.dimension.Feature") == std::string("bad_name"));
  CHECK(why.at("shadowmeter.dimension." + std::string(33, 'n')) == std::string("bad_name"));
  CHECK(why.at("shadowmeter.dimension.tier") == std::string("not_a_string"));  // an int from OTLP
  CHECK(why.at("shadowmeter.dimension.empty") == std::string("empty"));
  CHECK(why.at("shadowmeter.dimension.long") == std::string("too_long"));
  CHECK(why.at("shadowmeter.dimension.nul") == std::string("nul_character"));
  // Kept in key order: feature and max with z0..z5 make 8; z6..z8 are too many. t0..t2 with request_id
  // make 4; t3 is one too many.
  CHECK(why.at("shadowmeter.dimension.z6") == std::string("too_many"));
  CHECK(why.at("shadowmeter.dimension.z8") == std::string("too_many"));
  CHECK(why.count("shadowmeter.dimension.z5") == 0);
  CHECK(why.at("shadowmeter.tag.t3") == std::string("too_many"));
  CHECK(why.size() == 10);
  std::size_t dims = 0, tags = 0;
  for (const auto& [k, v] : kept.items()) {
    if (k.rfind("shadowmeter.dimension.", 0) == 0) ++dims;
    if (k.rfind("shadowmeter.tag.", 0) == 0) ++tags;
    CHECK(why.count(k) == 0);
  }
  CHECK(dims == 8);
  CHECK(tags == 4);
}

TEST_CASE("dropped dimension attributes are counted by reason and logged once per name") {
  prometheus::Registry registry;
  DimensionDrops drops(registry);
  const std::vector<DroppedAttribute> batch = {{"shadowmeter.dimension.Bad", "bad_name"},
                                               {"shadowmeter.dimension.long", "too_long"}};
  CHECK(drops.record(batch) == 2);
  CHECK(drops.record(batch) == 0);  // the same names again: counted, not logged
  CHECK(drops.total() == 4);
}
