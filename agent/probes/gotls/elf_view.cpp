#include "probes/gotls/elf_view.h"

#include <elf.h>

#include <cstring>

namespace shadowmeter::probes::gotls {
namespace {

constexpr std::uint16_t kMaxSections = 4096;
constexpr std::uint16_t kMaxSegments = 256;

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
  static constexpr std::uint8_t kIdent[] = {0x7f, 'E', 'L', 'F', ELFCLASS64, ELFDATA2LSB};
  auto eh = load<Elf64_Ehdr>(image, 0);
  if (!eh || std::memcmp(eh->e_ident, kIdent, sizeof(kIdent)) != 0) return std::nullopt;
  ElfView v;
  v.image_ = image;
  v.machine_ = eh->e_machine;
  const std::uint64_t phoff = eh->e_phoff, shoff = eh->e_shoff;
  const std::uint16_t phentsize = eh->e_phentsize, phnum = eh->e_phnum;
  const std::uint16_t shentsize = eh->e_shentsize, shnum = eh->e_shnum, shstrndx = eh->e_shstrndx;

  if (phentsize >= sizeof(Elf64_Phdr) && phnum <= kMaxSegments) {
    for (std::uint16_t i = 0; i < phnum; ++i) {
      auto ph = load<Elf64_Phdr>(image, phoff + std::uint64_t{i} * phentsize);
      if (!ph) break;
      if (ph->p_type != PT_LOAD) continue;
      v.segments_.push_back({ph->p_vaddr, ph->p_offset, ph->p_filesz, (ph->p_flags & PF_X) != 0});
    }
  }

  // Section headers are optional (a stripped-down file may have none): a missing table is no error.
  if (shoff != 0 && shentsize >= sizeof(Elf64_Shdr) && shnum <= kMaxSections && shstrndx < shnum) {
    auto names = load<Elf64_Shdr>(image, shoff + std::uint64_t{shstrndx} * shentsize);
    std::optional<Bytes> strtab;
    if (names) strtab = slice(image, names->sh_offset, names->sh_size);
    for (std::uint16_t i = 0; strtab && i < shnum; ++i) {
      auto sh = load<Elf64_Shdr>(image, shoff + std::uint64_t{i} * shentsize);
      if (!sh) break;
      if (sh->sh_name >= strtab->size()) continue;
      const char* n = reinterpret_cast<const char*>(strtab->data()) + sh->sh_name;
      const std::size_t n_len = strnlen(n, strtab->size() - sh->sh_name);
      v.sections_.push_back(
          {std::string_view(n, n_len), sh->sh_addr, sh->sh_offset, sh->sh_size, sh->sh_type});
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
  if (s.type == SHT_NOBITS) return std::nullopt;
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
