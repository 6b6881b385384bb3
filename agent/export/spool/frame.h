// On-disk formats of the spool: the record frame, segment file names and the ack file.
// Private to the spool; everything little-endian regardless of the host.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace shadowmeter::exporting::spool {

inline constexpr std::uint32_t kRecordMagic = 0x31524d53;  // "SMR1" as bytes on disk
inline constexpr std::size_t kHeaderBytes = 12;            // magic, payload length, payload crc32
// A length above this cannot have been written by any configuration: framing is broken.
inline constexpr std::uint32_t kHardMaxRecordBytes = 1u << 30;
inline constexpr std::uint64_t kHardMaxSegmentBytes = 1ull << 30;

struct RecordHeader {
  std::uint32_t magic = 0;
  std::uint32_t length = 0;
  std::uint32_t crc = 0;
};

void encode_header(char* out, std::uint32_t length, std::uint32_t crc);
RecordHeader decode_header(const char* in);

std::uint32_t crc32_begin();
std::uint32_t crc32_update(std::uint32_t crc, const char* data, std::size_t size);

// "seg-<20 digits>.log"; anything else in the directory is not a segment.
std::string segment_name(std::uint64_t seq);
std::optional<std::uint64_t> parse_segment_name(std::string_view name);

struct Position {
  std::uint64_t seq = 0;     // segment sequence
  std::uint64_t offset = 0;  // byte offset inside that segment
  auto operator<=>(const Position&) const = default;
};

// Batch cursors: the sequence in the high 32 bits, the offset in the low 32 bits.
std::uint64_t encode_cursor(Position p);
Position decode_cursor(std::uint64_t cursor);

// The ack file: magic, sequence, offset, crc32 of those 20 bytes (24 bytes).
inline constexpr std::size_t kAckBytes = 24;
std::string encode_ack(Position p);
std::optional<Position> decode_ack(std::string_view bytes);

}  // namespace shadowmeter::exporting::spool
