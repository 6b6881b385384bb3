#include "attribution/process_info.h"

#include "redaction/secrets.h"

#include <fcntl.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <ctime>
#include <vector>

namespace shadowmeter::attribution {
namespace {

constexpr std::size_t kMaxCmdlineRead = 32u << 10;  // the formatted line is cut far below this anyway
constexpr std::size_t kMaxCommandLine = 4096;       // bytes of process.command_line
constexpr std::size_t kMaxOwners = 4096;

std::uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<std::uint64_t>(ts.tv_nsec);
}

std::optional<std::string> read_file(const std::string& path, std::size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string out;
  std::array<char, 4096> buf;
  bool ok = true;
  while (out.size() < max_bytes) {
    const std::size_t want = std::min(buf.size(), max_bytes - out.size());
    const ssize_t n = ::read(fd, buf.data(), want);
    if (n < 0) {
      if (errno == EINTR) continue;
      ok = false;  // e.g. ESRCH: the process died between open and read
      break;
    }
    if (n == 0) break;
    out.append(buf.data(), static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (!ok) return std::nullopt;
  return out;
}

std::string read_link(const std::string& path) {
  std::array<char, 4096> buf;
  const ssize_t n = ::readlink(path.c_str(), buf.data(), buf.size());
  if (n <= 0 || static_cast<std::size_t>(n) >= buf.size()) return {};
  std::string s(buf.data(), static_cast<std::size_t>(n));
  constexpr std::string_view kDeleted = " (deleted)";  // the binary was replaced (package upgrade)
  if (s.size() > kDeleted.size() && s.ends_with(kDeleted)) s.resize(s.size() - kDeleted.size());
  return s;
}

template <typename T>
std::optional<T> to_number(std::string_view s) {
  T v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p == s.data()) return std::nullopt;
  return v;
}

struct Stat {
  std::string comm;
  pid_t ppid = 0;
  std::uint64_t start_ticks = 0;
};

// /proc/PID/stat: "pid (comm) state ppid ... starttime(22) ...". comm may hold spaces and ')',
// so fields are counted from the last ')'.
std::optional<Stat> parse_stat(std::string_view s) {
  const auto open = s.find('(');
  const auto close = s.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) return std::nullopt;
  Stat st;
  st.comm = std::string(s.substr(open + 1, close - open - 1));
  std::string_view rest = s.substr(close + 1);
  int field = 2;  // the ')' ends field 2
  while (!rest.empty()) {
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    if (rest.empty()) break;
    const auto end = rest.find(' ');
    const std::string_view tok = rest.substr(0, end);
    ++field;
    if (field == 4) {
      if (auto v = to_number<pid_t>(tok)) st.ppid = *v;
    } else if (field == 22) {
      auto v = to_number<std::uint64_t>(tok);
      if (!v) return std::nullopt;
      st.start_ticks = *v;
      return st;
    }
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end);
  }
  return std::nullopt;
}

}  // namespace

ProcessCache::ProcessCache(std::string proc_root, std::size_t max_entries, redaction::CommandLineMode command_line_mode)
    : proc_root_(std::move(proc_root)),
      max_entries_(std::max<std::size_t>(max_entries, 1)),
      command_line_mode_(command_line_mode) {}

std::string ProcessCache::formatted_cmdline(std::string_view cmdline) const {
  // Read to the bound and not NUL-terminated: the end of argv is missing.
  const bool cut = cmdline.size() >= kMaxCmdlineRead && cmdline.back() != '\0';
  return redaction::format_command_line(cmdline, command_line_mode_, kMaxCommandLine, cut);
}

void ProcessCache::scrub(pid_t pid, std::string_view secret) {
  const auto it = cache_.find(pid);
  if (it == cache_.end()) return;
  ProcessInfo& p = it->second.info;
  for (std::string* s : {&p.executable_name, &p.executable_path, &p.command_line, &p.owner})
    redaction::scrub_exact(*s, secret);
}

