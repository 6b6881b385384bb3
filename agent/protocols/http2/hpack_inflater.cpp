#include "protocols/http2/hpack_inflater.h"

#include <nghttp2/nghttp2.h>

#include <new>

#include "protocols/http2/frame.h"

namespace shadowmeter::http2 {

void HpackInflater::Deleter::operator()(nghttp2_hd_inflater* p) const noexcept { nghttp2_hd_inflate_del(p); }

HpackInflater::HpackInflater() : allowed_(frame::kDefaultHeaderTableSize) {
  nghttp2_hd_inflater* raw = nullptr;
  if (nghttp2_hd_inflate_new(&raw) != 0) throw std::bad_alloc();
  inflater_.reset(raw);
}

void HpackInflater::allow_table_size(std::uint32_t bytes) {
  if (bytes <= allowed_) return;
  // Only called between blocks (blocks are decoded whole), so this cannot fail with
  // NGHTTP2_ERR_INVALID_STATE; raising never evicts, so it does not allocate either.
  if (nghttp2_hd_inflate_change_table_size(inflater_.get(), bytes) == 0) allowed_ = bytes;
}

HpackInflater::Result HpackInflater::decode(std::string_view block, std::size_t max_list_bytes,
                                            std::vector<Header>& out) {
  out.clear();
  const auto* in = reinterpret_cast<const std::uint8_t*>(block.data());
  std::size_t left = block.size();
  std::size_t list_bytes = 0;
  for (;;) {
    nghttp2_nv nv{};
    int flags = 0;
    // A field longer than nghttp2's own cap (64 KiB of name + value) also comes back as an error.
    const auto rv = nghttp2_hd_inflate_hd2(inflater_.get(), &nv, &flags, in, left, 1);
    if (rv < 0) return Result::corrupt;
    const auto used = static_cast<std::size_t>(rv);
    in += used;
    left -= used;
    const bool emitted = (flags & NGHTTP2_HD_INFLATE_EMIT) != 0;
    if (emitted) {
      // Checked per field: indexed references can expand a small block a thousandfold.
      list_bytes += nv.namelen + nv.valuelen;
      if (list_bytes > max_list_bytes) return Result::too_large;
      out.push_back(Header{std::string(reinterpret_cast<const char*>(nv.name), nv.namelen),
                           std::string(reinterpret_cast<const char*>(nv.value), nv.valuelen)});
    }
    if ((flags & NGHTTP2_HD_INFLATE_FINAL) != 0) {
      nghttp2_hd_inflate_end_headers(inflater_.get());
      return Result::ok;
    }
    if (!emitted && used == 0) return Result::corrupt;  // no progress on a final block: never spin
  }
}

}  // namespace shadowmeter::http2
