// libFuzzer entry: the OTLP/HTTP JSON traces decoder (the collector's input). Any body either
// decodes or is refused with a reason (never an exception); what decodes re-encodes and decodes again
// to the same events' ids.
#include <string>
#include <vector>

#include "export/otlp_json.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace shadowmeter::exporting;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  OtlpDecodeLimits limits;
  limits.max_spans = 64;
  limits.max_decoded_bytes = 16u << 20;
  OtlpDecoded decoded = decode_otlp_traces(body, limits);
  if (!decoded.ok()) {
    SM_FUZZ_CHECK(!decoded.error.empty() && decoded.events.empty());
    return 0;
  }
  const std::vector<nlohmann::json>& events = decoded.events;
  SM_FUZZ_CHECK(events.size() <= 64);
  const auto again = decode_otlp_traces(encode_otlp_traces(events, {"h", "shadowmeter-agent", "1"}), limits).events;
  SM_FUZZ_CHECK(again.size() == events.size());
  for (std::size_t i = 0; i < events.size(); ++i)
    SM_FUZZ_CHECK(again[i]["shadowmeter.event_id"] == events[i]["shadowmeter.event_id"]);
  return 0;
}
