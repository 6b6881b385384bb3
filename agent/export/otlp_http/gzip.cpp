#include "export/otlp_http/gzip.h"

#include <zlib.h>

#include <algorithm>
#include <limits>

namespace shadowmeter::exporting::otlp_http {

std::optional<std::string> gzip_compress(std::string_view in, int level) {
  if (in.size() >= std::numeric_limits<uInt>::max() / 2) return std::nullopt;
  z_stream zs{};
  constexpr int kGzipWindow = 15 + 16;  // 32 KiB window, gzip header and trailer
  if (deflateInit2(&zs, std::clamp(level, 1, 9), Z_DEFLATED, kGzipWindow, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return std::nullopt;
  // deflateBound is enough for a single Z_FINISH call.
  std::string out(deflateBound(&zs, static_cast<uLong>(in.size())), '\0');
  // zlib's API takes non-const input; deflate never writes through it.
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  out.resize(static_cast<std::size_t>(zs.total_out));
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return std::nullopt;
  return out;
}

}  // namespace shadowmeter::exporting::otlp_http
