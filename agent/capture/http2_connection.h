// The HTTP/2 side of a captured connection: the passive frame decoder feeds per-stream request and
// response state, each stream becomes one exchange (the same Exchange as over HTTP/1.1, with
// network.protocol.version "2"), and classification uses each stream's :authority.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "capture/chunk.h"
#include "protocols/http1/http1_parser.h"
#include "protocols/http2/decoder.h"

namespace shadowmeter::capture {

class Connection;

class Http2Connection final : public http2::Sink {
 public:
  explicit Http2Connection(Connection& conn);
  ~Http2Connection() override;
  Http2Connection(const Http2Connection&) = delete;
  Http2Connection& operator=(const Http2Connection&) = delete;

  void feed(Direction d, std::string_view bytes);
  // Bytes of one direction were lost: HPACK state is gone, so the connection cannot be followed.
  void gap(Direction d);
  // The connection ended: every stream still open is emitted (truncated / no_response).
  void finish();
  bool failed() const { return decoder_.failed(); }

  // http2::Sink
  void on_headers(http2::Side from, std::uint32_t id, const std::vector<http2::Header>& headers,
                  bool end_stream) override;
  void on_data(http2::Side from, std::uint32_t id, std::string_view payload, bool end_stream) override;
  void on_reset(http2::Side from, std::uint32_t id, std::uint32_t error_code) override;
  void on_failure(http2::Side from, http2::Failure why) override;

  struct Stream;

 private:
  void request_headers(std::uint32_t id, const std::vector<http2::Header>& headers, bool end_stream);
  void response_headers(Stream& s, const std::vector<http2::Header>& headers, bool end_stream);
  void request_data(Stream& s, std::string_view payload);
  void request_end(Stream& s);
  void response_end(std::uint32_t id, Stream& s);
  void report_request(Stream& s);
  // Ends a stream: the provider session finishes and the exchange goes out. `why` is the capture
  // error ("" for a complete exchange).
  void emit(std::uint32_t id, std::string_view why);
  void release(Stream& s);

  Connection& conn_;
  http1::Limits body_limits_;  // Content-Encoding limits for the body pipelines
  http2::Decoder decoder_;
  std::map<std::uint32_t, std::unique_ptr<Stream>> streams_;  // AI streams in flight, by id
};

}  // namespace shadowmeter::capture
