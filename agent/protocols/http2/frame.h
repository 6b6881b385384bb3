// HTTP/2 frame layout (RFC 9113 §4.1 and §6): the constants the passive decoder needs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace shadowmeter::http2::frame {

inline constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
inline constexpr std::size_t kHeaderBytes = 9;
inline constexpr std::uint32_t kStreamIdMask = 0x7fffffffu;  // the top bit is reserved
inline constexpr std::size_t kSettingBytes = 6;              // identifier (16) + value (32)
inline constexpr std::uint16_t kSettingsHeaderTableSize = 0x1;
inline constexpr std::uint32_t kDefaultHeaderTableSize = 4096;  // RFC 9113 §6.5.2

enum class Type : std::uint8_t {
  data = 0x0,
  headers = 0x1,
  priority = 0x2,
  rst_stream = 0x3,
  settings = 0x4,
  push_promise = 0x5,
  ping = 0x6,
  goaway = 0x7,
  window_update = 0x8,
  continuation = 0x9,
};

namespace flag {
inline constexpr std::uint8_t end_stream = 0x01;
inline constexpr std::uint8_t ack = 0x01;  // SETTINGS, PING
inline constexpr std::uint8_t end_headers = 0x04;
inline constexpr std::uint8_t padded = 0x08;
inline constexpr std::uint8_t priority = 0x20;
}  // namespace flag

struct FrameHeader {
  std::uint32_t length = 0;
  Type type = Type::data;
  std::uint8_t flags = 0;
  std::uint32_t stream_id = 0;
  bool has(std::uint8_t f) const { return (flags & f) != 0; }
};

inline std::uint32_t read_u32(const unsigned char* p) {
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 |
         std::uint32_t{p[3]};
}

inline FrameHeader parse_header(const unsigned char* p) {
  FrameHeader h;
  h.length = std::uint32_t{p[0]} << 16 | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]};
  h.type = static_cast<Type>(p[3]);
  h.flags = p[4];
  h.stream_id = read_u32(p + 5) & kStreamIdMask;
  return h;
}

}  // namespace shadowmeter::http2::frame