const ProcessInfo& ProcessCache::get(pid_t pid, std::string_view comm) {
  if (auto it = cache_.find(pid); it != cache_.end()) {
    // A different start time means the pid was reused by a process we have not seen exec.
    const auto start = read_start_time(pid);
    if (!start || *start == it->second.info.start_time_ticks) {
      Entry& e = it->second;
      e.last_used = ++use_seq_;
      if (e.info.executable_name.empty() && !comm.empty()) e.info.executable_name = std::string(comm);
      return e.info;
    }
  }
  auto info = read(pid);
  if (info) return store(pid, std::move(*info), false);
  ProcessInfo known;
  known.pid = pid;
  known.executable_name = std::string(comm);
  return store(pid, std::move(known), true);
}

void ProcessCache::on_exec(pid_t pid, std::string_view comm) {
  if (!cache_.contains(pid)) return;
  auto info = read(pid);
  if (info) {
    store(pid, std::move(*info), false);
    return;
  }
  ProcessInfo known;
  known.pid = pid;
  known.executable_name = std::string(comm);
  store(pid, std::move(known), true);
}

void ProcessCache::on_exec(const ExecRecord& r) {
  ProcessInfo info;
  info.pid = r.pid;
  info.ppid = r.ppid;
  info.uid = r.uid;
  info.start_time_ticks = r.start_time_ticks;
  // /proc/PID/exe names the file after symlinks (OTel's process.executable.path); the process has
  // only just exec'd, so it is almost always still there. The kernel's path is the fallback.
  info.executable_path = read_link(proc_root_ + "/" + std::to_string(r.pid) + "/exe");
  constexpr std::string_view kDeleted = " (deleted)";
  if (info.executable_path.ends_with(kDeleted)) info.executable_path.resize(info.executable_path.size() - kDeleted.size());
  if (info.executable_path.empty() && r.executable_path.starts_with('/')) info.executable_path = std::string(r.executable_path);
  if (!info.executable_path.empty()) {
    const auto slash = info.executable_path.rfind('/');
    info.executable_name = info.executable_path.substr(slash + 1);
  }
  if (info.executable_name.empty()) info.executable_name = std::string(r.comm);
  // A cut argv: the whole one from /proc while the process is still there, else the cut one with its
  // last fragment hidden.
  std::optional<std::string> whole;
  if (r.argv_cut) whole = read_file(proc_root_ + "/" + std::to_string(r.pid) + "/cmdline", kMaxCmdlineRead);
  if (whole && whole->size() > r.raw_argv.size() && whole->starts_with(r.raw_argv))
    info.command_line = formatted_cmdline(*whole);
  else
    info.command_line = redaction::format_command_line(r.raw_argv, command_line_mode_, kMaxCommandLine, r.argv_cut);
  info.owner = owner_name(r.uid);
  // exec does not change the cgroup, but the agent may not know this pid yet: read it now, while
  // even a short-lived client is still there.
  if (auto cg = read_file(proc_root_ + "/" + std::to_string(r.pid) + "/cgroup", 64u << 10))
    info.workload = parse_proc_cgroup(*cg);
  store(r.pid, std::move(info), false);
}

void ProcessCache::on_exit(pid_t pid) { on_exit(pid, monotonic_ns()); }

void ProcessCache::on_exit(pid_t pid, std::uint64_t now_ns) {
  if (auto it = cache_.find(pid); it != cache_.end())
    it->second.exited_at_ns = std::max<std::uint64_t>(now_ns, 1);
}

void ProcessCache::expire(std::uint64_t now_ns, std::uint64_t max_age_ns) {
  std::erase_if(cache_, [&](const auto& kv) {
    const std::uint64_t t = kv.second.exited_at_ns;
    return t != 0 && now_ns >= t && now_ns - t >= max_age_ns;
  });
}

const ProcessInfo& ProcessCache::store(pid_t pid, ProcessInfo info, bool gone) {
  auto it = cache_.find(pid);
  if (it == cache_.end()) {
    if (cache_.size() >= max_entries_) evict_some();
    it = cache_.emplace(pid, Entry{}).first;
  }
  Entry& e = it->second;
  e.info = std::move(info);
  e.exited_at_ns = gone ? std::max<std::uint64_t>(monotonic_ns(), 1) : 0;
  e.last_used = ++use_seq_;
  return e.info;
}

