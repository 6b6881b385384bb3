#include "protocols/http1/chunked_decoder.h"

#include <algorithm>

namespace shadowmeter::http1 {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

void ChunkedDecoder::reset() {
  state_ = State::size;
  remaining_ = 0;
  digits_ = 0;
  line_bytes_ = 0;
  trailer_bytes_ = 0;
}

ChunkedDecoder::Status ChunkedDecoder::status() const {
  if (state_ == State::done) return Status::done;
  if (state_ == State::error) return Status::error;
  return Status::more;
}

ChunkedDecoder::Step ChunkedDecoder::fail(std::size_t consumed) {
  state_ = State::error;
  return {consumed, {}, Status::error};
}

ChunkedDecoder::Step ChunkedDecoder::next(std::string_view in) {
  std::size_t i = 0;
  while (i < in.size()) {
    const char c = in[i];
    switch (state_) {
      case State::size: {
        const int v = hex_value(c);
        if (v >= 0) {
          if (++digits_ > kMaxSizeDigits) return fail(i + 1);
          remaining_ = remaining_ * 16 + static_cast<std::uint64_t>(v);
          ++i;
          break;
        }
        if (digits_ == 0) return fail(i + 1);
        if (c == '\r') {
          state_ = State::size_lf;
        } else if (c == '\n') {
          state_ = remaining_ == 0 ? State::trailer : State::data;
        } else if (c == ';' || c == ' ' || c == '\t') {
          state_ = State::extension;
          line_bytes_ = 0;
        } else {
          return fail(i + 1);
        }
        ++i;
        break;
      }
      case State::extension: {
        // Extensions carry nothing we use; skip them without storing, but only so far.
        const auto end = in.find_first_of("\r\n", i);
        const std::size_t stop = end == std::string_view::npos ? in.size() : end;
        // Fail on the first byte past the bound, wherever the input was split.
        if (stop - i > max_line_bytes_ - line_bytes_) return fail(i + (max_line_bytes_ - line_bytes_) + 1);
        line_bytes_ += stop - i;
        i = stop;
        if (i < in.size()) {
          state_ = in[i] == '\r' ? State::size_lf : (remaining_ == 0 ? State::trailer : State::data);
          ++i;
        }
        break;
      }
      case State::size_lf:
        if (c != '\n') return fail(i + 1);
        state_ = remaining_ == 0 ? State::trailer : State::data;
        ++i;
        break;
      case State::data: {
        const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, in.size() - i));
        remaining_ -= n;
        if (remaining_ == 0) state_ = State::data_cr;
        return {i + n, in.substr(i, n), Status::more};
      }
      case State::data_cr:
        if (c == '\r') {
          state_ = State::data_lf;
        } else if (c == '\n') {
          state_ = State::size;
          digits_ = 0;
        } else {
          return fail(i + 1);
        }
        ++i;
        break;
      case State::data_lf:
        if (c != '\n') return fail(i + 1);
        state_ = State::size;
        digits_ = 0;
        ++i;
        break;
      case State::trailer:
        ++i;
        if (c == '\n') {
          state_ = State::done;
          return {i, {}, Status::done};
        }
        if (++trailer_bytes_ > max_trailer_bytes_) return fail(i);
        state_ = c == '\r' ? State::final_lf : State::trailer_line;
        break;
      case State::trailer_line: {
        const auto end = in.find('\n', i);
        const std::size_t stop = end == std::string_view::npos ? in.size() : end + 1;
        if (stop - i > max_trailer_bytes_ - trailer_bytes_)
          return fail(i + (max_trailer_bytes_ - trailer_bytes_) + 1);
        trailer_bytes_ += stop - i;
        i = stop;
        if (end != std::string_view::npos) state_ = State::trailer;
        break;
      }
      case State::final_lf:
        if (c != '\n') return fail(i + 1);
        state_ = State::done;
        return {i + 1, {}, Status::done};
      case State::done:
        return {i, {}, Status::done};
      case State::error:
        return {i, {}, Status::error};
    }
  }
  return {i, {}, status()};
}

}  // namespace shadowmeter::http1
