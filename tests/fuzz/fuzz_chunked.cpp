// libFuzzer entry: the chunked de-framer alone. Input: [piece size byte][chunked body...]; the body
// is decoded whole and in pieces, which must agree on data, end position and status.
#include <string>

#include "fuzz_common.h"
#include "protocols/http1/chunked_decoder.h"

using shadowmeter::http1::ChunkedDecoder;

namespace {

struct Result {
  shadowmeter::fuzz::Hash data;
  std::uint64_t data_bytes = 0;
  std::size_t end = 0;  // input bytes consumed when the decoder stopped
  ChunkedDecoder::Status status = ChunkedDecoder::Status::more;
};

Result run(std::string_view body, std::size_t piece) {
  ChunkedDecoder d(64, 256);
  Result r;
  std::size_t pos = 0;
  while (pos < body.size() && r.status == ChunkedDecoder::Status::more) {
    std::string_view in = body.substr(pos, piece);
    while (!in.empty()) {
      const auto st = d.next(in);
      SM_FUZZ_CHECK(st.consumed <= in.size());
      SM_FUZZ_CHECK(st.consumed > 0 || st.status != ChunkedDecoder::Status::more);
      SM_FUZZ_CHECK(st.data.size() <= st.consumed);
      SM_FUZZ_CHECK(st.data.empty() || (st.data.data() >= in.data() &&
                                        st.data.data() + st.data.size() <= in.data() + st.consumed));
      r.data.bytes(st.data);
      r.data_bytes += st.data.size();
      pos += st.consumed;
      in.remove_prefix(st.consumed);
      r.status = st.status;
      if (st.status != ChunkedDecoder::Status::more) break;
    }
  }
  SM_FUZZ_CHECK(d.status() == r.status);
  r.end = pos;
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  shadowmeter::fuzz::Input in{data, size};
  const std::size_t piece = shadowmeter::fuzz::piece_size(in.byte());
  const std::string_view body = in.rest();
  const Result whole = run(body, body.size() + 1);
  const Result split = run(body, piece);
  const Result bytewise = run(body, 1);
  for (const Result* r : {&split, &bytewise}) {
    SM_FUZZ_CHECK(r->data.h == whole.data.h);
    SM_FUZZ_CHECK(r->data_bytes == whole.data_bytes);
    SM_FUZZ_CHECK(r->end == whole.end);
    SM_FUZZ_CHECK(r->status == whole.status);
  }
  return 0;
}
