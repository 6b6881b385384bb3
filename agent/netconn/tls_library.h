// Which TLS library a process most likely uses, for connections whose plaintext no uprobe saw:
// "java" (JSSE: libjvm mapped), "gnutls" (libgnutls mapped), "go" (Go build info in the
// executable), "rustls", "boringssl" (markers in a static executable), "openssl" (libssl mapped: a
// hooked library that still showed nothing), else "unknown".
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace shadowmeter::netconn {

// From the text of /proc/PID/maps: "java", "gnutls", "openssl" or "" (nothing conclusive).
std::string library_from_maps(std::string_view maps);
// From an executable's bytes: "go", "rustls", "boringssl" or "".
std::string library_from_binary(std::string_view image);

// Per-process guesses (cached until the process execs or exits) and per-executable scans (cached
// by device, inode, size and mtime). Both caches are bounded.
class TlsLibraryGuesser {
 public:
  explicit TlsLibraryGuesser(std::string proc_root = "/proc", std::size_t max_entries = 4096);
  std::string guess(pid_t pid);
  void forget(pid_t pid) { by_pid_.erase(pid); }

 private:
  std::string scan_executable(pid_t pid);
  std::string proc_root_;
  std::size_t max_entries_;
  std::unordered_map<pid_t, std::string> by_pid_;
  std::unordered_map<std::string, std::string> by_file_;  // "dev:ino:size:mtime" -> result
};

}  // namespace shadowmeter::netconn
