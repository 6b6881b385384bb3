// The Go binary reader (build info, pclntab, RET sites) against Go executables built with Debian's
// Go at build time, unstripped and stripped, and against damaged copies of them.
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "probes/gotls/buildinfo.h"
#include "probes/gotls/elf_view.h"
#include "probes/gotls/go_binary.h"
#include "probes/gotls/pclntab.h"
#include "probes/gotls/ret_finder.h"

using namespace shadowmeter::probes::gotls;

namespace {

constexpr std::uint16_t kAmd64 = 62;
constexpr std::uint16_t kArm64 = 183;

std::vector<std::uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(in), {});
}

Bytes bytes(const std::vector<std::uint8_t>& v) { return Bytes(v.data(), v.size()); }

// File offset of the first occurrence of `needle` (npos if absent).
std::size_t find(const std::vector<std::uint8_t>& v, std::string_view needle) {
  std::string_view s(reinterpret_cast<const char*>(v.data()), v.size());
  return s.find(needle);
}

// The symbol table's answer for a function (unstripped binaries only), as a file offset.
std::uint64_t symtab_offset(const std::vector<std::uint8_t>& img, const std::string& name) {
  auto elf = ElfView::parse(bytes(img));
  REQUIRE(elf);
  auto symtab = elf->section(".symtab");
  auto strtab = elf->section(".strtab");
  REQUIRE(symtab);
  REQUIRE(strtab);
  auto syms = elf->section_bytes(*symtab);
  auto strs = elf->section_bytes(*strtab);
  for (std::size_t off = 0; off + 24 <= syms->size(); off += 24) {
    const std::uint32_t n = *load_u32(*syms, off);
    if (n >= strs->size()) continue;
    if (std::string_view(reinterpret_cast<const char*>(strs->data()) + n) != name) continue;
    return *elf->file_offset(*load_u64(*syms, off + 8), true);
  }
  FAIL("symbol " << name << " not in .symtab");
  return 0;
}

#ifdef SM_GO
// File offsets of the RET instructions `go tool objdump` lists in crypto/tls.(*Conn).<method>.
std::vector<std::uint64_t> objdump_rets(const ElfView& elf, const std::string& binary,
                                        const std::string& method) {
  const std::string cmd =
      std::string(SM_GO) + " tool objdump -s '^crypto/tls.\\(\\*Conn\\)." + method + "$' " + binary;
  std::FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p);
  std::vector<std::uint64_t> out;
  char line[512];
  while (std::fgets(line, sizeof(line), p)) {
    std::string_view l(line);
    if (l.find("\tRET") == std::string_view::npos) continue;
    auto x = l.find("0x");
    REQUIRE(x != std::string_view::npos);
    out.push_back(*elf.file_offset(std::stoull(std::string(l.substr(x)), nullptr, 16), true));
  }
  ::pclose(p);
  REQUIRE_FALSE(out.empty());
  return out;
}
#endif

void check_usable(const std::vector<std::uint8_t>& img, const GoInspection& r) {
  INFO(r.detail);
  REQUIRE(r.is_go);
  REQUIRE(r.refusal.empty());
  CHECK(r.go_version.rfind("go1.", 0) == 0);
  for (const GoFunction* f : {&r.write, &r.read}) {
    REQUIRE(f->entry < img.size());
    // Go 1.17+ amd64 functions open with the stack check against 16(R14): CMPQ SP or R12 (after
    // LEAQ -frame(SP), R12), encoded 4[9d] 3b 66 10.
    std::string_view head(reinterpret_cast<const char*>(img.data() + f->entry), 16);
    CHECK(head.find("\x3b\x66\x10") != std::string_view::npos);
    CHECK(head.find("\x3b\x66\x10") <= 9);
    REQUIRE_FALSE(f->rets.empty());
    for (auto ret : f->rets) {
      CHECK(ret > f->entry);
      CHECK(ret - f->entry < 4096);
      CHECK(img[ret] == 0xc3);
    }
  }
  CHECK(r.write.entry != r.read.entry);
}

}  // namespace

