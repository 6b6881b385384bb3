#include "export/spool/frame.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>

namespace shadowmeter::exporting::spool {
namespace {

constexpr std::uint32_t kAckMagic = 0x4b414d53;  // "SMAK"

void put_u32(char* out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xffu);
}
void put_u64(char* out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xffu);
}
std::uint32_t get_u32(const char* in) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << (8 * i);
  return v;
}
std::uint64_t get_u64(const char* in) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[i])) << (8 * i);
  return v;
}

}  // namespace

void encode_header(char* out, std::uint32_t length, std::uint32_t crc) {
  put_u32(out, kRecordMagic);
  put_u32(out + 4, length);
  put_u32(out + 8, crc);
}

RecordHeader decode_header(const char* in) {
  return {.magic = get_u32(in), .length = get_u32(in + 4), .crc = get_u32(in + 8)};
}

std::uint32_t crc32_begin() { return static_cast<std::uint32_t>(::crc32(0L, Z_NULL, 0)); }

std::uint32_t crc32_update(std::uint32_t crc, const char* data, std::size_t size) {
  uLong c = crc;
  while (size > 0) {  // zlib takes uInt lengths
    const std::size_t n = std::min<std::size_t>(size, 1u << 30);
    c = ::crc32(c, reinterpret_cast<const Bytef*>(data), static_cast<uInt>(n));
    data += n;
    size -= n;
  }
  return static_cast<std::uint32_t>(c);
}

std::string segment_name(std::uint64_t seq) {
  char name[32];
  std::snprintf(name, sizeof name, "seg-%020llu.log", static_cast<unsigned long long>(seq));
  return name;
}

std::optional<std::uint64_t> parse_segment_name(std::string_view name) {
  constexpr std::string_view kPrefix = "seg-";
  constexpr std::string_view kSuffix = ".log";
  if (name.size() != kPrefix.size() + 20 + kSuffix.size() || !name.starts_with(kPrefix) ||
      !name.ends_with(kSuffix))
    return std::nullopt;
  std::uint64_t seq = 0;
  for (const char c : name.substr(kPrefix.size(), 20)) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (seq > (UINT64_MAX - digit) / 10) return std::nullopt;
    seq = seq * 10 + digit;
  }
  // Cursors hold the sequence in 32 bits; a larger one was not written by this spool.
  if (seq > UINT32_MAX) return std::nullopt;
  return seq;
}

std::uint64_t encode_cursor(Position p) { return (p.seq << 32) | (p.offset & 0xffffffffull); }

Position decode_cursor(std::uint64_t cursor) {
  return {.seq = cursor >> 32, .offset = cursor & 0xffffffffull};
}

std::string encode_ack(Position p) {
  std::string out(kAckBytes, '\0');
  put_u32(out.data(), kAckMagic);
  put_u64(out.data() + 4, p.seq);
  put_u64(out.data() + 12, p.offset);
  put_u32(out.data() + 20, crc32_update(crc32_begin(), out.data(), 20));
  return out;
}

std::optional<Position> decode_ack(std::string_view bytes) {
  if (bytes.size() != kAckBytes || get_u32(bytes.data()) != kAckMagic) return std::nullopt;
  if (get_u32(bytes.data() + 20) != crc32_update(crc32_begin(), bytes.data(), 20)) return std::nullopt;
  const Position p{.seq = get_u64(bytes.data() + 4), .offset = get_u64(bytes.data() + 12)};
  if (p.seq > UINT32_MAX || p.offset > UINT32_MAX) return std::nullopt;
  return p;
}

}  // namespace shadowmeter::exporting::spool
