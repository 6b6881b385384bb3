// Finds every file a tap can read in running processes, in any mount namespace, and keeps its
// uprobes attached once per (device, inode) for as long as the file is in use: the OpenSSL API
// (shared libssl, executables that link it statically such as node) and Go executables (the Go
// tap: crypto/tls found through the function table). See probes/tap.h.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <vector>

#include "probes/bpf_probes.h"
#include "probes/gotls/go_binary.h"
#include "probes/proc_maps.h"
#include "probes/tap.h"

namespace shadowmeter::probes {

struct AttachOptions {
  std::string proc_root = "/proc";
  // Where the host's own filesystem is seen ("" = <proc_root>/1/root). Files found there stay
  // attached with no users; others (a stopped container's layers) are detached after the grace.
  std::string host_root;
  std::chrono::seconds detach_grace{60};
  std::size_t max_pending_scans = 4096;
  bool go_tls = true;  // inspect Go executables and attach the Go tap
  // Called once per (pid, file) when a scan finds a process using a probed TLS file: the agent reads
  // the process's /proc entry then, while it surely exists (a process that started before the agent
  // has no exec record, and may exit before its first captured bytes are consumed).
  std::function<void(pid_t)> on_tls_user;
};

struct AttachStats {
  std::uint64_t attach_failures = 0;  // every tap: the kernel refused a file's probes
  std::uint64_t go_attached = 0;      // Go executables attached
  std::map<std::string, std::uint64_t> go_refusals;  // Go executables refused, by gotls::kRefuse* code
  std::uint64_t files_checked = 0;
  std::uint64_t scans = 0;
  std::uint64_t pending_dropped = 0;
};

// The part that attaches, so the manager can be tested without BPF.
class Attacher {
 public:
  virtual ~Attacher() = default;
  virtual std::unique_ptr<UprobeSet> attach(const std::string& path, const SymbolOffsets& syms) = 0;
  virtual std::unique_ptr<UprobeSet> attach_go(const std::string& path, const gotls::GoInspection& go) = 0;
};

class AttachManager {
 public:
  using Clock = std::chrono::steady_clock;
  AttachManager(Attacher& attacher, AttachOptions opts);

  // Every process in /proc (at start, then periodically to catch dlopen).
  void scan_all();
  // One process: its executable and its TLS libraries.
  void scan_pid(pid_t pid);
  // A process image was just replaced: scan now (the executable is mapped) and again shortly
  // (the dynamic loader maps the libraries after exec returns).
  void on_exec(pid_t pid);
  void on_exit(pid_t pid);
  // The process just mapped a TLS library (reported from the mmap syscall, before the mapping
  // exists): scan it in a moment.
  void on_library_mapped(pid_t pid);
  // Runs due rescans and detaches files unused past the grace period. Returns the time until the
  // next due rescan (or nullopt when none is pending).
  std::optional<Clock::duration> tick(Clock::time_point now = Clock::now());

  std::size_t attached_files() const { return attached_.size(); }
  // Why a process's TLS connections may be unreadable, from what its executable's inspection found:
  // "no_plaintext_seen" for a Go executable the Go tap is attached to, "go_<refusal code>" for one
  // it refused, nullopt when its executable is neither (the caller's guess stands).
  std::optional<std::string> visibility_reason(pid_t pid) const;
  const AttachStats& stats() const { return stats_; }

 private:
  struct AttachedFile {
    std::unique_ptr<UprobeSet> probes;
    Tap tap = Tap::openssl;
    std::string path;       // path inside the owning process's mount namespace
    bool host_visible = false;  // the same file is reachable from the agent's own root
    std::set<pid_t> users;
    Clock::time_point unused_since{};
  };
  void consider(pid_t pid, const Mapping& m, bool is_main_exe);
  // The Go tap's look at a main executable without the OpenSSL API; false: not a Go binary.
  bool consider_go(pid_t pid, const Mapping& m, const std::string& path, int fd);
  void remember_unusable(const FileId& id);
  bool host_has(const Mapping& m) const;

  Attacher& attacher_;
  AttachOptions opts_;
  std::map<FileId, AttachedFile> attached_;
  std::set<FileId> without_ssl_;  // checked: nothing any tap can read; bounded
  std::map<FileId, std::string> go_refused_;  // Go executables refused: the refusal code; bounded
  std::map<pid_t, std::vector<FileId>> pid_files_;
  using Pending = std::pair<Clock::time_point, pid_t>;
  std::priority_queue<Pending, std::vector<Pending>, std::greater<>> pending_;
  AttachStats stats_;
  bool host_root_is_own_ = false;
};

}  // namespace shadowmeter::probes
