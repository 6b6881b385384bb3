#include "netconn/tls_library.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>

namespace shadowmeter::netconn {
namespace {

constexpr std::size_t kMaxMapsBytes = 4u << 20;
constexpr std::uint64_t kMaxImageBytes = 512ull << 20;  // larger executables are not scanned

bool contains(std::string_view hay, std::string_view needle) { return hay.find(needle) != std::string_view::npos; }

// Library file names in maps lines, not the process's own paths: "/libjvm.so", "/libgnutls.so".
bool maps_has_library(std::string_view maps, std::string_view stem) {
  for (std::size_t pos = maps.find(stem); pos != std::string_view::npos; pos = maps.find(stem, pos + 1)) {
    if (pos > 0 && maps[pos - 1] == '/') return true;
  }
  return false;
}

}  // namespace

std::string library_from_maps(std::string_view maps) {
  if (maps_has_library(maps, "libjvm.so")) return "java";
  if (maps_has_library(maps, "libgnutls.so")) return "gnutls";
  if (maps_has_library(maps, "libssl.so")) return "openssl";
  return {};
}

std::string library_from_binary(std::string_view image) {
  // Go writes its build information behind this magic (section .go.buildinfo), every version
  // since 1.13; Go's crypto/tls is in every Go program that speaks TLS.
  if (contains(image, std::string_view("\xff Go buildinf:", 14))) return "go";
  if (contains(image, "rustls")) return "rustls";
  if (contains(image, "BoringSSL") || contains(image, "boringssl")) return "boringssl";
  return {};
}

TlsLibraryGuesser::TlsLibraryGuesser(std::string proc_root, std::size_t max_entries)
    : proc_root_(std::move(proc_root)), max_entries_(max_entries) {}

std::string TlsLibraryGuesser::scan_executable(pid_t pid) {
  const std::string exe = proc_root_ + "/" + std::to_string(pid) + "/exe";
  const int fd = ::open(exe.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  struct stat st {};
  std::string result;
  if (::fstat(fd, &st) == 0 && st.st_size > 0 && static_cast<std::uint64_t>(st.st_size) <= kMaxImageBytes) {
    const std::string id = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" +
                           std::to_string(st.st_size) + ":" + std::to_string(st.st_mtime);
    if (auto it = by_file_.find(id); it != by_file_.end()) {
      ::close(fd);
      return it->second;
    }
    const auto size = static_cast<std::size_t>(st.st_size);
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p != MAP_FAILED) {
      result = library_from_binary(std::string_view(static_cast<const char*>(p), size));
      ::munmap(p, size);
    }
    if (by_file_.size() >= max_entries_) by_file_.clear();
    by_file_.emplace(id, result);
  }
  ::close(fd);
  return result;
}

std::string TlsLibraryGuesser::guess(pid_t pid) {
  if (auto it = by_pid_.find(pid); it != by_pid_.end()) return it->second;
  std::string maps;
  {
    std::ifstream in(proc_root_ + "/" + std::to_string(pid) + "/maps");
    if (in) {
      std::ostringstream ss;
      ss << in.rdbuf();
      maps = ss.str();
      if (maps.size() > kMaxMapsBytes) maps.resize(kMaxMapsBytes);
    }
  }
  // A library mapped by name is the surest sign; a static executable is scanned for markers.
  std::string lib = library_from_maps(maps);
  if (lib.empty()) {
    std::string bin = scan_executable(pid);
    if (!bin.empty()) lib = bin;
  }
  if (lib.empty()) lib = "unknown";
  if (maps.empty()) return lib;  // process gone: do not cache a guess made blind
  if (by_pid_.size() >= max_entries_) by_pid_.clear();
  by_pid_.emplace(pid, lib);
  return lib;
}

}  // namespace shadowmeter::netconn
