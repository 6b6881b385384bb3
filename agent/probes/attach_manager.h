// Finds every file that provides the OpenSSL API in running processes (shared libssl, executables
// that link it statically such as node), in any mount namespace, and keeps uprobes attached once
// per (device, inode) for as long as the file is in use.
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
#include "probes/proc_maps.h"

namespace shadowmeter::probes {

struct AttachOptions {
  std::string proc_root = "/proc";
  // Where the host's own filesystem is seen ("" = <proc_root>/1/root). Files found there stay
  // attached with no users; others (a stopped container's layers) are detached after the grace.
  std::string host_root;
  std::chrono::seconds detach_grace{60};
  std::size_t max_pending_scans = 4096;
  // Called once per (pid, file) when a scan finds a process using a probed TLS file: the agent reads
  // the process's /proc entry then, while it surely exists (a process that started before the agent
  // has no exec record, and may exit before its first captured bytes are consumed).
  std::function<void(pid_t)> on_tls_user;
};

struct AttachStats {
  std::uint64_t attach_failures = 0;
  std::uint64_t files_checked = 0;
  std::uint64_t scans = 0;
  std::uint64_t pending_dropped = 0;
};

// The part that attaches, so the manager can be tested without BPF.
class Attacher {
 public:
  virtual ~Attacher() = default;
  virtual std::unique_ptr<UprobeSet> attach(const std::string& path, const SymbolOffsets& syms) = 0;
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
  const AttachStats& stats() const { return stats_; }

 private:
  struct AttachedFile {
    std::unique_ptr<UprobeSet> probes;
    std::string path;       // path inside the owning process's mount namespace
    bool host_visible = false;  // the same file is reachable from the agent's own root
    std::set<pid_t> users;
    Clock::time_point unused_since{};
  };
  void consider(pid_t pid, const Mapping& m, bool is_main_exe);
  bool host_has(const Mapping& m) const;

  Attacher& attacher_;
  AttachOptions opts_;
  std::map<FileId, AttachedFile> attached_;
  std::set<FileId> without_ssl_;  // checked: no OpenSSL API; bounded
  std::map<pid_t, std::vector<FileId>> pid_files_;
  using Pending = std::pair<Clock::time_point, pid_t>;
  std::priority_queue<Pending, std::vector<Pending>, std::greater<>> pending_;
  AttachStats stats_;
  bool host_root_is_own_ = false;
};

}  // namespace shadowmeter::probes
