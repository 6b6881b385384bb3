#include "protocols/encoding/brotli_decoder.h"

#include <cstdint>

namespace shadowmeter::encoding {

BrotliDecoder::BrotliDecoder(std::uint64_t max_output)
    : BoundedDecoder(max_output), state_(BrotliDecoderCreateInstance(nullptr, nullptr, nullptr)) {
  // The large-window extension stays off, so the ring buffer is at most 16 MiB whatever the
  // stream header asks for.
  if (!state_) status_ = Status::error;
}

Status BrotliDecoder::feed(std::string_view in, const Output& out) {
  if (status_ != Status::ok || in.empty() || done_) return status_;
  any_input_ = true;
  const auto* next_in = reinterpret_cast<const std::uint8_t*>(in.data());
  std::size_t avail_in = in.size();
  while (status_ == Status::ok) {
    auto* next_out = reinterpret_cast<std::uint8_t*>(buf_.data());
    std::size_t avail_out = buf_.size();
    const auto rc =
        BrotliDecoderDecompressStream(state_.get(), &avail_in, &next_in, &avail_out, &next_out, nullptr);
    if (!emit(buf_.size() - avail_out, out)) break;
    if (rc == BROTLI_DECODER_RESULT_ERROR) {
      status_ = Status::error;
      break;
    }
    if (rc == BROTLI_DECODER_RESULT_SUCCESS) {
      done_ = true;  // bytes after the end of the stream are ignored
      break;
    }
    if (rc == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT) break;
  }
  return status_;
}

Status BrotliDecoder::finish(const Output& /*out*/) {
  if (status_ == Status::ok && any_input_ && !done_) status_ = Status::error;  // cut short
  return status_;
}

}  // namespace shadowmeter::encoding
