// Usage events as OTLP/HTTP JSON traces (POST /v1/traces): one span of kind CLIENT per event, named
// "{gen_ai.operation.name} {gen_ai.request.model}", with the event's attributes (../shared/DESIGN.md)
// as span attributes and host/agent as resource attributes. The decoder is what a receiver (the
// collector) uses to get the flat events back.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
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

struct OtlpDecodeLimits {
  std::size_t max_spans = 100000;
  std::size_t max_depth = 64;           // JSON nesting (an OTLP document needs about 10)
  std::uint64_t max_decoded_bytes = 0;  // estimated memory of the parsed document; 0 = no limit
  // Charged per kReserveStep bytes of parsed document (bounded_json.h); false stops with busy.
  std::function<bool(std::uint64_t)> reserve;
};

enum class OtlpFailure {
  none,
  malformed,  // not JSON, nested too deep, wrong types, a number out of range, a span without times or id
  too_large,  // the parsed document would exceed max_decoded_bytes
  busy,       // limits.reserve refused
};

struct OtlpDecoded {
  std::vector<nlohmann::json> events;  // empty unless ok()
  OtlpFailure failure = OtlpFailure::none;
  std::string error;           // what is wrong, naming the field or attribute, when !ok()
  std::uint64_t reserved = 0;  // granted by limits.reserve (the caller releases it, ok or not)
  bool ok() const { return failure == OtlpFailure::none; }
};

// Back to flat events (resource attributes merged into each span's). Never throws for bad input: the
// outcome says what is wrong with the document, or that it holds more than max_spans spans.
OtlpDecoded decode_otlp_traces(std::string_view body, const OtlpDecodeLimits& limits = {});

}  // namespace shadowmeter::exporting
