#include "netconn/dns_message.h"

#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace shadowmeter::netconn {
namespace {

constexpr std::size_t kMaxName = 255;
constexpr int kMaxPointers = 64;
constexpr std::size_t kMaxChain = 16;
constexpr std::size_t kMaxRecords = 256;

std::uint32_t be(std::string_view m, std::size_t pos, int n) {
  std::uint32_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<std::uint8_t>(m[pos + static_cast<std::size_t>(i)]);
  return v;
}

// Reads the name at `pos`; `end` receives the offset after it in the record (not after a jump).
bool read_name(std::string_view m, std::size_t pos, std::string& out, std::size_t& end) {
  out.clear();
  bool jumped = false;
  int pointers = 0;
  std::size_t limit = pos;  // a pointer must go strictly before the label that holds it
  while (true) {
    if (pos >= m.size()) return false;
    const auto len = static_cast<std::uint8_t>(m[pos]);
    if ((len & 0xc0) == 0xc0) {
      if (pos + 1 >= m.size() || ++pointers > kMaxPointers) return false;
      const std::size_t target = ((len & 0x3fu) << 8) | static_cast<std::uint8_t>(m[pos + 1]);
      if (target >= limit) return false;  // forward or self pointer: a loop
      if (!jumped) end = pos + 2;
      jumped = true;
      pos = limit = target;
      continue;
    }
    if (len & 0xc0) return false;  // extended label types
    if (len == 0) {
      if (!jumped) end = pos + 1;
      return true;
    }
    if (pos + 1 + len > m.size()) return false;
    if (!out.empty()) out.push_back('.');
    for (std::size_t i = 0; i < len; ++i) {
      char c = m[pos + 1 + i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      out.push_back(c);
    }
    if (out.size() > kMaxName) return false;
    pos += 1 + len;
  }
}

DnsResponse fail(DnsResponse r, const char* why) {
  r.ok = false;
  r.error = why;
  r.question.clear();
  r.cnames.clear();
  r.addresses.clear();
  return r;
}

}  // namespace

DnsResponse parse_dns_response(std::string_view m, bool tcp) {
  DnsResponse r;
  if (tcp) {
    if (m.size() < 2) return fail(r, "short");
    const std::size_t len = be(m, 0, 2);
    m = m.substr(2, std::min(len, m.size() - 2));
  }
  if (m.size() < 12) return fail(r, "short");
  const std::uint32_t flags = be(m, 2, 2);
  if (!(flags & 0x8000)) return fail(r, "not_response");
  if ((flags >> 11 & 0xf) != 0) return fail(r, "not_query");
  if ((flags & 0xf) != 0) return fail(r, "rcode");
  const std::uint32_t qd = be(m, 4, 2), an = be(m, 6, 2);
  if (qd != 1) return fail(r, "questions");
  std::size_t pos = 12;
  if (!read_name(m, pos, r.question, pos) || r.question.empty()) return fail(r, "bad_name");
  if (pos + 4 > m.size()) return fail(r, "short");
  pos += 4;
  // Records of interest, then the chain from the question.
  struct Rec {
    std::string owner;
    std::uint16_t type;
    std::string target;  // CNAME
    DnsAddress addr;
  };
  std::vector<Rec> recs;
  for (std::uint32_t i = 0; i < an && recs.size() < kMaxRecords; ++i) {
    Rec rec;
    if (!read_name(m, pos, rec.owner, pos)) return fail(r, "bad_name");
    if (pos + 10 > m.size()) return fail(r, "short");
    rec.type = static_cast<std::uint16_t>(be(m, pos, 2));
    const std::uint32_t cls = be(m, pos + 2, 2);
    rec.addr.ttl = be(m, pos + 4, 4);
    const std::size_t rdlen = be(m, pos + 8, 2);
    pos += 10;
    if (pos + rdlen > m.size()) return fail(r, "short");
    if (cls == 1 && rec.type == 1 && rdlen == 4) {
      rec.addr.family = AF_INET;
      std::memcpy(rec.addr.addr, m.data() + pos, 4);
      recs.push_back(std::move(rec));
    } else if (cls == 1 && rec.type == 28 && rdlen == 16) {
      rec.addr.family = AF_INET6;
      std::memcpy(rec.addr.addr, m.data() + pos, 16);
      recs.push_back(std::move(rec));
    } else if (cls == 1 && rec.type == 5) {
      std::size_t after = 0;
      if (!read_name(m, pos, rec.target, after)) return fail(r, "bad_name");
      recs.push_back(std::move(rec));
    }
    pos += rdlen;
  }
  // Follow the chain: only records owned by the question or a name it points to count.
  std::vector<std::string> names{r.question};
  for (std::size_t step = 0; step < kMaxChain; ++step) {
    const std::string& cur = names.back();
    auto it = std::find_if(recs.begin(), recs.end(), [&](const Rec& x) { return x.type == 5 && x.owner == cur; });
    if (it == recs.end()) break;
    if (std::find(names.begin(), names.end(), it->target) != names.end()) break;  // CNAME loop
    names.push_back(it->target);
    r.cnames.push_back(it->target);
  }
  for (const auto& rec : recs)
    if (rec.type != 5 && std::find(names.begin(), names.end(), rec.owner) != names.end())
      r.addresses.push_back(rec.addr);
  r.ok = true;
  return r;
}

}  // namespace shadowmeter::netconn
