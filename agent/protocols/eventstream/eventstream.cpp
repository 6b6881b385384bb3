#include "protocols/eventstream/eventstream.h"

#include <zlib.h>

#include <algorithm>
#include <utility>

namespace shadowmeter::eventstream {
namespace {

constexpr std::size_t kPreludeBytes = 12;   // total length, headers length, prelude CRC
constexpr std::size_t kOverheadBytes = 16;  // prelude and message CRC

std::uint64_t be(std::string_view s, std::size_t at, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

std::uint32_t be32(std::string_view s, std::size_t at) { return static_cast<std::uint32_t>(be(s, at, 4)); }

std::uint32_t crc(std::string_view s) {
  // Messages are at most 4 GiB - 1 bytes (a u32 length), so the size fits zlib's uInt.
  return static_cast<std::uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(s.data()), static_cast<uInt>(s.size())));
}

// Size of a header value of each type that has a fixed size; 0 for types with a length prefix,
// -1 for unknown types.
int fixed_value_size(std::uint8_t type) {
  switch (static_cast<HeaderType>(type)) {
    case HeaderType::bool_true:
    case HeaderType::bool_false:
      return 0;
    case HeaderType::byte:
      return 1;
    case HeaderType::int16:
      return 2;
    case HeaderType::int32:
      return 4;
    case HeaderType::int64:
    case HeaderType::timestamp:
      return 8;
    case HeaderType::uuid:
      return 16;
    case HeaderType::bytes:
    case HeaderType::string:
      return 0;
  }
  return -1;
}

}  // namespace

const char* to_string(Error e) {
  switch (e) {
    case Error::none:
      return "none";
    case Error::too_short:
      return "too_short";
    case Error::too_long:
      return "too_long";
    case Error::prelude_crc:
      return "prelude_crc";
    case Error::message_crc:
      return "message_crc";
    case Error::bad_headers:
      return "bad_headers";
    case Error::truncated:
      return "truncated";
  }
  return "unknown";
}

Decoder::Decoder(Callback cb, Limits limits) : cb_(std::move(cb)), limits_(limits) {}

void Decoder::stop(Error e, std::size_t discarded) {
  error_ = e;
  stats_.discarded_bytes += discarded;
  buf_.clear();
  have_prelude_ = false;
}

bool Decoder::feed(std::string_view in) {
  if (error_ != Error::none) {
    stats_.discarded_bytes += in.size();
    return false;
  }
  while (!in.empty()) {
    if (buf_.empty()) {
      // Whole messages straight from the input, without a copy.
      if (in.size() >= kPreludeBytes) {
        if (!read_prelude(in)) {
          stop(error_, in.size());
          return false;
        }
        if (in.size() >= total_) {
          if (!deliver(in.substr(0, total_))) {
            stop(error_, in.size());
            return false;
          }
          in.remove_prefix(total_);
          have_prelude_ = false;
          continue;
        }
      }
      // The rest is the start of a message; its prelude may already have been checked.
      buf_.assign(in);
      return true;
    }
    const std::size_t want = (have_prelude_ ? std::size_t{total_} : kPreludeBytes) - buf_.size();
    const std::size_t take = std::min(want, in.size());
    buf_.append(in.substr(0, take));
    in.remove_prefix(take);
    if (!have_prelude_) {
      if (buf_.size() < kPreludeBytes) continue;
      if (!read_prelude(buf_)) {
        stop(error_, buf_.size() + in.size());
        return false;
      }
      continue;  // a message is at least 16 bytes: more are needed
    }
    if (buf_.size() == total_) {
      if (!deliver(buf_)) {
        stop(error_, buf_.size() + in.size());
        return false;
      }
      buf_.clear();
      have_prelude_ = false;
    }
  }
  return true;
}

void Decoder::finish() {
  if (error_ == Error::none && !buf_.empty()) stop(Error::truncated, buf_.size());
}