TEST_CASE("RET finder: linear decoding, not a byte search") {
  // mov eax, 0xc3c3c3c3; ret; nop; ret 8; int3
  const std::uint8_t x86[] = {0xb8, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0x90, 0xc2, 0x08, 0x00, 0xcc};
  auto r = find_returns(kAmd64, Bytes(x86, sizeof(x86)));
  CHECK(r.error.empty());
  CHECK(r.offsets == std::vector<std::uint64_t>{5, 7});

  // arm64: nop; ret; nop
  const std::uint8_t a64[] = {0x1f, 0x20, 0x03, 0xd5, 0xc0, 0x03, 0x5f, 0xd6, 0x1f, 0x20, 0x03, 0xd5};
  r = find_returns(kArm64, Bytes(a64, sizeof(a64)));
  CHECK(r.error.empty());
  CHECK(r.offsets == std::vector<std::uint64_t>{4});

  // 0x06 (push es) does not exist in 64-bit mode: decoding stops and says where.
  const std::uint8_t bad[] = {0x90, 0xc3, 0x06, 0xc3};
  r = find_returns(kAmd64, Bytes(bad, sizeof(bad)));
  CHECK(r.error.find("+2 of 4") != std::string::npos);

  r = find_returns(40 /* EM_ARM */, Bytes(bad, sizeof(bad)));
  CHECK_FALSE(r.error.empty());
}

TEST_CASE("Go version strings") {
  CHECK(parse_go_version("go1.19.8") == std::make_pair(1, 19));
  CHECK(parse_go_version("go1.22rc1") == std::make_pair(1, 22));
  CHECK_FALSE(parse_go_version("devel +abc"));
  CHECK_FALSE(parse_go_version("go"));
  CHECK_FALSE(parse_go_version("go1."));
}

TEST_CASE("not an ELF, or an ELF without Go build info: not Go") {
  const std::string junk = "definitely not an ELF file";
  auto r = inspect_go_binary(Bytes(reinterpret_cast<const std::uint8_t*>(junk.data()), junk.size()), kAmd64);
  CHECK_FALSE(r.is_go);
  auto self = read_file("/proc/self/exe");
  REQUIRE(self.size() > 1000);
  r = inspect_go_binary(bytes(self), kAmd64);
  CHECK_FALSE(r.is_go);
  CHECK(r.refusal.empty());
}

TEST_CASE("a non-Go ELF with a forged Go build info header: Go, refused for want of a pclntab") {
  auto img = read_file("/proc/self/exe");
  while (img.size() % 16) img.push_back(0);
  const std::string hdr =
      std::string("\xff Go buildinf:", 14) + '\x08' + '\x02' + std::string(16, '\0') + '\x08' + "go1.21.5";
  img.insert(img.end(), hdr.begin(), hdr.end());
  auto r = inspect_go_binary(bytes(img), kAmd64);
  CHECK(r.is_go);
  CHECK(r.go_version == "go1.21.5");
  CHECK(r.refusal == kRefuseNoPclntab);

  // The same header claiming Go 1.16: refused for its ABI before any table is read.
  const auto at = img.size() - hdr.size();
  std::memcpy(img.data() + at + 33, "go1.16.1", 8);
  r = inspect_go_binary(bytes(img), kAmd64);
  CHECK(r.refusal == kRefuseVersion);
  CHECK(r.detail.find("go1.16.1: stack ABI") != std::string::npos);
}

TEST_CASE("the fuzzer's synthetic seeds are read through to the RET sites") {
  const std::string dir = SM_GO_CORPUS;
  for (const char* name : {"go118_sections", "go120_no_sections"}) {
    INFO(name);
    auto img = read_file(dir + "/" + name);
    auto r = inspect_go_binary(bytes(img), kAmd64);
    INFO(r.detail);
    REQUIRE(r.refusal.empty());
    CHECK(r.go_version == "go1.21.5");
    CHECK(r.write.entry == 0x110);
    CHECK(r.write.rets == std::vector<std::uint64_t>{0x111, 0x113});
    CHECK(r.read.entry == 0x120);
    CHECK(r.read.rets == std::vector<std::uint64_t>{0x125});  // not the 0xc3 bytes of the immediate
  }
  auto old = read_file(dir + "/go116_pclntab");
  auto r = inspect_go_binary(bytes(old), kAmd64);
  CHECK(r.go_version == "go1.17.3");
  CHECK(r.refusal == kRefuseVersion);
}

