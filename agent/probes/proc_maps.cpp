#include "probes/proc_maps.h"

#include <sys/sysmacros.h>

#include <charconv>
#include <fstream>
#include <set>

namespace shadowmeter::probes {
namespace {

std::string_view next_field(std::string_view& s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  auto sp = s.find(' ');
  std::string_view f = s.substr(0, sp);
  s = sp == std::string_view::npos ? std::string_view{} : s.substr(sp);
  return f;
}

bool hex(std::string_view s, std::uint64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, 16);
  return ec == std::errc{} && p == s.data() + s.size();
}

}  // namespace

std::optional<Mapping> parse_maps_line(std::string_view line) {
  // 7f1c2a000000-7f1c2a0a1000 r-xp 00022000 fd:01 1234567   /usr/lib/x86_64-linux-gnu/libssl.so.3
  Mapping m;
  std::string_view rest = line;
  auto range = next_field(rest);
  auto perms = next_field(rest);
  next_field(rest);  // offset
  auto dev = next_field(rest);
  auto inode = next_field(rest);
  auto dash = range.find('-');
  auto colon = dev.find(':');
  if (dash == std::string_view::npos || colon == std::string_view::npos || perms.size() < 4) return std::nullopt;
  if (!hex(range.substr(0, dash), m.start) || !hex(range.substr(dash + 1), m.end)) return std::nullopt;
  std::uint64_t major = 0, minor = 0;
  if (!hex(dev.substr(0, colon), major) || !hex(dev.substr(colon + 1), minor)) return std::nullopt;
  auto [p, ec] = std::from_chars(inode.data(), inode.data() + inode.size(), m.id.ino);
  if (ec != std::errc{} || p != inode.data() + inode.size()) return std::nullopt;
  m.id.dev = makedev(static_cast<unsigned>(major), static_cast<unsigned>(minor));
  m.executable = perms[2] == 'x';
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  constexpr std::string_view kDeleted = " (deleted)";
  if (rest.size() > kDeleted.size() && rest.substr(rest.size() - kDeleted.size()) == kDeleted) {
    m.deleted = true;
    rest.remove_suffix(kDeleted.size());
  }
  m.path = std::string(rest);
  return m;
}

std::vector<Mapping> read_executable_mappings(const std::string& proc_root, pid_t pid) {
  std::vector<Mapping> out;
  std::ifstream in(proc_root + "/" + std::to_string(pid) + "/maps");
  if (!in) return out;
  std::set<FileId> seen;
  std::string line;
  while (std::getline(in, line)) {
    auto m = parse_maps_line(line);
    if (!m || !m->executable || m->id.ino == 0 || m->path.empty() || m->path.front() != '/') continue;
    if (!seen.insert(m->id).second) continue;
    out.push_back(std::move(*m));
  }
  return out;
}

bool is_tls_library_name(std::string_view path) {
  auto slash = path.rfind('/');
  std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  return base.starts_with("libssl.so") || base.starts_with("libnode.so");
}

}  // namespace shadowmeter::probes
