#include "protocols/encoding/bounded_decoder.h"

#include <string_view>

namespace shadowmeter::encoding {

bool BoundedDecoder::emit(std::size_t n, const Output& out) {
  if (n == 0) return true;
  const std::uint64_t room = max_output_ - produced_;
  if (n > room) {
    if (room > 0) out(std::string_view(buf_.data(), static_cast<std::size_t>(room)));
    produced_ = max_output_;
    status_ = Status::limit;
    return false;
  }
  produced_ += n;
  out(std::string_view(buf_.data(), n));
  return true;
}

}  // namespace shadowmeter::encoding