#ifdef SM_GO_CLIENT
TEST_CASE("unstripped Go binary: Write/Read found by pclntab where the symbol table says") {
  auto img = read_file(SM_GO_CLIENT);
  REQUIRE(img.size() > 100000);
  auto r = inspect_go_binary(bytes(img), kAmd64);
  check_usable(img, r);
  CHECK(r.write.entry == symtab_offset(img, kGoWrite));
  CHECK(r.read.entry == symtab_offset(img, kGoRead));
  // Every RET Go's own disassembler lists, and no other.
  auto elf = ElfView::parse(bytes(img));
  CHECK(r.write.rets == objdump_rets(*elf, SM_GO_CLIENT, "Write"));
  CHECK(r.read.rets == objdump_rets(*elf, SM_GO_CLIENT, "Read"));
}

TEST_CASE("stripped Go binary (-s -w): found without a symbol table, with and without section headers") {
  auto img = read_file(SM_GO_CLIENT_STRIPPED);
  REQUIRE(img.size() > 100000);
  auto elf = ElfView::parse(bytes(img));
  REQUIRE(elf);
  CHECK_FALSE(elf->section(".symtab"));
  auto r = inspect_go_binary(bytes(img), kAmd64);
  check_usable(img, r);

  // No section table at all: the build info and the pclntab are found by their headers.
  auto bare = img;
  std::memset(bare.data() + 40, 0, 8);  // e_shoff
  std::memset(bare.data() + 60, 0, 4);  // e_shnum, e_shstrndx
  auto b = inspect_go_binary(bytes(bare), kAmd64);
  check_usable(bare, b);
  CHECK(b.go_version == r.go_version);
  CHECK(b.write.entry == r.write.entry);
  CHECK(b.read.entry == r.read.entry);
  CHECK(b.read.rets == r.read.rets);

  SECTION("another architecture's agent refuses it") {
    auto a = inspect_go_binary(bytes(img), kArm64);
    CHECK(a.refusal == kRefuseArch);
  }
}

TEST_CASE("damaged Go binaries are refused with the reason, never misread") {
  const auto img = read_file(SM_GO_CLIENT_STRIPPED);
  auto elf = ElfView::parse(bytes(img));
  REQUIRE(elf);
  const auto tab = elf->section(".gopclntab");
  REQUIRE(tab);

  SECTION("pclntab of Go 1.16/1.17") {
    auto v = img;
    const std::uint32_t old = 0xfffffffa;
    std::memcpy(v.data() + tab->offset, &old, 4);
    auto r = inspect_go_binary(bytes(v), kAmd64);
    CHECK(r.refusal == kRefuseVersion);
    CHECK(r.detail.find("0xfffffffa") != std::string::npos);
  }
  SECTION("garbage magic") {
    auto v = img;
    std::memset(v.data() + tab->offset, 0x41, 4);
    CHECK(inspect_go_binary(bytes(v), kAmd64).refusal == kRefuseBadPclntab);
  }
  SECTION("function count beyond the table") {
    auto v = img;
    std::memset(v.data() + tab->offset + 8, 0x7f, 8);
    CHECK(inspect_go_binary(bytes(v), kAmd64).refusal == kRefuseBadPclntab);
  }
  SECTION("the function's name changed") {
    auto v = img;
    const std::string name = std::string(kGoRead) + '\0';
    const auto at = find(v, name);
    REQUIRE(at != std::string::npos);
    v[at + name.size() - 5] = 'X';  // crypto/tls.(*Conn).Xead
    auto r = inspect_go_binary(bytes(v), kAmd64);
    CHECK(r.refusal == kRefuseNotFound);
    CHECK(r.detail.find("crypto/tls.(*Conn).Read not found") != std::string::npos);
  }
  SECTION("cut short anywhere: a refusal, not Go, or (all it needs still there) the same answer") {
    const auto whole = inspect_go_binary(bytes(img), kAmd64);
    int refused = 0;
    for (std::size_t cut = 0; cut < img.size(); cut += img.size() / 97 + 1) {
      auto r = inspect_go_binary(Bytes(img.data(), cut), kAmd64);
      if (!r.is_go || !r.refusal.empty()) {
        ++refused;
        continue;
      }
      CHECK(r.write.entry == whole.write.entry);
      CHECK(r.read.rets == whole.read.rets);
    }
    CHECK(refused > 80);
  }
}
#else
TEST_CASE("Go binaries") { WARN("SKIP: go not found at configure time; Go binary cases not built"); }
#endif
