#include "probes/elf_symbols.h"

#include <gelf.h>
#include <libelf.h>

#include <memory>
#include <string_view>

namespace shadowmeter::probes {
namespace {

struct ElfCloser {
  void operator()(Elf* e) const { elf_end(e); }
};

// Converts a symbol's virtual address to a file offset through the PT_LOAD segment containing it.
std::optional<std::uint64_t> vaddr_to_offset(Elf* elf, std::uint64_t vaddr) {
  std::size_t phnum = 0;
  if (elf_getphdrnum(elf, &phnum) != 0) return std::nullopt;
  for (std::size_t i = 0; i < phnum; ++i) {
    GElf_Phdr ph;
    if (!gelf_getphdr(elf, static_cast<int>(i), &ph)) continue;
    if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X)) continue;
    if (vaddr >= ph.p_vaddr && vaddr < ph.p_vaddr + ph.p_memsz) return vaddr - ph.p_vaddr + ph.p_offset;
  }
  return std::nullopt;
}

void scan_section(Elf* elf, Elf_Scn* scn, const GElf_Shdr& sh, const std::vector<std::string>& names,
                  SymbolOffsets& out) {
  Elf_Data* data = elf_getdata(scn, nullptr);
  if (!data || sh.sh_entsize == 0) return;
  const std::size_t count = sh.sh_size / sh.sh_entsize;
  for (std::size_t i = 0; i < count; ++i) {
    GElf_Sym sym;
    if (!gelf_getsym(data, static_cast<int>(i), &sym)) continue;
    if (GELF_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_shndx == SHN_UNDEF || sym.st_value == 0) continue;
    const char* raw = elf_strptr(elf, sh.sh_link, sym.st_name);
    if (!raw) continue;
    std::string_view name(raw);
    // Versioned names in .symtab look like "SSL_write@@OPENSSL_3.0.0".
    if (auto at = name.find('@'); at != std::string_view::npos) name = name.substr(0, at);
    for (const auto& want : names) {
      if (name != want || out.offsets.count(want)) continue;
      if (auto off = vaddr_to_offset(elf, sym.st_value)) out.offsets.emplace(want, *off);
    }
  }
}

}  // namespace

std::optional<SymbolOffsets> find_function_offsets(int fd, const std::vector<std::string>& names) {
  if (elf_version(EV_CURRENT) == EV_NONE) return std::nullopt;
  std::unique_ptr<Elf, ElfCloser> elf(elf_begin(fd, ELF_C_READ_MMAP, nullptr));
  if (!elf || elf_kind(elf.get()) != ELF_K_ELF) return std::nullopt;
  SymbolOffsets out;
  // .dynsym first (what a stripped library still has), then .symtab.
  for (const Elf64_Word type : {Elf64_Word{SHT_DYNSYM}, Elf64_Word{SHT_SYMTAB}}) {
    Elf_Scn* scn = nullptr;
    while ((scn = elf_nextscn(elf.get(), scn)) != nullptr) {
      GElf_Shdr sh;
      if (!gelf_getshdr(scn, &sh) || sh.sh_type != type) continue;
      scan_section(elf.get(), scn, sh, names, out);
    }
    if (out.offsets.size() == names.size()) break;
  }
  return out;
}

}  // namespace shadowmeter::probes
