// BPF uprobe-multi links: uprobes created with BPF_LINK_CREATE (attach type BPF_TRACE_UPROBE_MULTI,
// Linux 6.6+) instead of perf events. Since Linux 6.16 (and the stable kernels that took commit
// ba677dbe77af "perf: Revert to requiring CAP_SYS_ADMIN for uprobes") only CAP_SYS_ADMIN may create
// perf uprobes, while these links need just CAP_BPF + CAP_PERFMON (those that load the program).
// Debian 12's libbpf (1.1) predates them, so the link is created with the raw bpf(2) syscall.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace shadowmeter::probes {

// BPF_TRACE_UPROBE_MULTI in the kernel's enum bpf_attach_type (absent from older uapi headers).
inline constexpr int kTraceUprobeMulti = 48;

// An owned BPF file descriptor (a link: the kernel detaches its probes when it is closed).
class LinkFd {
 public:
  LinkFd() = default;
  explicit LinkFd(int fd) : fd_(fd) {}
  ~LinkFd();
  LinkFd(LinkFd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  LinkFd& operator=(LinkFd&& o) noexcept;
  LinkFd(const LinkFd&) = delete;
  LinkFd& operator=(const LinkFd&) = delete;
  bool valid() const { return fd_ >= 0; }
  int get() const { return fd_; }

 private:
  int fd_ = -1;
};

// Attaches the program (loaded with expected attach type kTraceUprobeMulti) at every file offset in
// `offsets` of `path`, as return probes when `retprobe`, in every process. On failure the LinkFd is
// invalid and errno says why.
LinkFd attach_uprobe_multi(int prog_fd, const std::string& path, std::span<const std::uint64_t> offsets,
                           bool retprobe);

// Whether this kernel lets this process create uprobe-multi links: loads a trivial program and
// attaches it (never triggered) to a function of this binary. "" when it works, else why not.
// Probed once per process; later calls return the first answer.
const std::string& uprobe_multi_unavailable();

}  // namespace shadowmeter::probes
