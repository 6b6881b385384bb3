// Process attributes for events, read from /proc and cached per pid (refreshed on exec).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "attribution/workload.h"
#include "redaction/command_line.h"

namespace shadowmeter::attribution {

struct ProcessInfo {
  pid_t pid = 0;
  pid_t ppid = 0;
  std::string executable_name;  // basename of the executable (falls back to comm)
  std::string executable_path;  // as seen from the process's own mount namespace
  std::string command_line;     // argv joined by spaces, bounded, as attribution.command_line says
  std::string owner;            // user name of the real uid (numeric when no name is known)
  std::uint32_t uid = 0;
  std::uint64_t start_time_ticks = 0;  // /proc/PID/stat field 22, to tell pid reuse apart
  Workload workload;                   // container, pod or systemd unit, from /proc/PID/cgroup
};

// What the kernel's exec record says about a new process image.
struct ExecRecord {
  pid_t pid = 0;
  pid_t ppid = 0;
  std::uint32_t uid = 0;
  std::uint64_t start_time_ticks = 0;  // as /proc/PID/stat field 22
  std::string_view executable_path;    // the file run (the interpreter for a script)
  std::string_view raw_argv;           // NUL-separated, maybe cut
  bool argv_cut = false;               // raw_argv is a bounded copy that lost the end of argv
  std::string_view comm;
};

class ProcessCache {
 public:
  explicit ProcessCache(std::string proc_root = "/proc", std::size_t max_entries = 65536,
                        redaction::CommandLineMode command_line_mode = redaction::CommandLineMode::redacted);
  // Reads /proc now if the pid is unknown; returns what is known (maybe only comm) if the process
  // is gone. `comm` is the kernel's task name, used when /proc has nothing.
  const ProcessInfo& get(pid_t pid, std::string_view comm = {});
  // exec: the old image is gone; re-read now if the pid is cached (unknown pids are read lazily by
  // get(), so the agent does not read /proc for every exec on the host).
  void on_exec(pid_t pid, std::string_view comm = {});
  // exec with what the kernel captured: no /proc read, so even a process that exits within
  // microseconds is attributed in full.
  void on_exec(const ExecRecord& r);
  // exit: keep the entry for a short while, events of the dying process may still be in flight.
  void on_exit(pid_t pid);
  void on_exit(pid_t pid, std::uint64_t now_ns);  // now_ns: monotonic, as expire() takes it
  // Drops exited entries older than `max_age_ns` (monotonic ns).
  void expire(std::uint64_t now_ns, std::uint64_t max_age_ns);
  std::size_t size() const { return cache_.size(); }
  // A credential this process was seen to send: every occurrence of it in the cached strings
  // (command line, executable path, ...) becomes "***", so no later event of the process carries it.
  void scrub(pid_t pid, std::string_view secret);

 private:
  struct Entry {
    ProcessInfo info;
    std::uint64_t exited_at_ns = 0;  // 0 while running
    std::uint64_t last_used = 0;     // use sequence number, for eviction
  };
  std::optional<ProcessInfo> read(pid_t pid);
  std::optional<std::uint64_t> read_start_time(pid_t pid) const;
  const ProcessInfo& store(pid_t pid, ProcessInfo info, bool gone);
  std::string formatted_cmdline(std::string_view cmdline) const;  // /proc/PID/cmdline as command_line
  void evict_some();
  const std::string& owner_name(std::uint32_t uid);

  std::string proc_root_;
  std::size_t max_entries_;
  redaction::CommandLineMode command_line_mode_;
  std::unordered_map<pid_t, Entry> cache_;
  std::unordered_map<std::uint32_t, std::string> owners_;  // uid -> user name; NSS lookups are slow
  std::uint64_t use_seq_ = 0;
};

}  // namespace shadowmeter::attribution
