#include "probes/gotls/elf_view.h"

#include <cstring>

namespace shadowmeter::probes::gotls {
namespace {

constexpr std::uint16_t kMaxSections = 4096;
constexpr std::uint16_t kMaxSegments = 256;
constexpr std::uint32_t kShtNobits = 8;
constexpr std::uint32_t kPtLoad = 1;
constexpr std::uint32_t kPfX = 1;

template <typename T>
std::optional<T> load(Bytes b, std::uint64_t off) {
  if (off > b.size() || b.size() - off < sizeof(T)) return std::nullopt;
  T v{};
  std::memcpy(&v, b.data() + off, sizeof(T));  // the file is little-endian, as the hosts we run on
  return v;
}

}  // namespace

std::optional<std::uint64_t> load_u64(Bytes b, std::uint64_t off) { return load<std::uint64_t>(b, off); }
std::optional<std::uint32_t> load_u32(Bytes b, std::uint64_t off) { return load<std::uint32_t>(b, off); }
std::optional<std::uint16_t> load_u16(Bytes b, std::uint64_t off) { return load<std::uint16_t>(b, off); }

std::optional<Bytes> slice(Bytes b, std::uint64_t off, std::uint64_t len) {
  if (off > b.size() || b.size() - off < len) return std::nullopt;
  return b.subspan(static_cast<std::size_t>(off), static_cast<std::size_t>(len));
}

std::optional<ElfView> ElfView::parse(Bytes image) {
  static constexpr std::uint8_t kIdent[] = {0x7f, 'E', 'L', 'F', 2 /* 64-bit */, 1 /* little-endian */};
  if (image.size() < 64 || std::memcmp(image.data(), kIdent, sizeof(kIdent)) != 0) return std::nullopt;
  ElfView v;
  v.image_ = image;
  v.machine_ = *load_u16(image, 18);
  const std::uint64_t phoff = *load_u64(image, 32);
  const std::uint64_t shoff = *load_u64(image, 40);
  const std::uint16_t phentsize = *load_u16(image, 54);
  const std::uint16_t phnum = *load_u16(image, 56);
  const std::uint16_t shentsize = *load_u16(image, 58);
  const std::uint16_t shnum = *load_u16(image, 60);
  const std::uint16_t shstrndx = *load_u16(image, 62);

  if (phentsize >= 56 && phnum <= kMaxSegments) {
    for (std::uint16_t i = 0; i < phnum; ++i) {
      const std::uint64_t p = phoff + std::uint64_t{i} * phentsize;
      auto type = load_u32(image, p);
      auto flags = load_u32(image, p + 4);
      auto off = load_u64(image, p + 8);
      auto vaddr = load_u64(image, p + 16);
      auto filesz = load_u64(image, p + 32);
      if (!type || !flags || !off || !vaddr || !filesz) break;
      if (*type != kPtLoad) continue;
      v.segments_.push_back({*vaddr, *off, *filesz, (*flags & kPfX) != 0});
    }
  }

  // Section headers are optional (a stripped-down file may have none): a missing table is no error.
  if (shoff != 0 && shentsize >= 64 && shnum <= kMaxSections && shstrndx < shnum) {
    auto strtab_off = load_u64(image, shoff + std::uint64_t{shstrndx} * shentsize + 24);
    auto strtab_size = load_u64(image, shoff + std::uint64_t{shstrndx} * shentsize + 32);
    std::optional<Bytes> strtab;
    if (strtab_off && strtab_size) strtab = slice(image, *strtab_off, *strtab_size);
    for (std::uint16_t i = 0; strtab && i < shnum; ++i) {
      const std::uint64_t s = shoff + std::uint64_t{i} * shentsize;
      auto name = load_u32(image, s);
      auto type = load_u32(image, s + 4);
      auto addr = load_u64(image, s + 16);
      auto off = load_u64(image, s + 24);
      auto size = load_u64(image, s + 32);
      if (!name || !type || !addr || !off || !size) break;
      if (*name >= strtab->size()) continue;
      const char* n = reinterpret_cast<const char*>(strtab->data()) + *name;
      const std::size_t n_len = strnlen(n, strtab->size() - *name);
      v.sections_.push_back({std::string_view(n, n_len), *addr, *off, *size, *type});
    }
  }
  return v;
}

std::optional<ElfSection> ElfView::section(std::string_view name) const {
  for (const auto& s : sections_)
    if (s.name == name) return s;
  return std::nullopt;
}

std::optional<Bytes> ElfView::section_bytes(const ElfSection& s) const {
  if (s.type == kShtNobits) return std::nullopt;
  return slice(image_, s.offset, s.size);
}

std::optional<std::uint64_t> ElfView::file_offset(std::uint64_t vaddr, bool executable_only) const {
  for (const auto& seg : segments_) {
    if (executable_only && !seg.executable) continue;
    if (vaddr >= seg.vaddr && vaddr - seg.vaddr < seg.filesz) return vaddr - seg.vaddr + seg.offset;
  }
  return std::nullopt;
}

std::optional<Bytes> ElfView::at_vaddr(std::uint64_t vaddr, std::uint64_t len) const {
  for (const auto& seg : segments_) {
    if (vaddr < seg.vaddr || vaddr - seg.vaddr >= seg.filesz) continue;
    if (seg.filesz - (vaddr - seg.vaddr) < len) return std::nullopt;
    return slice(image_, vaddr - seg.vaddr + seg.offset, len);
  }
  return std::nullopt;
}

}  // namespace shadowmeter::probes::gotls