void ProcessCache::evict_some() {
  // Evict a batch so a full cache does not pay this scan on every new pid: exited entries first
  // (oldest exit first), then the least recently used running ones.
  const std::size_t n = std::min(cache_.size(), std::max<std::size_t>(1, max_entries_ / 16));
  struct Candidate {
    bool running;
    std::uint64_t age_key;
    pid_t pid;
  };
  std::vector<Candidate> all;
  all.reserve(cache_.size());
  for (const auto& [pid, e] : cache_)
    all.push_back({e.exited_at_ns == 0, e.exited_at_ns ? e.exited_at_ns : e.last_used, pid});
  auto older = [](const Candidate& a, const Candidate& b) {
    return a.running != b.running ? !a.running : a.age_key < b.age_key;
  };
  std::nth_element(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n - 1), all.end(), older);
  for (std::size_t i = 0; i < n; ++i) cache_.erase(all[i].pid);
}

std::optional<std::uint64_t> ProcessCache::read_start_time(pid_t pid) const {
  auto s = read_file(proc_root_ + "/" + std::to_string(pid) + "/stat", 4096);
  if (!s) return std::nullopt;
  auto st = parse_stat(*s);
  if (!st) return std::nullopt;
  return st->start_ticks;
}

std::optional<ProcessInfo> ProcessCache::read(pid_t pid) {
  const std::string base = proc_root_ + "/" + std::to_string(pid);
  auto stat_text = read_file(base + "/stat", 4096);
  if (!stat_text) return std::nullopt;
  auto st = parse_stat(*stat_text);
  if (!st) return std::nullopt;

  ProcessInfo info;
  info.pid = pid;
  info.ppid = st->ppid;
  info.start_time_ticks = st->start_ticks;
  std::string comm = std::move(st->comm);
  if (auto c = read_file(base + "/comm", 64)) {
    while (!c->empty() && c->back() == '\n') c->pop_back();
    if (!c->empty()) comm = std::move(*c);
  }

  if (auto cg = read_file(base + "/cgroup", 64u << 10)) info.workload = parse_proc_cgroup(*cg);

  bool have_uid = false;
  if (auto status = read_file(base + "/status", 64u << 10)) {
    std::string_view s = *status;
    while (!s.empty()) {
      const auto nl = s.find('\n');
      std::string_view line = s.substr(0, nl);
      s = nl == std::string_view::npos ? std::string_view{} : s.substr(nl + 1);
      auto value = [&](std::string_view key) -> std::optional<std::string_view> {
        if (!line.starts_with(key)) return std::nullopt;
        std::string_view v = line.substr(key.size());
        while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
        return v.substr(0, v.find_first_of(" \t"));  // Uid: real effective saved fs -> real
      };
      if (auto v = value("Uid:")) {
        if (auto n = to_number<std::uint32_t>(*v)) {
          info.uid = *n;
          have_uid = true;
        }
      } else if (auto p = value("PPid:")) {
        if (auto n = to_number<pid_t>(*p)) info.ppid = *n;
      }
    }
  }

  info.executable_path = read_link(base + "/exe");
  if (!info.executable_path.empty()) {
    const auto slash = info.executable_path.rfind('/');
    info.executable_name = info.executable_path.substr(slash == std::string::npos ? 0 : slash + 1);
  }
  if (info.executable_name.empty()) info.executable_name = comm;
  if (auto cl = read_file(base + "/cmdline", kMaxCmdlineRead)) info.command_line = formatted_cmdline(*cl);
  if (have_uid) info.owner = owner_name(info.uid);
  return info;
}

const std::string& ProcessCache::owner_name(std::uint32_t uid) {
  if (auto it = owners_.find(uid); it != owners_.end()) return it->second;
  if (owners_.size() >= kMaxOwners) owners_.clear();
  std::string name;
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* res = nullptr;
  for (;;) {
    const int rc = getpwuid_r(static_cast<uid_t>(uid), &pw, buf.data(), buf.size(), &res);
    if (rc == ERANGE && buf.size() < (1u << 20)) {
      buf.resize(buf.size() * 2);
      continue;
    }
    if (rc == 0 && res && res->pw_name) name = res->pw_name;
    break;
  }
  if (name.empty()) name = std::to_string(uid);  // no passwd entry (e.g. a container's own user)
  return owners_.emplace(uid, std::move(name)).first->second;
}

}  // namespace shadowmeter::attribution
