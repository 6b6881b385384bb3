#include "server/gzip.h"

#include <zlib.h>

#include <algorithm>
#include <climits>

namespace shadowmeter::collector {
namespace {

constexpr std::size_t kFirstStep = 64 * 1024;

// zlib's stream state, ended on every path.
class Inflater {
 public:
  Inflater() { ok_ = inflateInit2(&zs_, 15 + 16) == Z_OK; }  // 15 + 16: gzip wrapper only
  ~Inflater() {
    if (ok_) inflateEnd(&zs_);
  }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;
  bool ok() const { return ok_; }
  z_stream& zs() { return zs_; }

 private:
  z_stream zs_{};
  bool ok_ = false;
};

GunzipResult malformed(const char* why) { return {GunzipStatus::malformed, why}; }

}  // namespace

GunzipResult gunzip_bounded(std::string_view in, std::size_t max_out, std::vector<char>& out) {
  out.clear();
  if (in.empty()) return malformed("empty body");
  Inflater inflater;
  if (!inflater.ok()) return malformed("cannot initialise zlib");
  z_stream& zs = inflater.zs();
  // zlib counts in uInt; the body limit keeps `in` far below 4 GiB, but feed it in slices anyway.
  std::size_t consumed = 0;
  const std::size_t cap_limit = max_out + 1;  // one byte more than allowed tells "too large" apart
  bool member_done = false;
  for (;;) {
    if (zs.avail_in == 0 && consumed < in.size()) {
      const std::size_t n = std::min<std::size_t>(in.size() - consumed, UINT_MAX);
      // zlib's next_in is not const-qualified in older headers; it never writes through it.
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + consumed));
      zs.avail_in = static_cast<uInt>(n);
      consumed += n;
    }
    if (member_done) {
      // Another gzip member follows (RFC 1952 allows concatenation); anything else is garbage.
      if (zs.avail_in == 0) return {};
      if (inflateReset(&zs) != Z_OK) return malformed("cannot reset zlib");
      member_done = false;
    }
    if (out.size() == out.capacity()) {
      if (out.capacity() >= cap_limit) return {GunzipStatus::too_large, {}};
      // Exact reserve (std::vector allocates what it is asked for): doubling, capped at the limit.
      out.reserve(std::min(cap_limit, std::max(kFirstStep, out.capacity() * 2)));
    }
    const std::size_t before = out.size();
    const std::size_t room = std::min<std::size_t>(out.capacity() - before, UINT_MAX);
    out.resize(before + room);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + before);
    zs.avail_out = static_cast<uInt>(room);
    const int rc = inflate(&zs, Z_NO_FLUSH);
    out.resize(before + (room - zs.avail_out));
    if (out.size() > max_out) return {GunzipStatus::too_large, {}};
    if (rc == Z_STREAM_END) {
      member_done = true;
      continue;
    }
    if (rc == Z_BUF_ERROR) {
      // No progress possible: out of input before the end of the member, or out of output space
      // (handled by growing above).
      if (zs.avail_in == 0 && consumed == in.size()) return malformed("truncated gzip data");
      continue;
    }
    if (rc != Z_OK) return malformed(zs.msg != nullptr ? zs.msg : "corrupt gzip data");
    if (zs.avail_in == 0 && consumed == in.size() && zs.avail_out != 0)
      return malformed("truncated gzip data");
  }
}

}  // namespace shadowmeter::collector
