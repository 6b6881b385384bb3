// Return instructions of a machine-code function, found by disassembling it with capstone. Go
// moves goroutine stacks, so a uretprobe's rewritten return address is unsafe in Go code; plain
// uprobes on each RET instruction read a function's results instead.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "probes/gotls/elf_view.h"

namespace shadowmeter::probes::gotls {

struct RetSites {
  std::vector<std::uint64_t> offsets;  // from the start of the code
  std::string error;                   // non-empty: the code could not be read whole
};

// `code` is one function (amd64: EM_X86_64, arm64: EM_AARCH64). Decoding must cover the function
// up to its end (trailing padding included): a RET missed would lose a call's data silently.
RetSites find_returns(std::uint16_t elf_machine, Bytes code);

}  // namespace shadowmeter::probes::gotls
