// A Beast request body that holds at most `limit` bytes and never reserves more: Beast's own bodies grow
// geometrically (up to twice the final size) for chunked requests, which a 20 MiB limit turns into
// 40 MiB per connection.
#pragma once

#include <algorithm>
#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/optional.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace shadowmeter::collector {

struct BoundedBody {
  struct value_type {
    std::vector<char> data;
    std::uint64_t limit = 0;  // set before reading; the parser's body_limit should say the same
    std::string_view view() const { return {data.data(), data.size()}; }
  };

  static std::uint64_t size(const value_type& body) { return body.data.size(); }

  class reader {
   public:
    template <bool isRequest, class Fields>
    reader(boost::beast::http::header<isRequest, Fields>&, value_type& body) : body_(body) {}

    void init(const boost::optional<std::uint64_t>& length, boost::beast::error_code& ec) {
      ec = {};
      if (!length) return;
      if (*length > body_.limit) {
        ec = boost::beast::http::error::body_limit;
        return;
      }
      body_.data.reserve(static_cast<std::size_t>(*length));
    }

    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, boost::beast::error_code& ec) {
      const std::size_t n = boost::beast::buffer_bytes(buffers);
      std::vector<char>& d = body_.data;
      if (n > body_.limit - std::min<std::uint64_t>(body_.limit, d.size())) {
        ec = boost::beast::http::error::body_limit;
        return 0;
      }
      const std::size_t need = d.size() + n;
      if (need > d.capacity()) {
        const auto cap_limit = static_cast<std::size_t>(body_.limit);
        d.reserve(std::max(need, std::min(cap_limit, std::max<std::size_t>(d.capacity() * 2, 16384))));
      }
      const std::size_t len = d.size();
      d.resize(need);
      ec = {};
      return boost::asio::buffer_copy(boost::asio::buffer(d.data() + len, n), buffers);
    }

    void finish(boost::beast::error_code& ec) { ec = {}; }

   private:
    value_type& body_;
  };
};

}  // namespace shadowmeter::collector
