// libFuzzer entry: what the collector does with a /v1/traces body before it reaches the store. The
// first byte chooses gzip or identity; gzip is inflated within a 1 MiB bound (never allocating past
// it), then the body is decoded and split into calls, heartbeats and gaps. Any input must end in
// "refused with a reason" or a batch whose every record has a valid event id and passes the ingest
// checks (typed, in-range numbers; no NUL; dimension and tag attributes within their bounds); nesting and decoded size are bounded (depth 64, 16 MiB).
#include <string>
#include <vector>

#include "fuzz_common.h"
#include "server/gzip.h"
#include "server/record_check.h"
#include "server/traces_request.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace shadowmeter::collector;
  if (size == 0) return 0;
  constexpr std::size_t kMax = 1u << 20;
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::vector<char> inflated;
  if (data[0] & 1) {
    const GunzipResult g = gunzip_bounded(body, kMax, inflated);
    SM_FUZZ_CHECK(inflated.capacity() <= kMax + 1);
    if (g.status == GunzipStatus::malformed) SM_FUZZ_CHECK(!g.error.empty());
    if (g.status != GunzipStatus::ok) return 0;
    SM_FUZZ_CHECK(inflated.size() <= kMax);
    body = std::string_view(inflated.data(), inflated.size());
  }
  shadowmeter::exporting::OtlpDecodeLimits limits;
  limits.max_spans = 64;
  limits.max_decoded_bytes = 16u << 20;
  const TracesParse p = parse_traces_body(body, limits);
  if (!p.ok()) {
    SM_FUZZ_CHECK(!p.error.empty());
    return 0;
  }
  SM_FUZZ_CHECK(p.events() <= 64);
  for (const auto* list : {&p.batch.calls, &p.batch.heartbeats, &p.batch.gaps})
    for (const auto& e : *list) {
      SM_FUZZ_CHECK(is_event_id(e.at("shadowmeter.event_id").get<std::string>()));
      SM_FUZZ_CHECK(!check_record(e));
      // Dimension and tag attributes that remain keep their bounds (the bad ones were dropped).
      std::size_t dims = 0;
      std::size_t tags = 0;
      for (const auto& [k, v] : e.items()) {
        const bool is_dim = k.rfind("shadowmeter.dimension.", 0) == 0;
        std::size_t& n = is_dim ? dims : tags;
        SM_FUZZ_CHECK(dimension_problem(k, v, n) == nullptr);
        if (is_dim || k.rfind("shadowmeter.tag.", 0) == 0) ++n;
      }
    }
  return 0;
}
