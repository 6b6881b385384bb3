// Splits a JSON response body, as it arrives, into the values to scan one at a time: the elements
// of a root array one by one (streamGenerateContent without alt=sse answers with one JSON array of
// GenerateContentResponse objects, streamed over time), or else the root value whole. Only the
// value in progress is buffered, so a long stream does not pile up.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace shadowmeter::providers {

class JsonArrayStream {
 public:
  // Called with each complete element of a root array. Not called for a root value that is not an
  // array: that one stays in pending() until the caller takes it at the end of the body.
  using Callback = std::function<void(std::string_view element)>;
  JsonArrayStream(Callback cb, std::size_t max_value_bytes);

  void feed(std::string_view piece);

  bool root_array() const { return mode_ == Mode::array; }
  bool array_closed() const { return closed_; }
  // The value still open: an array element cut by the end of the body, or a non-array root value.
  std::string_view pending() const { return buf_; }
  // A value passed max_value_bytes: pending() holds its first max_value_bytes and nothing after it
  // was read. The body counts as cut.
  bool overflow() const { return overflow_; }
  // Something other than whitespace after the root array's ']'.
  bool trailing_garbage() const { return garbage_; }

 private:
  enum class Mode : unsigned char { start, array, whole };
  void keep(std::string_view bytes);
  void element_done(std::string_view piece, std::size_t begin, std::size_t end);

  Callback cb_;
  std::size_t max_;
  Mode mode_ = Mode::start;
  std::string buf_;
  std::size_t depth_ = 0;  // brackets open inside the current element
  bool in_value_ = false;
  bool in_string_ = false;
  bool escape_ = false;
  bool closed_ = false;
  bool overflow_ = false;
  bool garbage_ = false;
};

}  // namespace shadowmeter::providers
