// Usage events as OTLP/HTTP JSON traces (POST /v1/traces): one span of kind CLIENT per event, named
// "{gen_ai.operation.name} {gen_ai.request.model}", with the event's attributes (../shared/DESIGN.md)
// as span attributes and host/agent as resource attributes. The decoder is what a receiver (the
// collector) uses to get the flat events back.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace shadowmeter::exporting {

struct OtlpResource {
  std::string host_name;
  std::string service_name = "shadowmeter-agent";
  std::string service_version;
};

// Records that are not AI calls carry this attribute ("heartbeat", "gap"); their span is named
// "shadowmeter.<type>", of kind INTERNAL. A span without it is a usage event.
inline constexpr const char* kRecordTypeKey = "shadowmeter.record.type";

// Attributes that describe the sender, not the call: they go to the resource, not the span.
inline constexpr const char* kResourceKeys[] = {"host.name"};

// `events` are flat objects as exporting::to_json() makes them. The span's trace id is the event id
// (128 bits), its span id the event id's first 64 bits: a redelivered event is the same span.
std::string encode_otlp_traces(const std::vector<nlohmann::json>& events, const OtlpResource& resource);

struct OtlpError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Back to flat events (resource attributes merged into each span's). Throws OtlpError saying what
// is wrong with the document (not JSON, wrong types, a span without times or event id, ...), or
// when it holds more than max_spans spans.
std::vector<nlohmann::json> decode_otlp_traces(std::string_view body, std::size_t max_spans = 100000);

}  // namespace shadowmeter::exporting
