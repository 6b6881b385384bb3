// br Content-Encoding decoding through libbrotlidec's streaming API.
#pragma once

#include <brotli/decode.h>

#include <memory>

#include "protocols/encoding/bounded_decoder.h"

namespace shadowmeter::encoding {

class BrotliDecoder final : public BoundedDecoder {
 public:
  explicit BrotliDecoder(std::uint64_t max_output);
  Status feed(std::string_view in, const Output& out) override;
  Status finish(const Output& out) override;

 private:
  struct StateDeleter {
    void operator()(BrotliDecoderState* s) const { BrotliDecoderDestroyInstance(s); }
  };
  std::unique_ptr<BrotliDecoderState, StateDeleter> state_;
  bool any_input_ = false;
  bool done_ = false;
};

}  // namespace shadowmeter::encoding
