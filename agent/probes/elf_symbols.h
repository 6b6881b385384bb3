// Finds the file offsets of exported functions in an ELF file (shared library or executable), the
// form a uprobe attach needs. Reads .dynsym and .symtab with libelf; no per-version struct offsets.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace shadowmeter::probes {

struct SymbolOffsets {
  std::map<std::string, std::uint64_t> offsets;  // symbol name -> file offset
};

// Looks up `names` (defined FUNC symbols) in the ELF file open as `fd`. nullopt if it is not a
// readable ELF file; an empty map if it has none of them.
std::optional<SymbolOffsets> find_function_offsets(int fd, const std::vector<std::string>& names);

}  // namespace shadowmeter::probes
