// Incremental HTTP/1.1 message parser for one direction of one connection.
// Bytes arrive in arbitrary splits; the sink sees heads, decoded body bytes and message ends.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/encoding/decoder.h"

namespace shadowmeter::http1 {

struct Header {
  std::string name;  // lower-cased
  std::string value; // trimmed of surrounding whitespace
};

struct MessageHead {
  bool is_request = true;
  std::string method;   // requests
  std::string target;   // requests: request-target as sent
  int status = 0;       // responses
  std::string reason;   // responses
  std::string version;  // "1.1" or "1.0"
  std::vector<Header> headers;

  // First value of a header (name compared case-insensitively), empty view when absent.
  std::string_view header(std::string_view name) const;
};

// What the owner wants done with the body of the message whose head was just parsed.
struct BodyPolicy {
  bool no_body = false;    // e.g. the response to a HEAD request
  bool deliver = true;     // false: frame the body but do not decode or deliver it (cheap skip)
  // The request was CONNECT: a 2xx answer opens a tunnel and the rest of the stream is not HTTP/1.
  // (The response parser cannot see the request; the owner pairs them.)
  bool upgrade_on_2xx = false;
};

enum class Outcome : std::uint8_t {
  complete,          // message ended where its framing says
  truncated,         // the stream ended (eof) before the message did
  gap,               // bytes were lost inside the message (capture gap); parser resynchronised
  malformed,         // framing could not be parsed; parser resynchronised
  decode_error,      // Content-Encoding data was corrupt
  decode_limit,      // decoded size passed the configured limit (e.g. a compression bomb)
  body_limit,        // wire body passed the configured limit; the rest was framed but not delivered
};
const char* to_string(Outcome o);

struct MessageEnd {
  Outcome outcome = Outcome::complete;
  std::uint64_t wire_body_bytes = 0;     // body bytes as framed on the wire (after de-chunking)
  std::uint64_t decoded_body_bytes = 0;  // bytes delivered to on_body
};

class MessageSink {
 public:
  virtual ~MessageSink() = default;
  virtual BodyPolicy on_head(const MessageHead& head) = 0;
  virtual void on_body(std::string_view decoded) = 0;
  virtual void on_end(const MessageEnd& end) = 0;
};

struct Limits {
  std::size_t max_head_bytes = 64 * 1024;          // request/status line + headers
  std::uint64_t max_body_bytes = 64ull << 20;      // wire bytes delivered per message
  std::uint64_t max_decoded_bytes = 64ull << 20;   // after Content-Encoding
  std::size_t max_headers = 256;
};

struct ParserStats {
  std::uint64_t messages = 0;       // heads handed to on_head
  std::uint64_t malformed = 0;      // malformed heads and chunked framing
  std::uint64_t gaps = 0;           // gap() calls
  std::uint64_t truncated = 0;      // messages and partial heads cut by eof()
  std::uint64_t decode_errors = 0;  // bodies whose Content-Encoding failed or is unsupported
  std::uint64_t decode_limits = 0;  // bodies stopped at max_decoded_bytes
  // Bytes discarded while looking for a message start: lines skipped after a gap or malformed
  // input, and the head bytes of a malformed or interrupted head. Lost bytes are not included.
  std::uint64_t resync_skipped_bytes = 0;
  std::uint64_t informational = 0;  // 1xx responses other than 101, consumed without on_head
  std::uint64_t body_limits = 0;
};

enum class Role : std::uint8_t { request, response };

class Parser {
 public:
  Parser(Role role, MessageSink& sink, const Limits& limits);
  ~Parser();
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;

  // Feed the next bytes of the stream. Never throws; bounded memory.
  void feed(std::string_view bytes);
  // `lost` bytes are missing from the stream here. The message in progress (if any) ends with
  // Outcome::gap and the parser skips to the next plausible message start.
  void gap(std::uint64_t lost);
  // The connection closed: a body delimited by close completes, any other message in progress
  // ends truncated.
  void eof();
  // After a 101 Switching Protocols or a CONNECT 2xx, the rest of the stream is not HTTP/1.
  bool upgraded() const;
  // True while the parser holds a partly received message.
  bool in_message() const;
  const ParserStats& stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// True when `bytes` starts like an HTTP/1.x request line (method token + space), for classification.
bool looks_like_request_start(std::string_view bytes);
// True when `bytes` starts like an HTTP/1.x status line ("HTTP/1.").
bool looks_like_response_start(std::string_view bytes);

}  // namespace shadowmeter::http1
