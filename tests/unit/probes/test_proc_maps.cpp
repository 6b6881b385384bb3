#include <sys/sysmacros.h>

#include <catch2/catch.hpp>

#include "probes/proc_maps.h"

using namespace shadowmeter::probes;

TEST_CASE("maps line with a library path") {
  auto m = parse_maps_line(
      "7f1c2a000000-7f1c2a0a1000 r-xp 00022000 fd:01 1234567                    /usr/lib/x86_64-linux-gnu/libssl.so.3");
  REQUIRE(m);
  CHECK(m->start == 0x7f1c2a000000ull);
  CHECK(m->end == 0x7f1c2a0a1000ull);
  CHECK(m->executable);
  CHECK(m->id.dev == makedev(0xfd, 0x01));
  CHECK(m->id.ino == 1234567u);
  CHECK(m->path == "/usr/lib/x86_64-linux-gnu/libssl.so.3");
  CHECK_FALSE(m->deleted);
}

TEST_CASE("maps line variants") {
  auto anon = parse_maps_line("7ffd1000-7ffd2000 rw-p 00000000 00:00 0 ");
  REQUIRE(anon);
  CHECK_FALSE(anon->executable);
  CHECK(anon->id.ino == 0u);
  CHECK(anon->path.empty());

  auto vdso = parse_maps_line("7ffd1000-7ffd2000 r-xp 00000000 00:00 0                  [vdso]");
  REQUIRE(vdso);
  CHECK(vdso->path == "[vdso]");

  auto del = parse_maps_line("55d0a000-55d0b000 r-xp 00001000 00:2f 77 /app/bin/node (deleted)");
  REQUIRE(del);
  CHECK(del->deleted);
  CHECK(del->path == "/app/bin/node");
  CHECK(del->id.dev == makedev(0, 0x2f));

  auto spaces = parse_maps_line("1000-2000 r-xp 00000000 08:02 42 /opt/my app/lib ssl.so");
  REQUIRE(spaces);
  CHECK(spaces->path == "/opt/my app/lib ssl.so");

  CHECK_FALSE(parse_maps_line(""));
  CHECK_FALSE(parse_maps_line("garbage"));
  CHECK_FALSE(parse_maps_line("zz-2000 r-xp 0 08:02 42 /x"));
  CHECK_FALSE(parse_maps_line("1000-2000 r-xp 0 0802 42 /x"));
  CHECK_FALSE(parse_maps_line("1000-2000 r-xp 0 08:02 4x2 /x"));
}

TEST_CASE("TLS library names") {
  CHECK(is_tls_library_name("/usr/lib/x86_64-linux-gnu/libssl.so.3"));
  CHECK(is_tls_library_name("/lib/libssl.so.1.1"));
  CHECK(is_tls_library_name("/usr/lib/libnode.so.108"));
  CHECK_FALSE(is_tls_library_name("/usr/lib/x86_64-linux-gnu/libcrypto.so.3"));
  CHECK_FALSE(is_tls_library_name("/usr/lib/libssl3.so"));  // NSS, not OpenSSL
  CHECK_FALSE(is_tls_library_name("/opt/libssl.so.3/other.so"));
}

TEST_CASE("own process: executable mappings include the test binary once") {
  auto maps = read_executable_mappings("/proc", getpid());
  REQUIRE_FALSE(maps.empty());
  int self = 0;
  char exe[4096] = {};
  auto n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  REQUIRE(n > 0);
  for (const auto& m : maps) self += m.path == exe ? 1 : 0;
  CHECK(self == 1);
  CHECK(read_executable_mappings("/proc", 0x7ffffff0).empty());
}
