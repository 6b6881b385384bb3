#include "probes/uprobe_multi.h"

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

namespace shadowmeter::probes {
namespace {

// The head of union bpf_attr for BPF_LINK_CREATE with the uprobe_multi member, as the kernel's
// include/uapi/linux/bpf.h has it since 6.6: prog_fd, target_fd, attach_type, flags (4 x u32), then
// the per-type union (8-byte aligned, so at offset 16) whose uprobe_multi member is
//   { u64 path, offsets, ref_ctr_offsets, cookies; u32 cnt, flags, pid; }
// Pointers travel as u64. The system's uapi header may predate the member. The kernel reads
// min(size, its own) bytes and wants anything it knows beyond ours to be zero, which it zero-fills.
struct LinkCreateUprobeMulti {
  std::uint32_t prog_fd = 0;
  std::uint32_t target_fd = 0;  // unused by uprobe-multi
  std::uint32_t attach_type = 0;
  std::uint32_t flags = 0;      // link flags: none
  std::uint64_t path = 0;
  std::uint64_t offsets = 0;
  std::uint64_t ref_ctr_offsets = 0;  // USDT semaphores: none
  std::uint64_t cookies = 0;          // none: each program knows its function
  std::uint32_t cnt = 0;
  std::uint32_t multi_flags = 0;  // BPF_F_UPROBE_MULTI_RETURN
  std::uint32_t pid = 0;          // 0: every process that maps the file
  std::uint32_t pad = 0;
};
static_assert(offsetof(LinkCreateUprobeMulti, path) == 16);
static_assert(offsetof(LinkCreateUprobeMulti, cnt) == 48);
static_assert(sizeof(LinkCreateUprobeMulti) == 64);

constexpr std::uint32_t kUprobeMultiReturn = 1u << 0;  // BPF_F_UPROBE_MULTI_RETURN

// A function of our own for the feature probe to attach to; never called while attached.
[[gnu::noinline]] int probe_target(int x) {
  asm volatile("" ::: "memory");
  return x + 1;
}

// The file offset of `addr` in the file mapped there, from /proc/self/maps.
std::optional<std::uint64_t> file_offset_of(const void* addr) {
  const auto a = reinterpret_cast<std::uintptr_t>(addr);
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    unsigned long long start = 0, end = 0, off = 0;
    if (std::sscanf(line.c_str(), "%llx-%llx %*s %llx", &start, &end, &off) != 3) continue;
    if (a >= start && a < end) return static_cast<std::uint64_t>(a - start + off);
  }
  return std::nullopt;
}

std::string probe() {
  // r0 = 0; exit
  const bpf_insn insns[] = {
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .src_reg = 0, .off = 0, .imm = 0},
      {.code = BPF_JMP | BPF_EXIT, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = 0},
  };
  LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = static_cast<bpf_attach_type>(kTraceUprobeMulti));
  const int prog = bpf_prog_load(BPF_PROG_TYPE_KPROBE, "sm_umulti_probe", "GPL", insns, 2, &opts);
  if (prog < 0) return std::string("loading a uprobe-multi program: ") + std::strerror(-prog);
  const LinkFd prog_owner(prog);  // unloads the program on return
  const auto offset = file_offset_of(reinterpret_cast<const void*>(&probe_target));
  if (!offset) return "cannot find this binary's text in /proc/self/maps";
  const std::uint64_t offsets[] = {*offset};
  LinkFd link = attach_uprobe_multi(prog, "/proc/self/exe", offsets, false);
  if (!link.valid()) {
    const int err = errno;
    // EINVAL: a kernel before 6.6, which knows no such attach type.
    return std::string("BPF_LINK_CREATE(uprobe_multi): ") + std::strerror(err) +
           (err == EINVAL ? " (Linux 6.6 or later has uprobe-multi links)" : "");
  }
  return {};
}

}  // namespace

LinkFd::~LinkFd() {
  if (fd_ >= 0) ::close(fd_);
}

LinkFd& LinkFd::operator=(LinkFd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

LinkFd attach_uprobe_multi(int prog_fd, const std::string& path, std::span<const std::uint64_t> offsets,
                           bool retprobe) {
  LinkCreateUprobeMulti attr{};
  attr.prog_fd = static_cast<std::uint32_t>(prog_fd);
  attr.attach_type = static_cast<std::uint32_t>(kTraceUprobeMulti);
  attr.path = reinterpret_cast<std::uintptr_t>(path.c_str());
  attr.offsets = reinterpret_cast<std::uintptr_t>(offsets.data());
  attr.cnt = static_cast<std::uint32_t>(offsets.size());
  attr.multi_flags = retprobe ? kUprobeMultiReturn : 0;
  const long fd = ::syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));
  return LinkFd(fd < 0 ? -1 : static_cast<int>(fd));
}

const std::string& uprobe_multi_unavailable() {
  static const std::string answer = probe();
  return answer;
}

}  // namespace shadowmeter::probes
