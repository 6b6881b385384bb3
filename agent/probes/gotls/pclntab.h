// Go's function table (pclntab), read to find functions by name in binaries without a symbol table
// (`go build -ldflags="-s -w"`). Only the Go 1.18+ layout (magic 0xfffffff0, 0xfffffff1 since 1.20)
// is read; older layouts are recognised and refused with the reason. The table is taken from the
// .gopclntab section, else found by its header when the section table is gone. Every offset is
// checked against the table's bytes: a corrupt table gives an error, never a read out of bounds.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "probes/gotls/elf_view.h"

namespace shadowmeter::probes::gotls {

struct GoFunc {
  std::uint64_t entry = 0;  // virtual address
  std::uint64_t end = 0;    // next function's entry (padding included)
};

class Pclntab {
 public:
  // The table of `elf`, or an error saying why not ("no pclntab", "pclntab of Go 1.16/1.17 ...").
  static Pclntab open(const ElfView& elf);

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  bool old_format() const { return old_format_; }  // a pre-1.18 table was found and refused
  std::uint64_t function_count() const { return nfunc_; }

  // Looks up functions by their full name ("crypto/tls.(*Conn).Write"), one pass over the table.
  std::vector<std::optional<GoFunc>> find(const std::vector<std::string_view>& names) const;

 private:
  bool parse_header(Bytes tab, std::uint8_t want_quantum);
  bool first_func_sane() const;
  std::string error_;
  bool old_format_ = false;
  Bytes tab_;
  std::uint64_t nfunc_ = 0;
  std::uint64_t text_start_ = 0;
  std::uint64_t funcname_off_ = 0;
  std::uint64_t functab_off_ = 0;
};

// Instruction alignment (pclntab "quantum") of the architectures whose Go binaries we read.
std::optional<std::uint8_t> pc_quantum(std::uint16_t elf_machine);

}  // namespace shadowmeter::probes::gotls
