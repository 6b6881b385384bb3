// Bounded gzip decompression of request bodies (Content-Encoding: gzip): the output never grows past
// the caller's limit, so a small "gzip bomb" costs at most that limit in memory.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace shadowmeter::collector {

enum class GunzipStatus {
  ok,
  too_large,  // the decompressed size passed max_out (decompression stopped right there)
  malformed,  // not gzip, corrupt, or truncated
};

struct GunzipResult {
  GunzipStatus status = GunzipStatus::ok;
  std::string error;  // for malformed: what zlib reported
};

// Decompresses one or more concatenated gzip members (RFC 1952) from `in` into `out` (replacing its
// contents). Inflates in bounded steps and grows `out` to at most max_out + 1 bytes of capacity.
GunzipResult gunzip_bounded(std::string_view in, std::size_t max_out, std::vector<char>& out);

}  // namespace shadowmeter::collector
