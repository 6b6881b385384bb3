// gzip and deflate Content-Encoding decoding through zlib's streaming inflate.
#pragma once

#include <zlib.h>  // built with ZLIB_CONST (see CMakeLists.txt): next_in points to const bytes

#include "protocols/encoding/bounded_decoder.h"

namespace shadowmeter::encoding {

class ZlibDecoder final : public BoundedDecoder {
 public:
  enum class Format : std::uint8_t { gzip, deflate };
  ZlibDecoder(Format format, std::uint64_t max_output);
  ~ZlibDecoder() override;
  ZlibDecoder(const ZlibDecoder&) = delete;
  ZlibDecoder& operator=(const ZlibDecoder&) = delete;

  Status feed(std::string_view in, const Output& out) override;
  Status finish(const Output& out) override;

 private:
  bool init(int window_bits);
  Status inflate_some(std::string_view in, const Output& out);

  Format format_;
  z_stream zs_{};
  bool initialised_ = false;
  bool any_input_ = false;
  bool member_done_ = false;  // the current gzip member or deflate stream reached its end
  bool ignore_rest_ = false;  // bytes after the end of the compressed data
  // "deflate" is zlib-wrapped by the RFC but raw in many servers: the first two bytes decide.
  unsigned char sniff_[2] = {0, 0};
  std::size_t sniffed_ = 0;
};

}  // namespace shadowmeter::encoding
