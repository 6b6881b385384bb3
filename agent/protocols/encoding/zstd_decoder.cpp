#include "protocols/encoding/zstd_decoder.h"

namespace shadowmeter::encoding {
namespace {
// RFC 8878 section 3.1.1.1.2: HTTP decoders need windows up to 8 MiB only. Refusing larger ones
// bounds the memory one connection can make us allocate.
constexpr int kWindowLogMax = 23;
}  // namespace

ZstdDecoder::ZstdDecoder(std::uint64_t max_output) : BoundedDecoder(max_output), ctx_(ZSTD_createDCtx()) {
  if (!ctx_ || ZSTD_isError(ZSTD_DCtx_setParameter(ctx_.get(), ZSTD_d_windowLogMax, kWindowLogMax)))
    status_ = Status::error;
}

Status ZstdDecoder::feed(std::string_view in, const Output& out) {
  if (status_ != Status::ok || in.empty()) return status_;
  any_input_ = true;
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  while (status_ == Status::ok) {
    ZSTD_outBuffer output{buf_.data(), buf_.size(), 0};
    const std::size_t consumed_before = input.pos;
    const std::size_t rc = ZSTD_decompressStream(ctx_.get(), &output, &input);
    if (ZSTD_isError(rc)) {
      status_ = Status::error;
      break;
    }
    // 0 means a frame just ended; more frames may follow (concatenated frames are one stream).
    // A call that moved nothing only hints at the next frame's header and changes nothing.
    if (input.pos != consumed_before || output.pos != 0) frame_done_ = rc == 0;
    if (!emit(output.pos, out)) break;
    // An output buffer left partly empty means everything decodable so far was flushed.
    if (input.pos == input.size && output.pos < output.size) break;
  }
  return status_;
}

Status ZstdDecoder::finish(const Output& /*out*/) {
  if (status_ == Status::ok && any_input_ && !frame_done_) status_ = Status::error;  // cut short
  return status_;
}

}  // namespace shadowmeter::encoding
