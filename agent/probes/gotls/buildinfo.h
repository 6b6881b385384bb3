// The Go version a binary was built with, from its build information (section .go.buildinfo, or
// its 16-byte aligned "\xff Go buildinf:" header when the section table is gone). Both layouts are
// read: strings inline after the header (Go 1.18+) and pointers to string headers (Go 1.13-1.17).
#pragma once

#include <optional>
#include <string>

#include "probes/gotls/elf_view.h"

namespace shadowmeter::probes::gotls {

struct BuildInfo {
  std::string go_version;  // "go1.19.8"; empty when the header is there but the string unreadable
};

// nullopt: no Go build information (not a Go binary).
std::optional<BuildInfo> read_buildinfo(const ElfView& elf);

// "go1.19.8" -> (1, 19); nullopt when it is not of that form (e.g. "devel ...").
std::optional<std::pair<int, int>> parse_go_version(std::string_view v);

}  // namespace shadowmeter::probes::gotls
