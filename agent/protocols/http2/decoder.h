// Passive HTTP/2 decoder for one connection seen from the side: both directions' bytes are fed in
// (client frames and server frames), header blocks are decompressed with nghttp2's HPACK inflater
// (one per direction, since each side has its own dynamic table), and per-stream events go to a
// Sink. It never answers anything: no flow control, no SETTINGS ACKs, only reading.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace shadowmeter::http2 {

// Who sent the bytes being fed.
enum class Side : std::uint8_t { client, server };

struct Header {
  std::string name;   // as on the wire (HTTP/2 names are lower-case), pseudo-headers keep their ':'
  std::string value;
};

struct Limits {
  std::size_t max_header_block_bytes = 256u << 10;  // encoded HEADERS + CONTINUATION, accumulated
  std::size_t max_header_list_bytes = 256u << 10;   // decoded names + values of one block
  std::uint32_t max_frame_payload = 1u << 24;       // the protocol's own ceiling (2^24 - 1)
  std::uint32_t max_header_table_size = 64u << 10;  // cap on SETTINGS_HEADER_TABLE_SIZE honoured
};

enum class Failure : std::uint8_t {
  none,
  bad_preface,   // client bytes did not start with the connection preface
  frame_error,   // a frame that breaks the framing rules (e.g. CONTINUATION out of place, bad padding)
  hpack_error,   // header block could not be decompressed: HPACK state is lost for good
  limit,         // a Limits bound was passed
  gap,           // bytes were lost (gap()): frame sync and HPACK state cannot be trusted
};
const char* to_string(Failure f);

class Sink {
 public:
  virtual ~Sink() = default;
  // A complete header block (HEADERS + CONTINUATIONs), decoded: request or response headers, or
  // trailers. `end_stream` is the HEADERS frame's END_STREAM flag.
  virtual void on_headers(Side from, std::uint32_t stream_id, const std::vector<Header>& headers,
                          bool end_stream) = 0;
  // DATA payload with padding removed, delivered as it arrives (a frame may come in several pieces;
  // `end_stream` is true only on the last piece of a frame carrying END_STREAM; the piece may be empty).
  virtual void on_data(Side from, std::uint32_t stream_id, std::string_view payload, bool end_stream) = 0;
  // RST_STREAM from either side.
  virtual void on_reset(Side from, std::uint32_t stream_id, std::uint32_t error_code) = 0;
  // GOAWAY from either side.
  virtual void on_goaway(Side /*from*/, std::uint32_t /*last_stream_id*/, std::uint32_t /*error_code*/) {}
  // The decoder stopped for good (it ignores everything fed after this). Called once.
  virtual void on_failure(Side from, Failure why) = 0;
};

struct Stats {
  std::uint64_t frames = 0;
  std::uint64_t header_blocks = 0;
  std::uint64_t data_bytes = 0;     // DATA payload delivered (padding excluded)
  std::uint64_t ignored_frames = 0; // PRIORITY, PING, WINDOW_UPDATE, unknown types, PUSH_PROMISE
};

class Decoder {
 public:
  explicit Decoder(Sink& sink, Limits limits = {});
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // Bytes in order for one direction; any split. The client's bytes must begin with the 24-byte
  // preface "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"; the server's begin with its SETTINGS frame.
  void feed(Side from, std::string_view bytes);
  // Bytes of this direction were lost: the decoder fails with Failure::gap.
  void gap(Side from);
  bool failed() const;
  Failure failure() const;
  const Stats& stats() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// True when `bytes` (the first bytes a client sent) are a prefix of the connection preface, or
// start with all of it.
bool looks_like_preface(std::string_view bytes);

}  // namespace shadowmeter::http2
