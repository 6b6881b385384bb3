// libFuzzer entry: the SSE parser. Input: [piece size byte][max event selector][stream...]; the
// stream is parsed whole, in pieces and byte by byte, with identical events required.
#include <string>

#include "fuzz_common.h"
#include "protocols/sse/sse_parser.h"

namespace {

struct Result {
  shadowmeter::fuzz::Hash events;
  shadowmeter::sse::Stats stats;
};

Result run(std::string_view stream, std::size_t piece, std::size_t max_event) {
  Result r;
  shadowmeter::sse::Parser p(
      [&](const shadowmeter::sse::Event& e) {
        SM_FUZZ_CHECK(!e.type.empty());
        SM_FUZZ_CHECK(e.data.size() + e.type.size() <= 2 * max_event + 1);
        r.events.bytes("E");
        r.events.bytes(e.type);
        r.events.u64(e.data.size());
        r.events.bytes(e.data);
        r.events.bytes(e.id);
      },
      max_event);
  for (std::size_t i = 0; i < stream.size(); i += piece) p.feed(stream.substr(i, piece));
  p.finish();
  r.stats = p.stats();
  return r;
}

// Gaps: every 0xFF byte (never valid UTF-8) stands for a gap() call, at the same place in all runs.
Result run_with_gaps(std::string_view stream, std::size_t piece, std::size_t max_event) {
  Result r;
  shadowmeter::sse::Parser p(
      [&](const shadowmeter::sse::Event& e) {
        r.events.bytes("E");
        r.events.bytes(e.type);
        r.events.u64(e.data.size());
        r.events.bytes(e.data);
        r.events.bytes(e.id);
      },
      max_event);
  std::size_t start = 0;
  while (start <= stream.size()) {
    const auto gap = stream.find('\xff', start);
    const auto run_end = gap == std::string_view::npos ? stream.size() : gap;
    for (std::size_t i = start; i < run_end; i += piece)
      p.feed(stream.substr(i, std::min(piece, run_end - i)));
    if (gap == std::string_view::npos) break;
    p.gap();
    start = gap + 1;
  }
  p.finish();
  r.stats = p.stats();
  return r;
}

void same(const Result& a, const Result& b) {
  SM_FUZZ_CHECK(a.events.h == b.events.h);
  SM_FUZZ_CHECK(a.stats.events == b.stats.events);
  SM_FUZZ_CHECK(a.stats.oversized == b.stats.oversized);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  shadowmeter::fuzz::Input in{data, size};
  const std::size_t piece = shadowmeter::fuzz::piece_size(in.byte());
  constexpr std::size_t kMax[] = {16, 256, 4096, 1u << 20};
  const std::size_t max_event = kMax[in.byte() & 3];
  const std::string_view stream = in.rest();
  const Result whole = run(stream, stream.size() + 1, max_event);
  same(whole, run(stream, piece, max_event));
  same(whole, run(stream, 1, max_event));
  const Result gaps_whole = run_with_gaps(stream, stream.size() + 1, max_event);
  same(gaps_whole, run_with_gaps(stream, piece, max_event));
  same(gaps_whole, run_with_gaps(stream, 1, max_event));
  return 0;
}
