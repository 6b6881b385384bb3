// Internal to the server: a connection accepted beyond max_connections while every open connection is
// busy with a request. It is answered "503 Service Unavailable" with Retry-After at once, without reading
// its request, then closed after a short linger (a close with unread bytes would reset the connection
// and could destroy the answer on its way). Bounded: at most max_connections at a time (so at most twice
// that many sockets in all); beyond that a connection is closed without an answer.
#pragma once

#include <boost/asio/ssl/stream_base.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <array>
#include <chrono>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "server/server_state.h"

namespace shadowmeter::collector::detail {

template <class Stream>
class OverflowReply : public std::enable_shared_from_this<OverflowReply<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, boost::beast::tcp_stream>;
  static constexpr std::chrono::seconds kTimeout{2};

  template <class... Args>
  OverflowReply(std::shared_ptr<ServerState> state, Args&&... args)
      : state_(std::move(state)), stream_(std::forward<Args>(args)...) {
    const std::string retry = std::to_string(state_->options.retry_after.count());
    const std::string body = "{\"code\":14,\"message\":\"too many connections, retry later\"}";
    text_ = "HTTP/1.1 503 Service Unavailable\r\nServer: shadowmeter-collector\r\nContent-Type: application/json\r\n"
            "X-Content-Type-Options: nosniff\r\nRetry-After: " +
            retry + "\r\nConnection: close\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  }
  ~OverflowReply() { state_->overflow_replies.fetch_sub(1); }
  OverflowReply(const OverflowReply&) = delete;
  OverflowReply& operator=(const OverflowReply&) = delete;

  // The caller has counted this reply in state->overflow_replies.
  void start() {
    lowest().expires_after(kTimeout);
    if constexpr (kTls) {
      stream_.async_handshake(boost::asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](const boost::beast::error_code& ec) {
                                if (ec) return self->close();
                                self->write();
                              });
    } else {
      write();
    }
  }

 private:
  boost::beast::tcp_stream& lowest() { return boost::beast::get_lowest_layer(stream_); }

  void write() {
    boost::asio::async_write(stream_, boost::asio::buffer(text_),
                             [self = this->shared_from_this()](const boost::beast::error_code& ec, std::size_t) {
                               if (ec) return self->close();
                               boost::beast::error_code ignored;
                               self->lowest().socket().shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
                               self->drain();
                             });
  }

  // Reads and drops what the client still sends until it closes or the timeout fires.
  void drain() {
    stream_.async_read_some(boost::asio::buffer(buf_),
                            [self = this->shared_from_this()](const boost::beast::error_code& ec, std::size_t) {
                              if (ec) return self->close();
                              self->drain();
                            });
  }

  void close() { lowest().close(); }

  std::shared_ptr<ServerState> state_;
  Stream stream_;
  std::string text_;
  std::array<char, 4096> buf_{};
};

}  // namespace shadowmeter::collector::detail
