#include "probes/gotls/pclntab.h"

#include <elf.h>

#include <cstring>

namespace shadowmeter::probes::gotls {
namespace {

constexpr std::uint32_t kMagic118 = 0xfffffff0;
constexpr std::uint32_t kMagic120 = 0xfffffff1;
constexpr std::uint32_t kMagic116 = 0xfffffffa;
constexpr std::uint32_t kMagic12 = 0xfffffffb;
constexpr std::uint64_t kMaxFuncs = 4u << 20;
constexpr std::uint64_t kMaxNameBytes = 4096;
constexpr int kMaxCandidates = 64;  // header look-alikes tried when there is no section table

std::string hex32(std::uint32_t v) {
  char b[16];
  std::snprintf(b, sizeof(b), "0x%08x", v);
  return b;
}

}  // namespace

std::optional<std::uint8_t> pc_quantum(std::uint16_t elf_machine) {
  if (elf_machine == EM_X86_64) return 1;
  if (elf_machine == EM_AARCH64) return 4;
  return std::nullopt;
}

bool Pclntab::parse_header(Bytes tab, std::uint8_t want_quantum) {
  auto magic = load_u32(tab, 0);
  if (!magic) {
    error_ = "pclntab too short";
    return false;
  }
  if (*magic == kMagic116 || *magic == kMagic12) {
    old_format_ = true;
    error_ = "pclntab format " + hex32(*magic) + " (Go 1.17 or older) is not supported: Go 1.18+ needed";
    return false;
  }
  if (*magic != kMagic118 && *magic != kMagic120) {
    error_ = "bad pclntab magic " + hex32(*magic);
    return false;
  }
  if (tab.size() < 8 + 8 * 8 || tab[4] != 0 || tab[5] != 0 || tab[6] != want_quantum || tab[7] != 8) {
    error_ = "bad pclntab header (quantum or pointer size)";
    return false;
  }
  auto word = [&](int i) { return *load_u64(tab, 8 + 8 * static_cast<std::uint64_t>(i)); };
  nfunc_ = word(0);
  text_start_ = word(2);
  funcname_off_ = word(3);
  functab_off_ = word(7);
  if (nfunc_ == 0 || nfunc_ > kMaxFuncs) {
    error_ = "bad pclntab function count " + std::to_string(nfunc_);
    return false;
  }
  // functab: nfunc pairs of uint32 (entry offset from text start, _func offset) and the end PC.
  const std::uint64_t functab_bytes = (2 * nfunc_ + 1) * 4;
  if (funcname_off_ >= tab.size() || functab_off_ > tab.size() || tab.size() - functab_off_ < functab_bytes) {
    error_ = "pclntab offsets beyond the table";
    return false;
  }
  tab_ = tab;
  return true;
}

Pclntab Pclntab::open(const ElfView& elf) {
  Pclntab p;
  auto quantum = pc_quantum(elf.machine());
  if (!quantum) {
    p.error_ = "ELF machine " + std::to_string(elf.machine()) + " is not amd64 or arm64";
    return p;
  }
  if (auto s = elf.section(".gopclntab")) {
    auto bytes = elf.section_bytes(*s);
    if (!bytes) {
      p.error_ = ".gopclntab lies outside the file";
      return p;
    }
    p.parse_header(*bytes, *quantum);
  } else {
    // No section table: look for a header that parses and whose first function checks out.
    const Bytes img = elf.image();
    const std::uint8_t pats[2][4] = {{0xf0, 0xff, 0xff, 0xff}, {0xf1, 0xff, 0xff, 0xff}};
    int tried = 0;
    bool found = false;
    for (std::size_t off = 0; !found && tried < kMaxCandidates && off + 8 <= img.size(); off += 8) {
      const std::uint8_t* q = img.data() + off;
      if (std::memcmp(q, pats[0], 4) != 0 && std::memcmp(q, pats[1], 4) != 0) continue;
      if (q[4] != 0 || q[5] != 0 || q[6] != *quantum || q[7] != 8) continue;
      ++tried;
      Pclntab c;
      if (c.parse_header(img.subspan(off), *quantum) && c.first_func_sane()) {
        p = c;
        found = true;
      }
    }
    if (!found) p.error_ = "no .gopclntab section and no pclntab header found";
  }
  if (p.error_.empty() && p.tab_.empty()) p.error_ = "no pclntab";
  if (p.ok() && p.text_start_ == 0) {
    // Relocated at load (PIE): take the text section's address when there is one.
    if (auto t = elf.section(".text")) p.text_start_ = t->addr;
    if (p.text_start_ == 0) p.error_ = "pclntab text start is 0 (position-independent) and no .text section";
  }
  return p;
}

bool Pclntab::first_func_sane() const {
  auto entry0 = load_u32(tab_, functab_off_);
  auto func0 = load_u32(tab_, functab_off_ + 4);
  if (!entry0 || !func0) return false;
  auto fentry = load_u32(tab_, functab_off_ + *func0);
  return fentry && *fentry == *entry0;
}

std::vector<std::optional<GoFunc>> Pclntab::find(const std::vector<std::string_view>& names) const {
  std::vector<std::optional<GoFunc>> out(names.size());
  if (tab_.empty()) return out;
  std::size_t left = names.size();
  for (std::uint64_t i = 0; i < nfunc_ && left > 0; ++i) {
    const std::uint64_t e = functab_off_ + i * 8;
    const std::uint32_t entry_off = *load_u32(tab_, e);
    const std::uint32_t func_off = *load_u32(tab_, e + 4);
    const std::uint32_t next_off = *load_u32(tab_, e + 8);
    // _func { entryOff uint32; nameOff int32; ... }, at functab + funcoff.
    auto f_entry = load_u32(tab_, functab_off_ + func_off);
    auto name_off = load_u32(tab_, functab_off_ + func_off + 4);
    if (!f_entry || !name_off || *f_entry != entry_off) continue;  // inconsistent entry: skipped
    const std::uint64_t at = funcname_off_ + *name_off;
    if (at >= tab_.size()) continue;
    const char* s = reinterpret_cast<const char*>(tab_.data()) + at;
    const std::string_view name(s, strnlen(s, std::min<std::uint64_t>(tab_.size() - at, kMaxNameBytes)));
    for (std::size_t k = 0; k < names.size(); ++k) {
      if (out[k] || names[k].empty() || name != names[k]) continue;
      if (next_off <= entry_off) continue;  // the table is sorted: a function has a size
      out[k] = GoFunc{text_start_ + entry_off, text_start_ + next_off};
      --left;
    }
  }
  return out;
}

}  // namespace shadowmeter::probes::gotls
