// Test-only encoders that build gzip, zlib, raw deflate, brotli and zstd bodies in memory.
#pragma once

#include <brotli/encode.h>
#include <zlib.h>
#include <zstd.h>

#include <stdexcept>
#include <string>
#include <string_view>

namespace shadowmeter::testing {

// window_bits as for deflateInit2: 15 zlib, -15 raw deflate, 31 gzip.
inline std::string zlib_compress(std::string_view in, int window_bits, int level = 6) {
  z_stream zs{};
  if (deflateInit2(&zs, level, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflateInit2");
  std::string out(deflateBound(&zs, static_cast<uLong>(in.size())) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate");
  out.resize(zs.total_out);
  return out;
}

inline std::string gzip(std::string_view in) { return zlib_compress(in, 31); }
inline std::string zlib_wrapped(std::string_view in) { return zlib_compress(in, 15); }
inline std::string raw_deflate(std::string_view in) { return zlib_compress(in, -15); }

inline std::string brotli(std::string_view in) {
  std::size_t size = BrotliEncoderMaxCompressedSize(in.size()) + 64;
  std::string out(size, '\0');
  if (!BrotliEncoderCompress(BROTLI_DEFAULT_QUALITY, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_GENERIC, in.size(),
                             reinterpret_cast<const std::uint8_t*>(in.data()), &size,
                             reinterpret_cast<std::uint8_t*>(out.data())))
    throw std::runtime_error("brotli");
  out.resize(size);
  return out;
}

// One frame; with window_log set the frame is written by the streaming API without a pledged
// size, so its header declares that window.
inline std::string zstd(std::string_view in, int window_log = 0) {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  if (window_log) ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, window_log);
  std::string out(ZSTD_compressBound(in.size()) + 64, '\0');
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  ZSTD_outBuffer output{out.data(), out.size(), 0};
  std::size_t rc = 0;
  if (window_log) {
    rc = ZSTD_compressStream2(cctx, &output, &input, ZSTD_e_continue);
    if (!ZSTD_isError(rc)) rc = ZSTD_compressStream2(cctx, &output, &input, ZSTD_e_end);
  } else {
    rc = ZSTD_compress2(cctx, out.data(), out.size(), in.data(), in.size());
    output.pos = rc;
  }
  ZSTD_freeCCtx(cctx);
  if (ZSTD_isError(rc)) throw std::runtime_error("zstd");
  out.resize(output.pos);
  return out;
}

}  // namespace shadowmeter::testing
