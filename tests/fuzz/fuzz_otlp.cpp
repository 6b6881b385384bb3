// libFuzzer entry: the OTLP/HTTP JSON traces decoder (the collector's input). Any body either
// decodes or throws OtlpError; what decodes re-encodes and decodes again to the same events' ids.
#include <string>
#include <vector>

#include "export/otlp_json.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace shadowmeter::exporting;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  std::vector<nlohmann::json> events;
  try {
    events = decode_otlp_traces(body, 64);
  } catch (const OtlpError&) {
    return 0;
  }
  SM_FUZZ_CHECK(events.size() <= 64);
  const auto again = decode_otlp_traces(encode_otlp_traces(events, {"h", "shadowmeter-agent", "1"}), 64);
  SM_FUZZ_CHECK(again.size() == events.size());
  for (std::size_t i = 0; i < events.size(); ++i)
    SM_FUZZ_CHECK(again[i]["shadowmeter.event_id"] == events[i]["shadowmeter.event_id"]);
  return 0;
}
