// libFuzzer entry: the AWS event-stream decoder. Input: [piece size][mode][stream]. Mode bits 0-1
// pick the message size limit, bits 2-3 the header limit, and bit 4 has the harness rewrite both
// CRCs of every message it can walk to, so that mutations reach header and payload parsing instead
// of stopping at a CRC. The stream is decoded whole, in pieces and byte by byte, with identical
// messages, error and stats required.
#include <zlib.h>

#include <string>

#include "fuzz_common.h"
#include "protocols/eventstream/eventstream.h"

namespace {

namespace es = shadowmeter::eventstream;

struct Result {
  shadowmeter::fuzz::Hash messages;
  es::Error error = es::Error::none;
  es::Stats stats;
};

std::uint32_t be32(const std::string& s, std::size_t at) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

void put_be32(std::string& s, std::size_t at, std::uint32_t v) {
  for (std::size_t i = 0; i < 4; ++i) s[at + i] = static_cast<char>((v >> (24 - 8 * i)) & 0xFF);
}

std::uint32_t crc(const std::string& s, std::size_t at, std::size_t n) {
  return static_cast<std::uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(s.data() + at), static_cast<uInt>(n)));
}

// Makes every message that the lengths let us walk to carry correct CRCs.
void fix_crcs(std::string& s) {
  std::size_t at = 0;
  while (s.size() - at >= 12) {
    const std::uint32_t total = be32(s, at);
    put_be32(s, at + 8, crc(s, at, 8));
    if (total < 16 || total > s.size() - at) break;
    put_be32(s, at + total - 4, crc(s, at, total - 4));
    at += total;
  }
}

Result run(std::string_view stream, std::size_t piece, es::Limits limits) {
  Result r;
  bool stopped = false;
  es::Decoder d(
      [&](const es::Message& m) {
        SM_FUZZ_CHECK(!stopped);
        SM_FUZZ_CHECK(m.payload.size() + 16 <= limits.max_message_bytes);
        SM_FUZZ_CHECK(m.headers.size() <= limits.max_headers);
        r.messages.bytes("M");
        for (const es::Header& h : m.headers) {
          SM_FUZZ_CHECK(!h.name.empty());
          r.messages.u64(h.name.size());
          r.messages.bytes(h.name);
          r.messages.u64(static_cast<std::uint64_t>(h.type));
          r.messages.u64(static_cast<std::uint64_t>(h.integer));
          r.messages.u64(h.bytes.size());
          r.messages.bytes(h.bytes);
        }
        r.messages.bytes(m.message_type);
        r.messages.bytes(m.event_type);
        r.messages.u64(m.payload.size());
        r.messages.bytes(m.payload);
      },
      limits);
  for (std::size_t i = 0; i < stream.size(); i += piece) {
    const bool ok = d.feed(stream.substr(i, piece));
    SM_FUZZ_CHECK(ok == (d.error() == es::Error::none));
    if (!ok) stopped = true;
    SM_FUZZ_CHECK(!d.mid_message() || d.error() == es::Error::none);
  }
  d.finish();
  SM_FUZZ_CHECK(!d.mid_message());
  r.error = d.error();
  r.stats = d.stats();
  // Every byte is either in a delivered message or counted as discarded.
  SM_FUZZ_CHECK(r.stats.message_bytes + r.stats.discarded_bytes == stream.size());
  return r;
}

void same(const Result& a, const Result& b) {
  SM_FUZZ_CHECK(a.messages.h == b.messages.h);
  SM_FUZZ_CHECK(a.error == b.error);
  SM_FUZZ_CHECK(a.stats.messages == b.stats.messages);
  SM_FUZZ_CHECK(a.stats.message_bytes == b.stats.message_bytes);
  SM_FUZZ_CHECK(a.stats.discarded_bytes == b.stats.discarded_bytes);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  shadowmeter::fuzz::Input in{data, size};
  const std::size_t piece = shadowmeter::fuzz::piece_size(in.byte());
  const std::uint8_t mode = in.byte();
  constexpr std::size_t kMaxMessage[] = {64, 1024, 1u << 20, 16u << 20};
  constexpr std::size_t kMaxHeaders[] = {1, 4, 128, 128};
  const es::Limits limits{.max_message_bytes = kMaxMessage[mode & 3],
                          .max_headers = kMaxHeaders[(mode >> 2) & 3]};
  std::string stream(in.rest());
  if (mode & 0x10) fix_crcs(stream);
  const Result whole = run(stream, stream.size() + 1, limits);
  same(whole, run(stream, piece, limits));
  same(whole, run(stream, 1, limits));
  return 0;
}
