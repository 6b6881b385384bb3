// libFuzzer entry: the Content-Encoding decoders. Input: [coding selector][piece size][data...].
// A small output limit makes compression bombs hit it; the output must never pass the limit and
// a valid stream must decode the same whole and in pieces.
#include "fuzz_common.h"
#include "protocols/encoding/decoder.h"

using shadowmeter::encoding::Coding;
using shadowmeter::encoding::Status;

namespace {

constexpr std::uint64_t kMaxOutput = 256 * 1024;

struct Result {
  shadowmeter::fuzz::Hash out;
  std::uint64_t bytes = 0;
  Status feed = Status::ok;
  Status finish = Status::ok;
};

Result run(Coding c, std::string_view in, std::size_t piece) {
  Result r;
  auto d = shadowmeter::encoding::make_decoder(c, kMaxOutput);
  SM_FUZZ_CHECK(d != nullptr);
  const shadowmeter::encoding::Decoder::Output out = [&](std::string_view s) {
    SM_FUZZ_CHECK(!s.empty());
    r.bytes += s.size();
    r.out.bytes(s);
  };
  for (std::size_t i = 0; i < in.size(); i += piece) {
    const Status st = d->feed(in.substr(i, piece), out);
    // Sticky: once failed or limited, a decoder stays so.
    SM_FUZZ_CHECK(r.feed == Status::ok || st == r.feed);
    r.feed = st;
  }
  r.finish = d->finish(out);
  SM_FUZZ_CHECK(r.feed == Status::ok || r.finish == r.feed);
  SM_FUZZ_CHECK(r.bytes == d->produced());
  SM_FUZZ_CHECK(r.bytes <= kMaxOutput);
  SM_FUZZ_CHECK(r.feed != Status::limit || r.bytes == kMaxOutput);
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  shadowmeter::fuzz::Input in{data, size};
  constexpr Coding kCodings[] = {Coding::gzip, Coding::deflate, Coding::br, Coding::zstd};
  const Coding c = kCodings[in.byte() & 3];
  const std::size_t piece = shadowmeter::fuzz::piece_size(in.byte());
  const std::string_view body = in.rest();
  const Result whole = run(c, body, body.size() + 1);
  const Result split = run(c, body, piece);
  if (whole.feed == Status::ok && whole.finish == Status::ok) {
    // Valid streams decode identically however they are split.
    SM_FUZZ_CHECK(split.feed == Status::ok && split.finish == Status::ok);
    SM_FUZZ_CHECK(split.bytes == whole.bytes);
    SM_FUZZ_CHECK(split.out.h == whole.out.h);
  }
  return 0;
}
