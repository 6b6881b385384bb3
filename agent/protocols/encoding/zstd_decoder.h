// zstd Content-Encoding decoding through libzstd's streaming API.
#pragma once

#include <zstd.h>

#include <memory>

#include "protocols/encoding/bounded_decoder.h"

namespace shadowmeter::encoding {

class ZstdDecoder final : public BoundedDecoder {
 public:
  explicit ZstdDecoder(std::uint64_t max_output);
  Status feed(std::string_view in, const Output& out) override;
  Status finish(const Output& out) override;

 private:
  struct ContextDeleter {
    void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); }
  };
  std::unique_ptr<ZSTD_DCtx, ContextDeleter> ctx_;
  bool any_input_ = false;
  bool frame_done_ = false;
};

}  // namespace shadowmeter::encoding
