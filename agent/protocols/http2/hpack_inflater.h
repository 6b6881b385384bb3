// One direction's HPACK decompression state (RFC 7541), wrapping nghttp2's inflater: header
// blocks are decoded whole, in the order they were sent, so the dynamic table stays in step.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "protocols/http2/decoder.h"

struct nghttp2_hd_inflater;

namespace shadowmeter::http2 {

class HpackInflater {
 public:
  enum class Result : std::uint8_t {
    ok,
    corrupt,    // not valid HPACK (or a table size update above what SETTINGS allowed)
    too_large,  // the decoded names + values passed the caller's bound
  };

  HpackInflater();  // throws std::bad_alloc when nghttp2 cannot allocate

  // The peer's SETTINGS_HEADER_TABLE_SIZE was seen: dynamic table size updates up to `bytes` are
  // accepted from now on. Only ever raised: an observer cannot tell when the encoder applied a
  // smaller value, and the encoder has to announce any shrink in a block anyway (RFC 7541 §4.2).
  void allow_table_size(std::uint32_t bytes);
  std::uint32_t allowed_table_size() const { return allowed_; }

  // Decodes one complete header block into `out` (cleared first). After anything but ok the
  // dynamic table is out of step for good and the inflater must not be used again.
  Result decode(std::string_view block, std::size_t max_list_bytes, std::vector<Header>& out);

 private:
  struct Deleter {
    void operator()(nghttp2_hd_inflater* p) const noexcept;
  };
  std::unique_ptr<nghttp2_hd_inflater, Deleter> inflater_;
  std::uint32_t allowed_;
};

}  // namespace shadowmeter::http2
