// Incremental decoder for application/vnd.amazon.eventstream, the binary framing of AWS streaming
// responses (Bedrock ConverseStream and InvokeModelWithResponseStream).
//
// A message is: total length (u32 BE, counts the whole message) | headers length (u32 BE) |
// prelude CRC32 (over the 8 bytes before it) | headers | payload | message CRC32 (over everything
// before it). CRCs are the IEEE/gzip CRC32. The decoder stops for good at the first corrupt message:
// after a bad length or CRC there is no trustworthy way to find the next message boundary.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace shadowmeter::eventstream {

enum class HeaderType : std::uint8_t {
  bool_true = 0,
  bool_false = 1,
  byte = 2,
  int16 = 3,
  int32 = 4,
  int64 = 5,
  bytes = 6,
  string = 7,
  timestamp = 8,  // milliseconds since the epoch
  uuid = 9,
};

struct Header {
  std::string_view name;
  HeaderType type = HeaderType::string;
  std::int64_t integer = 0;  // bool (1/0), byte, int16, int32, int64, timestamp
  std::string_view bytes;    // bytes, string, uuid (16 bytes)
};

// Views into the decoder's buffer or the fed bytes: valid only during the callback.
struct Message {
  std::string_view message_type;    // ":message-type": "event", "exception" or "error"
  std::string_view event_type;      // ":event-type" of events
  std::string_view content_type;    // ":content-type"
  std::string_view exception_type;  // ":exception-type" of exceptions
  std::string_view error_code;      // ":error-code" of errors
  std::span<const Header> headers;  // every header, in wire order
  std::string_view payload;
};

enum class Error : std::uint8_t {
  none,
  too_short,    // total length under the 16-byte minimum
  too_long,     // total length over the configured limit
  prelude_crc,  // prelude CRC mismatch
  message_crc,  // message CRC mismatch
  bad_headers,  // headers length past the message, a header cut short, unknown type, too many headers
  truncated,    // finish() with part of a message still buffered (the stream was cut)
};
const char* to_string(Error e);

struct Limits {
  std::size_t max_message_bytes = 16u << 20;
  std::size_t max_headers = 128;  // per message; real messages carry three or four
};

struct Stats {
  std::uint64_t messages = 0;         // delivered to the callback
  std::uint64_t message_bytes = 0;    // bytes of the delivered messages
  std::uint64_t discarded_bytes = 0;  // bytes of the corrupt message and everything after it
};

class Decoder {
 public:
  using Callback = std::function<void(const Message&)>;
  explicit Decoder(Callback cb, Limits limits = {});

  // Bytes in any split. Returns false once the decoder has stopped on an error; later bytes are
  // only counted. The callback must not feed this decoder.
  bool feed(std::string_view bytes);
  // End of the stream: a partly received message becomes Error::truncated.
  void finish();

  Error error() const { return error_; }
  bool mid_message() const { return !buf_.empty(); }
  const Stats& stats() const { return stats_; }

 private:
  bool read_prelude(std::string_view prelude);
  bool deliver(std::string_view message);
  bool parse_headers(std::string_view h);
  void stop(Error e, std::size_t discarded);

  Callback cb_;
  Limits limits_;
  std::string buf_;  // a message received in part; at most max_message_bytes
  std::vector<Header> headers_;
  std::uint32_t total_ = 0;  // total length of the message in buf_, once its prelude is known
  std::uint32_t headers_len_ = 0;
  bool have_prelude_ = false;
  Error error_ = Error::none;
  Stats stats_;
};

}  // namespace shadowmeter::eventstream
