#include <fcntl.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <string>

#include "probes/bpf_probes.h"
#include "probes/elf_symbols.h"
#include "probes/proc_maps.h"

using namespace shadowmeter::probes;

namespace {
// The libssl this test links against, from our own maps (no hard-coded path).
std::string own_libssl() {
  for (const auto& m : read_executable_mappings("/proc", getpid()))
    if (is_tls_library_name(m.path)) return m.path;
  return {};
}
}  // namespace

TEST_CASE("SSL symbols of the system libssl resolve to offsets inside the file") {
  // Reference a symbol so the linker keeps libssl mapped.
  REQUIRE(reinterpret_cast<void*>(&SSL_write) != nullptr);
  const std::string path = own_libssl();
  REQUIRE_FALSE(path.empty());
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  auto syms = find_function_offsets(fd, ssl_symbol_names());
  auto size = lseek(fd, 0, SEEK_END);
  close(fd);
  REQUIRE(syms);
  for (const auto& name : ssl_symbol_names()) {
    INFO(name);
    REQUIRE(syms->offsets.count(name) == 1);
    CHECK(syms->offsets.at(name) > 0u);
    CHECK(syms->offsets.at(name) < static_cast<std::uint64_t>(size));
  }
  CHECK(syms->offsets.at("SSL_write") != syms->offsets.at("SSL_read"));
}

TEST_CASE("a file without the symbols gives an empty map; a non-ELF gives nullopt") {
  int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  auto syms = find_function_offsets(fd, {"definitely_not_here_123"});
  close(fd);
  REQUIRE(syms);
  CHECK(syms->offsets.empty());

  char tmpl[] = "/tmp/sm_elf_XXXXXX";
  int t = mkstemp(tmpl);
  REQUIRE(t >= 0);
  REQUIRE(write(t, "not an elf file at all", 22) == 22);
  CHECK_FALSE(find_function_offsets(t, ssl_symbol_names()));
  close(t);
  unlink(tmpl);
}

TEST_CASE("node exports the OpenSSL API from its own executable") {
  const char* node = "/usr/bin/node";
  if (access(node, X_OK) != 0) {
    WARN("node not installed: skipped");
    return;
  }
  int fd = open(node, O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  auto syms = find_function_offsets(fd, ssl_symbol_names());
  close(fd);
  REQUIRE(syms);
  CHECK(syms->offsets.count("SSL_write") == 1);
  CHECK(syms->offsets.count("SSL_read") == 1);
}
