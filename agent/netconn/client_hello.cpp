#include "netconn/client_hello.h"

#include <algorithm>
#include <utility>

namespace shadowmeter::netconn {
namespace {

constexpr std::size_t kMaxAlpn = 16;
constexpr std::size_t kMaxNameLen = 253;

// Big-endian reader over a byte range; every read checks the bounds and sets `short_`.
class Reader {
 public:
  explicit Reader(std::string_view b) : b_(b) {}
  bool u8(std::uint32_t& v) { return take(1, v); }
  bool u16(std::uint32_t& v) { return take(2, v); }
  bool u24(std::uint32_t& v) { return take(3, v); }
  bool skip(std::size_t n) {
    if (b_.size() - pos_ < n) return fail();
    pos_ += n;
    return true;
  }
  bool bytes(std::size_t n, std::string_view& out) {
    if (b_.size() - pos_ < n) return fail();
    out = b_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  std::size_t left() const { return b_.size() - pos_; }
  bool cut() const { return short_; }

 private:
  bool take(std::size_t n, std::uint32_t& v) {
    if (b_.size() - pos_ < n) return fail();
    v = 0;
    for (std::size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<std::uint8_t>(b_[pos_ + i]);
    pos_ += n;
    return true;
  }
  bool fail() {
    short_ = true;
    return false;
  }
  std::string_view b_;
  std::size_t pos_ = 0;
  bool short_ = false;
};

bool valid_host_name(std::string_view n) {
  if (n.empty() || n.size() > kMaxNameLen) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_';
  });
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  while (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

void read_sni(std::string_view ext, ClientHello& out) {
  Reader r(ext);
  std::uint32_t list_len = 0;
  if (!r.u16(list_len)) return;
  while (r.left() >= 3) {
    std::uint32_t type = 0, len = 0;
    std::string_view name;
    if (!r.u8(type) || !r.u16(len) || !r.bytes(len, name)) return;
    if (type == 0 && valid_host_name(name)) {
      out.sni = lower(name);
      return;
    }
  }
}

void read_alpn(std::string_view ext, ClientHello& out) {
  Reader r(ext);
  std::uint32_t list_len = 0;
  if (!r.u16(list_len)) return;
  while (r.left() >= 1 && out.alpn.size() < kMaxAlpn) {
    std::uint32_t len = 0;
    std::string_view proto;
    if (!r.u8(len) || len == 0 || !r.bytes(len, proto)) return;
    out.alpn.emplace_back(proto);
  }
}

}  // namespace

const char* to_string(HelloStatus s) {
  switch (s) {
    case HelloStatus::ok: return "ok";
    case HelloStatus::truncated: return "truncated";
    case HelloStatus::not_tls: return "not_tls";
    case HelloStatus::malformed: return "malformed";
  }
  return "unknown";
}

ClientHello parse_client_hello(std::string_view bytes) {
  ClientHello out;
  // Join the payloads of the handshake records at the start of the write.
  std::string hs;
  bool records_cut = false;
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    if (bytes.size() - pos < 5) {
      records_cut = true;
      break;
    }
    const auto type = static_cast<std::uint8_t>(bytes[pos]);
    const auto major = static_cast<std::uint8_t>(bytes[pos + 1]);
    const std::size_t len = (std::size_t{static_cast<std::uint8_t>(bytes[pos + 3])} << 8) |
                            static_cast<std::uint8_t>(bytes[pos + 4]);
    if (type != 0x16 || major != 3 || len == 0 || len > (1u << 14) + 2048) {
      if (pos == 0) return out;  // not_tls
      break;                     // something after the handshake records
    }
    const std::size_t avail = std::min(len, bytes.size() - pos - 5);
    hs.append(bytes.substr(pos + 5, avail));
    pos += 5 + avail;
    if (avail < len) {
      records_cut = true;
      break;
    }
  }
  if (hs.empty()) {
    out.status = records_cut ? HelloStatus::truncated : HelloStatus::not_tls;
    return out;
  }
  Reader r(hs);
  std::uint32_t msg_type = 0, msg_len = 0;
  if (!r.u8(msg_type)) {
    out.status = HelloStatus::truncated;
    return out;
  }
  if (msg_type != 1) return out;  // not a ClientHello: not_tls
  if (!r.u24(msg_len)) {
    out.status = HelloStatus::truncated;
    return out;
  }
  std::uint32_t sid_len = 0, cs_len = 0, comp_len = 0, ext_len = 0;
  std::string_view exts;
  const bool head_ok = r.skip(2 + 32) && r.u8(sid_len) && r.skip(sid_len) && r.u16(cs_len) && r.skip(cs_len) &&
                       r.u8(comp_len) && r.skip(comp_len);
  if (!head_ok) {
    out.status = HelloStatus::truncated;
    return out;
  }
  if (r.left() == 0) {
    // No extensions at all (SSLv3-style hello): complete only if the message says so.
    out.status = records_cut || hs.size() < 4 + msg_len ? HelloStatus::truncated : HelloStatus::ok;
    return out;
  }
  if (!r.u16(ext_len)) {
    out.status = HelloStatus::truncated;
    return out;
  }
  const bool ext_cut = r.left() < ext_len;
  if (!ext_cut && 4 + msg_len < hs.size() - r.left() + ext_len) {
    out.status = HelloStatus::malformed;  // extensions run past the message
    return out;
  }
  r.bytes(std::min<std::size_t>(ext_len, r.left()), exts);
  Reader e(exts);
  bool seen_sni = false, seen_alpn = false;
  while (e.left() >= 4) {
    std::uint32_t type = 0, len = 0;
    std::string_view body;
    e.u16(type);
    e.u16(len);
    if (!e.bytes(len, body)) break;  // cut inside this extension
    // RFC 8446 4.2: no extension type twice. A server refuses such a hello; we take no name from it
    // (otherwise a longer read of the same bytes could name another host than a shorter one).
    if ((type == 0 && std::exchange(seen_sni, true)) || (type == 16 && std::exchange(seen_alpn, true))) {
      out.sni.clear();
      out.alpn.clear();
      out.status = HelloStatus::malformed;
      return out;
    }
    if (type == 0) read_sni(body, out);
    else if (type == 16) read_alpn(body, out);
    else if (type == 0xfe0d) out.ech = true;
  }
  out.status = ext_cut ? HelloStatus::truncated : e.left() != 0 ? HelloStatus::malformed : HelloStatus::ok;
  return out;
}

}  // namespace shadowmeter::netconn
