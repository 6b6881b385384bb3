#include "protocols/encoding/zlib_decoder.h"

#include <algorithm>
#include <limits>

namespace shadowmeter::encoding {
namespace {

// A zlib header: compression method 8 with a window of at most 32 KiB, and a header check that
// makes the first two bytes a multiple of 31. Raw deflate data rarely satisfies both.
bool is_zlib_header(unsigned char cmf, unsigned char flg) {
  return (cmf & 0x0f) == 8 && (cmf >> 4) <= 7 && ((cmf << 8) | flg) % 31 == 0;
}

// zlib counts in uInt; feeds are far smaller, but slice anyway rather than truncate a length.
constexpr std::size_t kMaxSlice = std::numeric_limits<uInt>::max() / 2;

}  // namespace

ZlibDecoder::ZlibDecoder(Format format, std::uint64_t max_output)
    : BoundedDecoder(max_output), format_(format) {
  // 32 + 15: gzip with automatic fallback to a zlib header, which a few servers send as "gzip".
  if (format_ == Format::gzip && !init(32 + MAX_WBITS)) status_ = Status::error;
}

ZlibDecoder::~ZlibDecoder() {
  if (initialised_) inflateEnd(&zs_);
}

bool ZlibDecoder::init(int window_bits) {
  zs_ = z_stream{};
  initialised_ = inflateInit2(&zs_, window_bits) == Z_OK;
  return initialised_;
}

Status ZlibDecoder::feed(std::string_view in, const Output& out) {
  if (status_ != Status::ok || in.empty()) return status_;
  any_input_ = true;
  if (!initialised_) {
    // Only deflate gets here: collect the two bytes that tell zlib-wrapped from raw.
    while (sniffed_ < 2 && !in.empty()) {
      sniff_[sniffed_++] = static_cast<unsigned char>(in.front());
      in.remove_prefix(1);
    }
    if (sniffed_ < 2) return status_;
    if (!init(is_zlib_header(sniff_[0], sniff_[1]) ? MAX_WBITS : -MAX_WBITS)) {
      status_ = Status::error;
      return status_;
    }
    const std::string_view head(reinterpret_cast<const char*>(sniff_), 2);
    if (inflate_some(head, out) != Status::ok) return status_;
  }
  while (!in.empty() && status_ == Status::ok) {
    const std::size_t n = std::min(in.size(), kMaxSlice);
    inflate_some(in.substr(0, n), out);
    in.remove_prefix(n);
  }
  return status_;
}

Status ZlibDecoder::inflate_some(std::string_view in, const Output& out) {
  zs_.next_in = reinterpret_cast<const Bytef*>(in.data());
  zs_.avail_in = static_cast<uInt>(in.size());
  while (status_ == Status::ok && !ignore_rest_) {
    if (member_done_) {
      if (zs_.avail_in == 0) break;
      // Concatenated gzip members form one valid gzip stream; anything else after the end is
      // padding some servers add, and is ignored as gzip(1) does.
      if (format_ == Format::gzip && *zs_.next_in == 0x1f && inflateReset(&zs_) == Z_OK) {
        member_done_ = false;
      } else {
        ignore_rest_ = true;
        break;
      }
    }
    zs_.next_out = reinterpret_cast<Bytef*>(buf_.data());
    zs_.avail_out = static_cast<uInt>(buf_.size());
    const int rc = inflate(&zs_, Z_NO_FLUSH);
    // Output decoded before a corruption is still handed on, as it would be had the input been
    // split just before the bad bytes.
    if (!emit(buf_.size() - zs_.avail_out, out)) break;
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
      status_ = Status::error;
      break;
    }
    if (rc == Z_STREAM_END) {
      member_done_ = true;
      continue;
    }
    // Z_BUF_ERROR means no progress was possible: all input used and all output flushed.
    if (rc == Z_BUF_ERROR || (zs_.avail_in == 0 && zs_.avail_out != 0)) break;
  }
  zs_.next_in = nullptr;
  zs_.avail_in = 0;
  return status_;
}

Status ZlibDecoder::finish(const Output& /*out*/) {
  if (status_ != Status::ok || !any_input_) return status_;
  if (!initialised_ || !member_done_) status_ = Status::error;  // cut short
  return status_;
}

}  // namespace shadowmeter::encoding
