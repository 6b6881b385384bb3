// OTLP/HTTP JSON: the span each event becomes (ids, name, kind, times, typed attributes, status,
// resource), the round trip back to flat events, and what the decoder refuses.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "export/otlp_json.h"

using namespace shadowmeter::exporting;
using nlohmann::json;

namespace {

json event(const std::string& id) {
  return {{"shadowmeter.event_id", id},
          {"time_unix_nano", 1795430550854860778ull},
          {"end_time_unix_nano", 1795430550871182703ull},
          {"host.name", "node-7"},
          {"gen_ai.provider.name", "openai"},
          {"gen_ai.operation.name", "chat"},
          {"gen_ai.request.model", "gpt-4o-mini"},
          {"gen_ai.usage.input_tokens", 1500},
          {"shadowmeter.stream", true},
          {"shadowmeter.cost.usd", 0.0002862},
          {"server.port", 443}};
}

const std::string kId = "0123456789abcdef0123456789abcdef";

}  // namespace

TEST_CASE("encode: one CLIENT span per event, typed attributes, resource, ids from the event id") {
  const std::string body = encode_otlp_traces({event(kId)}, {"node-7", "shadowmeter-agent", "0.1.0"});
  const json doc = json::parse(body);
  const json& rs = doc["resourceSpans"][0];
  const json& res = rs["resource"]["attributes"];
  CHECK(res[0] == json({{"key", "service.name"}, {"value", {{"stringValue", "shadowmeter-agent"}}}}));
  CHECK(res[1] == json({{"key", "service.version"}, {"value", {{"stringValue", "0.1.0"}}}}));
  CHECK(res[2] == json({{"key", "host.name"}, {"value", {{"stringValue", "node-7"}}}}));
  CHECK(rs["scopeSpans"][0]["scope"]["name"] == "shadowmeter");
  const json& span = rs["scopeSpans"][0]["spans"][0];
  CHECK(span["traceId"] == kId);
  CHECK(span["spanId"] == "0123456789abcdef");
  CHECK(span["name"] == "chat gpt-4o-mini");
  CHECK(span["kind"] == 3);
  CHECK(span["startTimeUnixNano"] == "1795430550854860778");
  CHECK(span["endTimeUnixNano"] == "1795430550871182703");
  CHECK_FALSE(span.contains("status"));
  auto attr = [&](const std::string& key) {
    for (const auto& kv : span["attributes"])
      if (kv["key"] == key) return kv["value"];
    return json();
  };
  CHECK(attr("gen_ai.usage.input_tokens") == json({{"intValue", "1500"}}));
  CHECK(attr("shadowmeter.stream") == json({{"boolValue", true}}));
  CHECK(attr("shadowmeter.cost.usd") == json({{"doubleValue", 0.0002862}}));
  CHECK(attr("gen_ai.provider.name") == json({{"stringValue", "openai"}}));
  CHECK(attr("host.name").is_null());        // a resource attribute, not repeated on the span
  CHECK(attr("time_unix_nano").is_null());   // the span's own times
}

TEST_CASE("encode: a failed call has an ERROR status carrying error.type") {
  json e = event(kId);
  e["error.type"] = "429";
  const json span = json::parse(encode_otlp_traces({e}, {}))["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
  CHECK(span["status"] == json({{"code", 2}, {"message", "429"}}));
}

TEST_CASE("decode gives back the flat events, resource attributes merged") {
  json second = event("fedcba9876543210fedcba9876543210");
  second["error.type"] = "truncated";
  const std::vector<json> in{event(kId), second};
  const auto out = decode_otlp_traces(encode_otlp_traces(in, {"node-7", "shadowmeter-agent", "0.1.0"})).events;
  REQUIRE(out.size() == 2);
  CHECK(out[0] == in[0]);
  CHECK(out[1] == in[1]);
}

TEST_CASE("decode accepts what other OTLP senders write: numbers for ints and times, no resource") {
  const auto out = decode_otlp_traces(R"({"resourceSpans":[{"scopeSpans":[{"spans":[{
      "traceId":"x","spanId":"y","name":"n","startTimeUnixNano":5,"endTimeUnixNano":"6",
      "attributes":[{"key":"shadowmeter.event_id","value":{"stringValue":"e1"}},
                    {"key":"gen_ai.usage.output_tokens","value":{"intValue":7}}]}]}]}]})").events;
  REQUIRE(out.size() == 1);
  CHECK(out[0]["time_unix_nano"] == 5);
  CHECK(out[0]["end_time_unix_nano"] == 6);
  CHECK(out[0]["gen_ai.usage.output_tokens"] == 7);
  CHECK(decode_otlp_traces(R"({"resourceSpans":[]})").ok());
  CHECK(decode_otlp_traces(R"({"resourceSpans":[]})").events.empty());
  CHECK(decode_otlp_traces(R"({})").events.empty());
}

TEST_CASE("decode refuses malformed documents with a reason") {
  auto why = [](std::string_view body) {
    OtlpDecodeLimits limits;
    limits.max_spans = 2;
    const OtlpDecoded d = decode_otlp_traces(body, limits);
    if (d.ok()) return std::string("accepted");
    CHECK(d.failure == OtlpFailure::malformed);
    CHECK(d.events.empty());
    return d.error;
  };
  const std::string span_ok =
      R"({"startTimeUnixNano":"1","endTimeUnixNano":"2","attributes":[{"key":"shadowmeter.event_id","value":{"stringValue":"e"}}]})";
  auto doc = [](const std::string& spans) {
    return R"({"resourceSpans":[{"scopeSpans":[{"spans":[)" + spans + "]}]}]}";
  };
  CHECK(why("not json") == "body is not JSON");
  CHECK(why("[1]") == "body must be a JSON object");
  CHECK(why(R"({"resourceSpans":{}})") == "body.resourceSpans must be an array");
  CHECK(why(doc(span_ok)) == "accepted");
  CHECK(why(doc(span_ok + "," + span_ok + "," + span_ok)) == "more than 2 spans");
  CHECK(why(doc(R"({"startTimeUnixNano":"1","endTimeUnixNano":"2","attributes":[]})")) ==
        "span without a shadowmeter.event_id attribute");
  CHECK(why(doc(R"({"attributes":[{"key":"shadowmeter.event_id","value":{"stringValue":"e"}}]})")) ==
        "span without startTimeUnixNano/endTimeUnixNano");
  CHECK(why(doc(R"({"startTimeUnixNano":"-1","endTimeUnixNano":"2","attributes":[{"key":"shadowmeter.event_id","value":{"stringValue":"e"}}]})")) ==
        "span startTimeUnixNano must be a decimal number of nanoseconds");
  CHECK(why(doc(R"({"startTimeUnixNano":"1","endTimeUnixNano":"2","attributes":[{"key":"k","value":{"intValue":"12x"}}]})")) ==
        "attribute k: intValue \"12x\" is not a 64-bit decimal integer");
  CHECK(why(doc(R"({"startTimeUnixNano":"1","endTimeUnixNano":"2","attributes":[{"key":"k","value":{}}]})")) ==
        "attribute k: value must hold exactly one field");
  CHECK(why(doc(R"({"startTimeUnixNano":"1","endTimeUnixNano":"2","attributes":{"k":1}})")) ==
        "span.attributes must be an array");
}
