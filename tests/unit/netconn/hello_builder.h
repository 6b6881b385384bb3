// Builds TLS ClientHello bytes for the netconn tests and the fuzz corpus.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace shadowmeter::netconn::test {

inline void put16(std::string& s, std::size_t v) {
  s.push_back(static_cast<char>((v >> 8) & 0xff));
  s.push_back(static_cast<char>(v & 0xff));
}

inline std::string extension(std::uint16_t type, const std::string& body) {
  std::string e;
  put16(e, type);
  put16(e, body.size());
  return e + body;
}

// The handshake message (type 1 + 24-bit length + body).
inline std::string client_hello_message(const std::string& sni, const std::vector<std::string>& alpn,
                                        std::size_t padding = 0, bool ech = false,
                                        const std::string& extra_extensions = "") {
  std::string exts;
  if (padding) exts += extension(21, std::string(padding, '\0'));  // before the SNI, as BoringSSL may order
  if (!sni.empty()) {
    std::string list;
    list.push_back(0);
    put16(list, sni.size());
    list += sni;
    std::string body;
    put16(body, list.size());
    exts += extension(0, body + list);
  }
  if (!alpn.empty()) {
    std::string list;
    for (const auto& p : alpn) {
      list.push_back(static_cast<char>(p.size()));
      list += p;
    }
    std::string body;
    put16(body, list.size());
    exts += extension(16, body + list);
  }
  if (ech) exts += extension(0xfe0d, std::string(32, 'e'));
  exts += extra_extensions;
  std::string body;
  put16(body, 0x0303);
  body += std::string(32, 'r');  // random
  body.push_back(32);
  body += std::string(32, 's');  // session id
  put16(body, 4);
  body += std::string("\x13\x01\x13\x02", 4);
  body.push_back(1);
  body.push_back(0);
  put16(body, exts.size());
  body += exts;
  std::string msg;
  msg.push_back(1);
  msg.push_back(static_cast<char>((body.size() >> 16) & 0xff));
  put16(msg, body.size() & 0xffff);
  return msg + body;
}

// The message in TLS records of at most `record_max` payload bytes each.
inline std::string records(const std::string& msg, std::size_t record_max = 16384) {
  std::string out;
  for (std::size_t pos = 0; pos < msg.size(); pos += record_max) {
    const std::string part = msg.substr(pos, record_max);
    out.push_back(0x16);
    out.push_back(0x03);
    out.push_back(0x01);
    put16(out, part.size());
    out += part;
  }
  return out;
}

}  // namespace shadowmeter::netconn::test
