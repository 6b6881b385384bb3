// What the Go tap needs from an executable: whether it is a Go program, its Go version, and where
// crypto/tls.(*Conn).Write and .Read start and return (file offsets, the form uprobes take), found
// from the build information and the function table alone: no symbol table, no DWARF, no table of
// per-version offsets. A Go binary the tap cannot serve gets a refusal with a short reason code
// (a metric label) and a sentence for the log.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "probes/gotls/elf_view.h"

namespace shadowmeter::probes::gotls {

inline constexpr const char* kGoWrite = "crypto/tls.(*Conn).Write";
inline constexpr const char* kGoRead = "crypto/tls.(*Conn).Read";

// Refusal codes: the metric label `reason`, and with a "go_" prefix the visibility reason of the
// process's connection_only events. A bounded set.
inline constexpr const char* kRefuseArch = "unsupported_arch";         // not the agent's architecture
inline constexpr const char* kRefuseVersion = "unsupported_version";   // Go 1.17 or older
inline constexpr const char* kRefuseNoPclntab = "no_pclntab";          // no function table found
inline constexpr const char* kRefuseBadPclntab = "bad_pclntab";        // a table that does not parse
inline constexpr const char* kRefuseNotFound = "functions_not_found";  // no crypto/tls (*Conn).Read/Write
inline constexpr const char* kRefuseNoRet = "returns_not_found";       // RET instructions not all decoded
inline constexpr const char* kRefuseAttach = "attach_failed";          // the kernel refused a uprobe

struct GoFunction {
  std::uint64_t entry = 0;          // file offset of the first instruction
  std::vector<std::uint64_t> rets;  // file offsets of every RET
};

struct GoInspection {
  bool is_go = false;      // build information present
  std::string go_version;  // "go1.19.8", "" when unreadable
  std::string refusal;     // empty: `write` and `read` are usable; else a kRefuse* code
  std::string detail;      // the why, for the log ("crypto/tls.(*Conn).Read not found", ...)
  GoFunction write;
  GoFunction read;
};

// `host_machine` is the ELF machine the agent's BPF programs are built for (their register layout).
GoInspection inspect_go_binary(Bytes image, std::uint16_t host_machine);

// The ELF machine of the running agent (EM_X86_64 or EM_AARCH64; 0 elsewhere).
std::uint16_t host_elf_machine();

}  // namespace shadowmeter::probes::gotls
