// POST /v1/traces without sockets: which media types and encodings pass, and how a decoded body is
// checked and split into calls, heartbeats and gaps (all or nothing).
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "export/otlp_json.h"
#include "server/traces_request.h"

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
  const TracesParse p = parse_traces_body(body, 100);
  REQUIRE(p.ok);
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
  const TracesParse p = parse_traces_body("{}", 10);
  CHECK(p.ok);
  CHECK(p.events() == 0);
  CHECK(parse_traces_body("{\"resourceSpans\":[]}", 10).ok);
}

TEST_CASE("bad records refuse the whole body") {
  SECTION("upper-case event id") {
    json bad = call(2);
    bad["shadowmeter.event_id"] = "0000000000000000000000000000000A";
    const TracesParse p = parse_traces_body(encode({call(1), bad}), 100);
    CHECK_FALSE(p.ok);
    CHECK_THAT(p.error, Catch::Contains("span 1") && Catch::Contains("32 lower-case hex"));
    CHECK(p.events() == 0);
  }
  SECTION("short event id") {
    json bad = call(1);
    bad["shadowmeter.event_id"] = "abc";
    CHECK_FALSE(parse_traces_body(encode({bad}), 100).ok);
  }
  SECTION("unknown record type") {
    const TracesParse p = parse_traces_body(encode({call(1), record(2, "metric")}), 100);
    CHECK_FALSE(p.ok);
    CHECK_THAT(p.error, Catch::Contains("unknown shadowmeter.record.type 'metric'"));
    CHECK(p.events() == 0);
  }
  SECTION("record type of the wrong type") {
    json bad = call(1);
    bad["shadowmeter.record.type"] = 3;
    const TracesParse p = parse_traces_body(encode({bad}), 100);
    CHECK_FALSE(p.ok);
    CHECK_THAT(p.error, Catch::Contains("must be a string"));
  }
}

TEST_CASE("malformed documents are refused with the decoder's reason") {
  CHECK_THAT(parse_traces_body("{\"resourceSpans\":", 10).error, Catch::Contains("not JSON"));
  CHECK_THAT(parse_traces_body("[]", 10).error, Catch::Contains("JSON object"));
  CHECK_THAT(parse_traces_body("{\"resourceSpans\":{}}", 10).error, Catch::Contains("must be an array"));
  CHECK_FALSE(parse_traces_body("", 10).ok);
  const std::string three = encode({call(1), call(2), call(3)});
  CHECK(parse_traces_body(three, 3).ok);
  const TracesParse over = parse_traces_body(three, 2);
  CHECK_FALSE(over.ok);
  CHECK_THAT(over.error, Catch::Contains("more than 2 spans"));
}