bool Decoder::read_prelude(std::string_view p) {
  const std::uint32_t total = be32(p, 0);
  const std::uint32_t headers_len = be32(p, 4);
  // The CRC first: when it fails, the lengths themselves are not to be trusted.
  if (crc(p.substr(0, 8)) != be32(p, 8)) {
    error_ = Error::prelude_crc;
  } else if (total < kOverheadBytes) {
    error_ = Error::too_short;
  } else if (total > limits_.max_message_bytes) {
    error_ = Error::too_long;
  } else if (headers_len > total - kOverheadBytes) {
    error_ = Error::bad_headers;
  } else {
    total_ = total;
    headers_len_ = headers_len;
    have_prelude_ = true;
    return true;
  }
  return false;
}

bool Decoder::deliver(std::string_view m) {
  // A corrupt message is never handed out, not even its headers.
  if (crc(m.substr(0, m.size() - 4)) != be32(m, m.size() - 4)) {
    error_ = Error::message_crc;
    return false;
  }
  if (!parse_headers(m.substr(kPreludeBytes, headers_len_))) {
    error_ = Error::bad_headers;
    return false;
  }
  Message msg;
  for (const Header& h : headers_) {
    if (h.type != HeaderType::string) continue;
    std::string_view* field = h.name == ":message-type"     ? &msg.message_type
                              : h.name == ":event-type"     ? &msg.event_type
                              : h.name == ":content-type"   ? &msg.content_type
                              : h.name == ":exception-type" ? &msg.exception_type
                              : h.name == ":error-code"     ? &msg.error_code
                                                            : nullptr;
    if (field && field->data() == nullptr) *field = h.bytes;  // the first of duplicates wins
  }
  msg.headers = headers_;
  msg.payload = m.substr(kPreludeBytes + headers_len_, m.size() - kOverheadBytes - headers_len_);
  ++stats_.messages;
  stats_.message_bytes += m.size();
  if (cb_) cb_(msg);
  return true;
}

bool Decoder::parse_headers(std::string_view h) {
  headers_.clear();
  std::size_t i = 0;
  while (i < h.size()) {
    if (headers_.size() >= limits_.max_headers) return false;
    const std::size_t name_len = static_cast<unsigned char>(h[i++]);
    // A name of at least one byte, then the type byte.
    if (name_len == 0 || h.size() - i < name_len + 1) return false;
    Header hd;
    hd.name = h.substr(i, name_len);
    i += name_len;
    const auto type = static_cast<std::uint8_t>(h[i++]);
    const int fixed = fixed_value_size(type);
    if (fixed < 0) return false;
    hd.type = static_cast<HeaderType>(type);
    std::size_t len = static_cast<std::size_t>(fixed);
    if (hd.type == HeaderType::bytes || hd.type == HeaderType::string) {
      if (h.size() - i < 2) return false;
      len = static_cast<std::size_t>(be(h, i, 2));
      i += 2;
    }
    if (h.size() - i < len) return false;
    switch (hd.type) {
      case HeaderType::bool_true:
        hd.integer = 1;
        break;
      case HeaderType::bool_false:
        hd.integer = 0;
        break;
      case HeaderType::byte:
        hd.integer = static_cast<std::int8_t>(be(h, i, 1));
        break;
      case HeaderType::int16:
        hd.integer = static_cast<std::int16_t>(be(h, i, 2));
        break;
      case HeaderType::int32:
        hd.integer = static_cast<std::int32_t>(be(h, i, 4));
        break;
      case HeaderType::int64:
      case HeaderType::timestamp:
        hd.integer = static_cast<std::int64_t>(be(h, i, 8));
        break;
      case HeaderType::bytes:
      case HeaderType::string:
      case HeaderType::uuid:
        hd.bytes = h.substr(i, len);
        break;
    }
    i += len;
    headers_.push_back(hd);
  }
  return true;
}

}  // namespace shadowmeter::eventstream
