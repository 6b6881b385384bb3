#include "probes/attach_manager.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <cstring>
#include <stdexcept>

#include "common/log.h"

namespace shadowmeter::probes {
namespace {

constexpr std::size_t kMaxNegativeCache = 16384;
constexpr std::uint64_t kMaxGoImageBytes = 512ull << 20;  // larger executables are not read
// Rescans after exec: the loader maps libraries within milliseconds, dlopen may come later.
constexpr std::array<std::chrono::milliseconds, 4> kExecRescans = {
    std::chrono::milliseconds(5), std::chrono::milliseconds(30), std::chrono::milliseconds(200),
    std::chrono::milliseconds(2000)};

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string read_link(const std::string& path) {
  std::array<char, 4096> buf{};
  ssize_t n = ::readlink(path.c_str(), buf.data(), buf.size() - 1);
  if (n <= 0) return {};
  return std::string(buf.data(), static_cast<std::size_t>(n));
}

bool same_file(int fd, const FileId& id) {
  struct stat st{};
  return ::fstat(fd, &st) == 0 && st.st_ino == id.ino && st.st_dev == id.dev;
}

}  // namespace

AttachManager::AttachManager(Attacher& attacher, AttachOptions opts) : attacher_(attacher), opts_(std::move(opts)) {
  if (opts_.host_root.empty()) {
    // pid 1's root is the host's, but some sandboxes deny it even to root: fall back to our own.
    const std::string init_root = opts_.proc_root + "/1/root/";
    opts_.host_root = ::access(init_root.c_str(), X_OK) == 0 ? opts_.proc_root + "/1/root" : "";
    host_root_is_own_ = opts_.host_root.empty();
  }
}

void AttachManager::scan_all() {
  DIR* dir = ::opendir(opts_.proc_root.c_str());
  if (!dir) return;
  std::vector<pid_t> pids;
  while (dirent* e = ::readdir(dir)) {
    pid_t pid = 0;
    auto len = std::strlen(e->d_name);
    auto [p, ec] = std::from_chars(e->d_name, e->d_name + len, pid);
    if (ec == std::errc{} && p == e->d_name + len && pid > 0) pids.push_back(pid);
  }
  ::closedir(dir);
  for (pid_t pid : pids) scan_pid(pid);
}

void AttachManager::scan_pid(pid_t pid) {
  if (pid == ::getpid()) return;
  ++stats_.scans;
  const std::string base = opts_.proc_root + "/" + std::to_string(pid);
  std::string exe = read_link(base + "/exe");
  constexpr std::string_view kDeleted = " (deleted)";
  if (exe.size() > kDeleted.size() && exe.ends_with(kDeleted)) exe.resize(exe.size() - kDeleted.size());
  auto mappings = read_executable_mappings(opts_.proc_root, pid);
  auto& files = pid_files_[pid];
  for (const auto& m : mappings) {
    bool is_exe = !exe.empty() && m.path == exe;
    if (!is_exe && !is_tls_library_name(m.path)) continue;
    consider(pid, m, is_exe);
    auto it = attached_.find(m.id);
    if (it == attached_.end()) continue;
    if (it->second.users.insert(pid).second) {
      files.push_back(m.id);
      if (opts_.on_tls_user) opts_.on_tls_user(pid);
    }
  }
  if (files.empty()) pid_files_.erase(pid);
}

bool AttachManager::host_has(const Mapping& m) const {
  // The host's root as pid 1 sees it, which is right whether the agent runs on the host or in a
  // container with the host's /proc (hostPID).
  struct stat st{};
  const std::string host_path = (host_root_is_own_ ? std::string() : opts_.host_root) + m.path;
  return ::stat(host_path.c_str(), &st) == 0 && st.st_ino == m.id.ino && st.st_dev == m.id.dev;
}

void AttachManager::consider(pid_t pid, const Mapping& m, bool is_main_exe) {
  if (attached_.count(m.id) || without_ssl_.count(m.id)) return;
  const std::string base = opts_.proc_root + "/" + std::to_string(pid);
  // Through the process's root so a container's own copy (another mount namespace) is what we
  // open; map_files names the exact mapped file even when the path no longer resolves to it.
  std::string path = base + "/root" + m.path;
  int raw = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (raw >= 0 && !same_file(raw, m.id)) {
    ::close(raw);
    raw = -1;
  }
  if (raw < 0) {
    char range[64];
    std::snprintf(range, sizeof(range), "/map_files/%llx-%llx", static_cast<unsigned long long>(m.start),
                  static_cast<unsigned long long>(m.end));
    path = base + range;
    raw = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (raw >= 0 && !same_file(raw, m.id)) {
      ::close(raw);
      raw = -1;
    }
  }
  Fd fd(raw);
  if (fd.get() < 0) return;  // the process is gone, or the file was replaced under it
  // Attach through our own open file, not the process's root: the process may exit while the
  // probes are placed (a short-lived client), and its /proc/PID/root then resolves to nothing.
  path = "/proc/self/fd/" + std::to_string(fd.get());
  ++stats_.files_checked;
  auto syms = find_function_offsets(fd.get(), ssl_symbol_names());
  const bool usable = syms && syms->offsets.count("SSL_write") && syms->offsets.count("SSL_read");
  if (!usable) {
    if (is_main_exe && opts_.go_tls && consider_go(pid, m, path, fd.get())) return;
    remember_unusable(m.id);
    if (!is_main_exe) log::warn("no OpenSSL API symbols in " + m.path + " (pid " + std::to_string(pid) + ")");
    return;
  }
  try {
    AttachedFile f;
    f.probes = attacher_.attach(path, *syms);
    f.path = m.path;
    f.host_visible = host_has(m);
    log::info("attached " + std::to_string(f.probes ? f.probes->size() : 0) + " probes to " + m.path +
              " (pid " + std::to_string(pid) + ", inode " + std::to_string(m.id.ino) + ")");
    attached_.emplace(m.id, std::move(f));
  } catch (const std::exception& e) {
    ++stats_.attach_failures;
    remember_unusable(m.id);  // do not retry a file the kernel refused on every scan
    log::warn("attach failed for " + m.path + " (pid " + std::to_string(pid) + "): " + e.what());
  }
}

void AttachManager::remember_unusable(const FileId& id) {
  if (without_ssl_.size() >= kMaxNegativeCache) without_ssl_.clear();
  without_ssl_.insert(id);
}

bool AttachManager::consider_go(pid_t pid, const Mapping& m, const std::string& path, int fd) {
  struct stat st{};
  if (::fstat(fd, &st) != 0 || st.st_size <= 0 || static_cast<std::uint64_t>(st.st_size) > kMaxGoImageBytes)
    return false;
  // Read, not mmap: a mapping of a file that already has uprobes (ours from another run, another
  // tool's) gets their breakpoints written into it, and the RET instructions would read as INT3.
  std::vector<std::uint8_t> image(static_cast<std::size_t>(st.st_size));
  std::size_t got = 0;
  while (got < image.size()) {
    const ssize_t n = ::pread(fd, image.data() + got, image.size() - got, static_cast<off_t>(got));
    if (n <= 0) return false;
    got += static_cast<std::size_t>(n);
  }
  const auto go = gotls::inspect_go_binary(gotls::Bytes(image.data(), image.size()), gotls::host_elf_machine());
  image = {};
  if (!go.is_go) return false;
  const std::string who = m.path + " (pid " + std::to_string(pid) + ", inode " + std::to_string(m.id.ino) + ")";
  std::string refusal = go.refusal;
  std::string detail = go.detail;
  if (refusal.empty()) {
    try {
      AttachedFile f;
      f.probes = attacher_.attach_go(path, go);
      f.tap = Tap::go;
      f.path = m.path;
      f.host_visible = host_has(m);
      log::info("attached " + std::to_string(f.probes ? f.probes->size() : 0) + " Go TLS probes (" + go.go_version +
                ", " + std::to_string(go.write.rets.size() + go.read.rets.size()) + " RET sites) to " + who);
      attached_.emplace(m.id, std::move(f));
      ++stats_.go_attached;
      return true;
    } catch (const std::exception& e) {
      ++stats_.attach_failures;
      refusal = gotls::kRefuseAttach;
      detail = e.what();
    }
  }
  ++stats_.go_refusals[refusal];
  if (go_refused_.size() >= kMaxNegativeCache) go_refused_.clear();
  go_refused_[m.id] = refusal;
  remember_unusable(m.id);
  log::warn("Go TLS not readable in " + who + ": " + detail + "; its connections stay connection_only");
  return true;
}

std::optional<std::string> AttachManager::visibility_reason(pid_t pid) const {
  struct stat st{};
  const std::string exe = opts_.proc_root + "/" + std::to_string(pid) + "/exe";
  if (::stat(exe.c_str(), &st) != 0) return std::nullopt;
  const FileId id{static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino)};
  if (auto it = go_refused_.find(id); it != go_refused_.end()) return "go_" + it->second;
  if (auto it = attached_.find(id); it != attached_.end() && it->second.tap == Tap::go) return "no_plaintext_seen";
  return std::nullopt;
}

