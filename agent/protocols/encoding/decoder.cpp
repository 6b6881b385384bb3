#include "protocols/encoding/decoder.h"

#include <cstddef>

#include "protocols/encoding/brotli_decoder.h"
#include "protocols/encoding/zlib_decoder.h"
#include "protocols/encoding/zstd_decoder.h"

namespace shadowmeter::encoding {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != b[i]) return false;
  }
  return true;
}

}  // namespace

Coding parse_coding(std::string_view token) {
  while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.remove_prefix(1);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
  if (token.empty() || iequals(token, "identity")) return Coding::identity;
  if (iequals(token, "gzip") || iequals(token, "x-gzip")) return Coding::gzip;
  if (iequals(token, "deflate")) return Coding::deflate;
  if (iequals(token, "br")) return Coding::br;
  if (iequals(token, "zstd")) return Coding::zstd;
  return Coding::unknown;
}

std::unique_ptr<Decoder> make_decoder(Coding coding, std::uint64_t max_output) {
  switch (coding) {
    case Coding::gzip:
      return std::make_unique<ZlibDecoder>(ZlibDecoder::Format::gzip, max_output);
    case Coding::deflate:
      return std::make_unique<ZlibDecoder>(ZlibDecoder::Format::deflate, max_output);
    case Coding::br:
      return std::make_unique<BrotliDecoder>(max_output);
    case Coding::zstd:
      return std::make_unique<ZstdDecoder>(max_output);
    case Coding::identity:
    case Coding::unknown:
      return nullptr;
  }
  return nullptr;
}

}  // namespace shadowmeter::encoding
