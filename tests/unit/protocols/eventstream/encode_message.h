// Builds AWS event-stream messages for tests: headers of every type, lengths and CRCs computed,
// with a way to break each CRC.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace shadowmeter::eventstream::testing {

inline void put_be(std::string& s, std::uint64_t v, int bytes) {
  for (int shift = 8 * (bytes - 1); shift >= 0; shift -= 8)
    s.push_back(static_cast<char>((v >> shift) & 0xFF));
}

inline std::uint32_t crc_of(std::string_view s) {
  return static_cast<std::uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(s.data()), static_cast<uInt>(s.size())));
}

// One encoded header: name length, name, type byte, value.
inline std::string header(std::string_view name, std::uint8_t type, std::string_view value_bytes) {
  std::string h;
  h.push_back(static_cast<char>(name.size()));
  h += name;
  h.push_back(static_cast<char>(type));
  h += value_bytes;
  return h;
}
inline std::string str_header(std::string_view name, std::string_view value, std::uint8_t type = 7) {
  std::string v;
  put_be(v, value.size(), 2);
  v += value;
  return header(name, type, v);
}
inline std::string int_header(std::string_view name, std::uint8_t type, std::int64_t value, int bytes) {
  std::string v;
  put_be(v, static_cast<std::uint64_t>(value), bytes);
  return header(name, type, v);
}

struct Corrupt {
  bool prelude_crc = false;
  bool message_crc = false;
};

// A message from already encoded headers.
inline std::string message(std::string_view headers, std::string_view payload, Corrupt c = {}) {
  std::string m;
  put_be(m, 16 + headers.size() + payload.size(), 4);
  put_be(m, headers.size(), 4);
  put_be(m, crc_of(m) ^ (c.prelude_crc ? 1u : 0u), 4);
  m += headers;
  m += payload;
  put_be(m, crc_of(m) ^ (c.message_crc ? 1u : 0u), 4);
  return m;
}

// An event as AWS services send them: message type, event type and content type headers.
inline std::string event(std::string_view event_type, std::string_view payload, Corrupt c = {}) {
  return message(str_header(":event-type", event_type) + str_header(":content-type", "application/json") +
                     str_header(":message-type", "event"),
                 payload, c);
}

inline std::string exception(std::string_view exception_type, std::string_view payload) {
  return message(str_header(":exception-type", exception_type) +
                     str_header(":content-type", "application/json") +
                     str_header(":message-type", "exception"),
                 payload);
}

}  // namespace shadowmeter::eventstream::testing