void AttachManager::on_exec(pid_t pid) {
  // The old image's files lose this user; the new image is scanned now and again shortly.
  on_exit(pid);
  scan_pid(pid);
  auto now = Clock::now();
  for (auto delay : kExecRescans) {
    if (pending_.size() >= opts_.max_pending_scans) {
      ++stats_.pending_dropped;
      break;
    }
    pending_.emplace(now + delay, pid);
  }
}

void AttachManager::on_library_mapped(pid_t pid) {
  // Reported at syscall entry: the mapping appears microseconds later.
  auto now = Clock::now();
  for (auto delay : {std::chrono::milliseconds(1), std::chrono::milliseconds(20)}) {
    if (pending_.size() >= opts_.max_pending_scans) {
      ++stats_.pending_dropped;
      return;
    }
    pending_.emplace(now + delay, pid);
  }
}

void AttachManager::on_exit(pid_t pid) {
  auto it = pid_files_.find(pid);
  if (it == pid_files_.end()) return;
  auto now = Clock::now();
  for (const auto& id : it->second) {
    auto f = attached_.find(id);
    if (f == attached_.end()) continue;
    f->second.users.erase(pid);
    if (f->second.users.empty()) f->second.unused_since = now;
  }
  pid_files_.erase(it);
}

std::optional<AttachManager::Clock::duration> AttachManager::tick(Clock::time_point now) {
  while (!pending_.empty() && pending_.top().first <= now) {
    pid_t pid = pending_.top().second;
    pending_.pop();
    scan_pid(pid);
  }
  // A file of the host's own filesystem stays attached: the next process to map it must be seen
  // from its first call. Files reachable only through processes that are gone (a stopped
  // container's layer) are detached after the grace period.
  for (auto it = attached_.begin(); it != attached_.end();) {
    auto& f = it->second;
    if (f.users.empty() && !f.host_visible && now - f.unused_since >= opts_.detach_grace) {
      log::info("detached probes from " + f.path + " (no process uses it)");
      it = attached_.erase(it);
    } else {
      ++it;
    }
  }
  if (pending_.empty()) return std::nullopt;
  return pending_.top().first - now;
}

}  // namespace shadowmeter::probes
