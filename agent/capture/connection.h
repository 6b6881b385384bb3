// One TLS connection as seen through SSL_read/SSL_write: both byte streams, their HTTP/1.1
// parsers, and the exchanges in flight (requests waiting for their responses, in order).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "capture/connection_table.h"
#include "protocols/sse/sse_parser.h"

namespace shadowmeter::capture {

class Http2Connection;

class Connection {
 public:
  Connection(ConnectionTable& table, const Chunk& first);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void feed(const Chunk& c);
  // The connection ended: finish bodies delimited by close, emit everything pending.
  void finish(std::uint64_t ts_ns);

  // Set once the connection is known not to be followed; the table then drops it.
  std::optional<Verdict> rejected() const { return rejected_; }
  std::uint64_t last_ns() const { return last_ns_; }
  const ConnKey& key() const { return key_; }

 private:
  friend class Http2Connection;
  struct Pending;
  class RequestSink;
  class ResponseSink;

  void classify_egress(const Chunk& c);
  void feed_direction(Direction d, std::string_view bytes);
  void start_http2(std::string_view first_egress);
  bool start_request_missed(const Chunk& c);
  void report_request(Pending& p);
  void emit_front(const http1::MessageEnd* response_end);
  void release(Pending& p);

  ConnectionTable& table_;
  ConnKey key_;
  std::int32_t fd_ = -1;
  Peer peer_;
  std::string comm_;
  std::uint32_t tap_ = 0;
  std::uint64_t last_ns_ = 0;
  std::uint64_t now_ns_ = 0;  // timestamp of the chunk being fed
  std::uint64_t expected_[2] = {0, 0};
  bool seen_[2] = {false, false};
  bool http1_ = false;  // the egress stream starts like HTTP/1.x
  bool ai_ = false;      // a request head named a host in the AI catalog
  std::optional<Verdict> rejected_;
  std::string sniff_;  // first egress bytes, until they show what protocol this is
  // Bytes received before the first bytes sent were classified (an HTTP/2 server may send its
  // SETTINGS first); handed to the HTTP/2 decoder if the connection turns out to be HTTP/2.
  std::string early_ingress_;
  bool early_ingress_lost_ = false;
  std::unique_ptr<Http2Connection> h2_;
  const providers::Provider* provider_ = nullptr;
  std::deque<std::unique_ptr<Pending>> pending_;
  std::unique_ptr<RequestSink> request_sink_;
  std::unique_ptr<ResponseSink> response_sink_;
  std::unique_ptr<http1::Parser> request_parser_;
  std::unique_ptr<http1::Parser> response_parser_;
};

}  // namespace shadowmeter::capture
