#include "probes/gotls/buildinfo.h"

#include <charconv>
#include <cstring>
#include <string_view>

namespace shadowmeter::probes::gotls {
namespace {

constexpr std::string_view kMagic("\xff Go buildinf:", 14);
constexpr std::uint64_t kHeaderBytes = 32;
constexpr std::uint64_t kMaxVersionBytes = 128;
constexpr std::uint8_t kFlagInline = 2;  // Go 1.18+: varint-prefixed strings follow the header

// The magic, a pointer size and only the flags Go defines (a copy of the magic string elsewhere,
// e.g. in a program's read-only data, fails this).
bool is_header(Bytes b, std::uint64_t at) {
  auto h = slice(b, at, kHeaderBytes);
  return h && std::memcmp(h->data(), kMagic.data(), kMagic.size()) == 0 && ((*h)[14] == 4 || (*h)[14] == 8) &&
         (*h)[15] <= 3;
}

std::optional<std::uint64_t> find_header(const ElfView& elf) {
  if (auto s = elf.section(".go.buildinfo")) {
    if (is_header(elf.image(), s->offset)) return s->offset;
  }
  // The linker puts it 16-byte aligned at the start of a data segment; scan for it.
  const Bytes img = elf.image();
  std::string_view text(reinterpret_cast<const char*>(img.data()), img.size());
  for (std::size_t pos = text.find(kMagic); pos != std::string_view::npos; pos = text.find(kMagic, pos + 1))
    if (pos % 16 == 0 && is_header(img, pos)) return pos;
  return std::nullopt;
}

std::optional<std::uint64_t> read_uvarint(Bytes b, std::uint64_t& off) {
  std::uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (off >= b.size()) return std::nullopt;
    const std::uint8_t c = b[static_cast<std::size_t>(off++)];
    v |= std::uint64_t{c & 0x7fu} << shift;
    if (!(c & 0x80)) return v;
  }
  return std::nullopt;
}

std::string clean(Bytes b) {
  std::string s(reinterpret_cast<const char*>(b.data()), b.size());
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) c = '?';
  return s;
}

}  // namespace

std::optional<BuildInfo> read_buildinfo(const ElfView& elf) {
  auto at = find_header(elf);
  if (!at) return std::nullopt;
  const Bytes img = elf.image();
  BuildInfo info;
  const std::uint8_t ptr_size = img[static_cast<std::size_t>(*at + 14)];
  const std::uint8_t flags = img[static_cast<std::size_t>(*at + 15)];
  if (flags & 1) return info;  // big-endian target: not one we run on; version left unknown
  if (flags & kFlagInline) {
    std::uint64_t off = *at + kHeaderBytes;
    auto len = read_uvarint(img, off);
    if (!len || *len > kMaxVersionBytes) return info;
    if (auto s = slice(img, off, *len)) info.go_version = clean(*s);
    return info;
  }
  // Older layout: two pointers (version, module info) to Go string headers {data, len}.
  if (ptr_size != 8) return info;
  auto str_hdr = load_u64(img, *at + 16);
  if (!str_hdr) return info;
  auto hdr = elf.at_vaddr(*str_hdr, 16);
  if (!hdr) return info;
  const std::uint64_t data = *load_u64(*hdr, 0);
  const std::uint64_t len = *load_u64(*hdr, 8);
  if (len > kMaxVersionBytes) return info;
  if (auto s = elf.at_vaddr(data, len)) info.go_version = clean(*s);
  return info;
}

std::optional<std::pair<int, int>> parse_go_version(std::string_view v) {
  if (!v.starts_with("go")) return std::nullopt;
  v.remove_prefix(2);
  int major = 0, minor = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), major);
  if (ec != std::errc{} || p == v.data() + v.size() || *p != '.') return std::nullopt;
  auto [q, ec2] = std::from_chars(p + 1, v.data() + v.size(), minor);
  if (ec2 != std::errc{} || q == p + 1) return std::nullopt;
  return std::make_pair(major, minor);
}

}  // namespace shadowmeter::probes::gotls
