// Parsing of /proc/PID/maps lines: which files a process has mapped executable, with their
// device and inode (the identity a uprobe is bound to).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shadowmeter::probes {

struct FileId {
  std::uint64_t dev = 0;  // makedev(major, minor) as printed in maps
  std::uint64_t ino = 0;
  bool operator==(const FileId&) const = default;
  auto operator<=>(const FileId&) const = default;
};

struct Mapping {
  std::uint64_t start = 0;
  std::uint64_t end = 0;
  bool executable = false;
  FileId id;
  std::string path;     // as seen by the process (its own mount namespace)
  bool deleted = false; // "(deleted)" suffix
};

std::optional<Mapping> parse_maps_line(std::string_view line);

// Executable, file-backed mappings of `pid` (one entry per file). Empty when the process is gone.
std::vector<Mapping> read_executable_mappings(const std::string& proc_root, pid_t pid);

// The files worth a symbol check: TLS libraries by name, and the main executable (static OpenSSL).
bool is_tls_library_name(std::string_view path);

}  // namespace shadowmeter::probes
