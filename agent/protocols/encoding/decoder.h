// Streaming, bounded Content-Encoding decoders (gzip, deflate, br, zstd) for HTTP bodies.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

namespace shadowmeter::encoding {

enum class Coding : std::uint8_t { identity, gzip, deflate, br, zstd, unknown };

// Parses one Content-Encoding token ("gzip", "x-gzip", "deflate", "br", "zstd", "identity").
Coding parse_coding(std::string_view token);

enum class Status : std::uint8_t { ok, error, limit };

// Decodes a stream of compressed bytes; output goes to `out` in pieces. Once it has returned
// error or limit it stays there. Never allocates per byte; output is produced through a fixed buffer.
// Valid input gives the same output however it is split. For corrupt input, how much output comes
// before the error depends on the libraries' internal buffering, and so on the split.
// Past max_output exactly max_output bytes have been output, then Status::limit.
class Decoder {
 public:
  using Output = std::function<void(std::string_view)>;
  virtual ~Decoder() = default;
  virtual Status feed(std::string_view in, const Output& out) = 0;
  // The compressed stream ended: error if it was cut short.
  virtual Status finish(const Output& out) = 0;
  virtual std::uint64_t produced() const = 0;
};

// Returns nullptr for identity; for unknown codings too (the caller treats the body as opaque).
// `max_output` bounds the decoded size (bomb protection): past it feed() returns Status::limit.
std::unique_ptr<Decoder> make_decoder(Coding coding, std::uint64_t max_output);

}  // namespace shadowmeter::encoding
