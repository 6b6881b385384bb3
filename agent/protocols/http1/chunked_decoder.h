// De-chunking of an HTTP/1.1 "Transfer-Encoding: chunked" body, byte-split safe and allocation free.
// Kept apart from the message parser so it can be tested and fuzzed alone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace shadowmeter::http1 {

class ChunkedDecoder {
 public:
  enum class Status : std::uint8_t {
    more,   // call again with the rest of the input (or with the next input)
    done,   // last chunk, trailers and final line end consumed; the rest is the next message
    error,  // not chunked framing; the byte that broke it is included in `consumed`
  };
  struct Step {
    std::size_t consumed = 0;  // input bytes used by this step
    std::string_view data;     // chunk data found in those bytes: a view into the input
    Status status = Status::more;
  };

  // Extensions and trailers are skipped, never stored; these bound how long they may run.
  explicit ChunkedDecoder(std::size_t max_line_bytes = 4096, std::size_t max_trailer_bytes = 64 * 1024)
      : max_line_bytes_(max_line_bytes), max_trailer_bytes_(max_trailer_bytes) {}

  // Consumes input up to and including at most one piece of chunk data, the end of the body, or
  // the first invalid byte. Loop until `consumed` reaches the input size or the status is not more.
  Step next(std::string_view in);
  void reset();
  Status status() const;

  // Largest chunk-size accepted: 15 hex digits. Anything longer is an attack or garbage.
  static constexpr std::size_t kMaxSizeDigits = 15;

 private:
  enum class State : std::uint8_t {
    size,          // chunk-size hex digits
    extension,     // after the size: BWS and ";ext" until the line end
    size_lf,       // CR seen at the end of the size line
    data,          // `remaining_` bytes of chunk data
    data_cr,       // CRLF expected after the data
    data_lf,       // CR seen after the data
    trailer,       // at the start of a trailer line or of the final empty line
    trailer_line,  // inside a trailer field line
    final_lf,      // CR seen on the final empty line
    done,
    error,
  };
  Step fail(std::size_t consumed);

  std::size_t max_line_bytes_;
  std::size_t max_trailer_bytes_;
  State state_ = State::size;
  std::uint64_t remaining_ = 0;
  std::size_t digits_ = 0;
  std::size_t line_bytes_ = 0;
  std::size_t trailer_bytes_ = 0;
};

}  // namespace shadowmeter::http1
