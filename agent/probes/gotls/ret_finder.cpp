#include "probes/gotls/ret_finder.h"

#include <capstone/capstone.h>
#include <elf.h>

namespace shadowmeter::probes::gotls {
namespace {

constexpr std::size_t kMaxCodeBytes = 1u << 20;

class Handle {
 public:
  Handle(cs_arch arch, cs_mode mode) { ok_ = cs_open(arch, mode, &h_) == CS_ERR_OK; }
  ~Handle() {
    if (ok_) cs_close(&h_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  bool ok() const { return ok_; }
  csh get() const { return h_; }

 private:
  csh h_ = 0;
  bool ok_ = false;
};

class Insn {
 public:
  explicit Insn(csh h) : p_(cs_malloc(h)) {}
  ~Insn() {
    if (p_) cs_free(p_, 1);
  }
  Insn(const Insn&) = delete;
  Insn& operator=(const Insn&) = delete;
  cs_insn* get() const { return p_; }

 private:
  cs_insn* p_;
};

}  // namespace

RetSites find_returns(std::uint16_t elf_machine, Bytes code) {
  RetSites out;
  cs_arch arch;
  cs_mode mode;
  unsigned ret_id;
  if (elf_machine == EM_X86_64) {
    arch = CS_ARCH_X86, mode = CS_MODE_64, ret_id = X86_INS_RET;
  } else if (elf_machine == EM_AARCH64) {
    arch = CS_ARCH_ARM64, mode = CS_MODE_ARM, ret_id = ARM64_INS_RET;
  } else {
    out.error = "no disassembler for ELF machine " + std::to_string(elf_machine);
    return out;
  }
  if (code.size() > kMaxCodeBytes) {
    out.error = "function of " + std::to_string(code.size()) + " bytes is too large";
    return out;
  }
  Handle h(arch, mode);
  Insn insn(h.get());
  if (!h.ok() || !insn.get()) {
    out.error = "capstone could not be opened";
    return out;
  }
  const std::uint8_t* p = code.data();
  std::size_t left = code.size();
  std::uint64_t addr = 0;
  // cs_disasm_iter advances p/left/addr past each instruction it decodes.
  while (left > 0 && cs_disasm_iter(h.get(), &p, &left, &addr, insn.get())) {
    if (insn.get()->id == ret_id) out.offsets.push_back(insn.get()->address);
  }
  if (left > 0)
    out.error = "undecodable instruction at +" + std::to_string(code.size() - left) + " of " +
                std::to_string(code.size()) + " bytes";
  return out;
}

}  // namespace shadowmeter::probes::gotls
