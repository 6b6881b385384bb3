#include "probes/gotls/go_binary.h"

#include <elf.h>

#include "probes/gotls/buildinfo.h"
#include "probes/gotls/pclntab.h"
#include "probes/gotls/ret_finder.h"

namespace shadowmeter::probes::gotls {
namespace {

// The register ABI each architecture got (Go's internal ABI: arguments and results in registers,
// the goroutine in a fixed register). The BPF side reads these registers; the table only says
// which Go versions have them.
struct GoArch {
  std::uint16_t machine;
  const char* name;
  int min_minor;  // first Go 1.x with the register ABI there
};
constexpr GoArch kArches[] = {
    {EM_X86_64, "amd64", 17},
    {EM_AARCH64, "arm64", 18},
};

const GoArch* arch_of(std::uint16_t machine) {
  for (const auto& a : kArches)
    if (a.machine == machine) return &a;
  return nullptr;
}

void refuse(GoInspection& r, const char* code, std::string detail) {
  r.refusal = code;
  r.detail = std::move(detail);
}

}  // namespace

std::uint16_t host_elf_machine() {
#if defined(__x86_64__)
  return EM_X86_64;
#elif defined(__aarch64__)
  return EM_AARCH64;
#else
  return 0;
#endif
}

GoInspection inspect_go_binary(Bytes image, std::uint16_t host_machine) {
  GoInspection r;
  auto elf = ElfView::parse(image);
  if (!elf) return r;
  auto info = read_buildinfo(*elf);
  if (!info) return r;
  r.is_go = true;
  r.go_version = info->go_version;
  const std::string who = r.go_version.empty() ? std::string("Go (version unknown)") : r.go_version;

  const GoArch* arch = arch_of(elf->machine());
  if (!arch || elf->machine() != host_machine) {
    refuse(r, kRefuseArch,
           who + ": ELF machine " + std::to_string(elf->machine()) +
               " is not this agent's architecture (amd64 or arm64 register ABI)");
    return r;
  }
  if (auto v = parse_go_version(r.go_version); v && v->first == 1 && v->second < arch->min_minor) {
    refuse(r, kRefuseVersion,
           who + ": stack ABI on " + arch->name + " (register ABI from go1." +
               std::to_string(arch->min_minor) + ") not supported");
    return r;
  }
  auto tab = Pclntab::open(*elf);
  if (!tab.ok()) {
    if (tab.old_format())
      refuse(r, kRefuseVersion, who + ": " + tab.error());
    else if (elf->section(".gopclntab"))
      refuse(r, kRefuseBadPclntab, who + ": " + tab.error());
    else
      refuse(r, kRefuseNoPclntab, who + ": " + tab.error());
    return r;
  }
  const std::vector<std::string_view> names = {kGoWrite, kGoRead};
  auto found = tab.find(names);
  GoFunction* outs[] = {&r.write, &r.read};
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (!found[i]) {
      refuse(r, kRefuseNotFound,
             who + ": " + std::string(names[i]) + " not found among " + std::to_string(tab.function_count()) +
                 " functions");
      return r;
    }
    auto entry = elf->file_offset(found[i]->entry, true);
    auto code = elf->at_vaddr(found[i]->entry, found[i]->end - found[i]->entry);
    if (!entry || !code) {
      refuse(r, kRefuseBadPclntab,
             who + ": " + std::string(names[i]) + " lies outside the executable segments");
      return r;
    }
    auto rets = find_returns(elf->machine(), *code);
    if (!rets.error.empty() || rets.offsets.empty()) {
      refuse(r, kRefuseNoRet,
             who + ": " + std::string(names[i]) + ": " +
                 (rets.error.empty() ? std::string("no RET instruction") : rets.error));
      return r;
    }
    outs[i]->entry = *entry;
    for (auto off : rets.offsets) outs[i]->rets.push_back(*entry + off);
  }
  return r;
}

}  // namespace shadowmeter::probes::gotls
