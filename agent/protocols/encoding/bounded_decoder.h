// Shared base of the Content-Encoding decoders: the fixed output buffer and the output limit.
// Each coding's library writes into buf_; emit() hands the bytes on, clipped at max_output.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "protocols/encoding/decoder.h"

namespace shadowmeter::encoding {

class BoundedDecoder : public Decoder {
 public:
  explicit BoundedDecoder(std::uint64_t max_output) : max_output_(max_output) {}
  std::uint64_t produced() const final { return produced_; }

 protected:
  // 16 KiB per decoder: large enough that a feed costs few library calls, small enough to keep
  // per-connection memory low.
  static constexpr std::size_t kBufferSize = 16 * 1024;

  // Passes the first `n` bytes of buf_ to `out`. Output past max_output is cut off exactly at the
  // limit (the caller then sees precisely max_output bytes) and the decoder enters Status::limit.
  bool emit(std::size_t n, const Output& out);

  std::array<char, kBufferSize> buf_{};
  Status status_ = Status::ok;

 private:
  std::uint64_t max_output_;
  std::uint64_t produced_ = 0;
};

}  // namespace shadowmeter::encoding
