// A bounded, read-only view of a 64-bit little-endian ELF image held in memory: its machine, its
// sections by name and the PT_LOAD segments that turn virtual addresses into file offsets. Every
// read is checked against the image; a malformed file gives empty answers, never a fault. Its own
// small reader (not libelf) because it works on a byte span the fuzzer can drive.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace shadowmeter::probes::gotls {

using Bytes = std::span<const std::uint8_t>;

// Little-endian loads that return nullopt past the end.
std::optional<std::uint64_t> load_u64(Bytes b, std::uint64_t off);
std::optional<std::uint32_t> load_u32(Bytes b, std::uint64_t off);
std::optional<std::uint16_t> load_u16(Bytes b, std::uint64_t off);
// b[off, off+len) or nullopt when it does not fit.
std::optional<Bytes> slice(Bytes b, std::uint64_t off, std::uint64_t len);

struct ElfSection {
  std::string_view name;
  std::uint64_t addr = 0;
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
  std::uint32_t type = 0;
};

struct ElfSegment {
  std::uint64_t vaddr = 0;
  std::uint64_t offset = 0;
  std::uint64_t filesz = 0;
  bool executable = false;
};

class ElfView {
 public:
  // nullopt if `image` is not an ELF64 little-endian file with sane headers.
  static std::optional<ElfView> parse(Bytes image);

  std::uint16_t machine() const { return machine_; }
  Bytes image() const { return image_; }
  // The section's bytes (nullopt: absent, NOBITS, or out of the file).
  std::optional<ElfSection> section(std::string_view name) const;
  std::optional<Bytes> section_bytes(const ElfSection& s) const;
  // File offset of a virtual address inside a loaded segment (executable only when asked).
  std::optional<std::uint64_t> file_offset(std::uint64_t vaddr, bool executable_only = false) const;
  // Bytes at a virtual address, `len` of them, all inside one segment's file image.
  std::optional<Bytes> at_vaddr(std::uint64_t vaddr, std::uint64_t len) const;

 private:
  Bytes image_;
  std::uint16_t machine_ = 0;
  std::vector<ElfSection> sections_;
  std::vector<ElfSegment> segments_;
};

}  // namespace shadowmeter::probes::gotls
