// Test helpers for the HTTP/2 decoder: frames built by hand from RFC 9113 §4.1 and §6 (on purpose
// not with the decoder's own constants), header blocks from nghttp2's HPACK deflater, and a sink
// that records what the decoder reports as text.
#pragma once

#include <nghttp2/nghttp2.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocols/http2/decoder.h"

namespace h2test {

using shadowmeter::http2::Failure;
using shadowmeter::http2::Header;
using shadowmeter::http2::Side;
using shadowmeter::http2::Sink;

inline const std::string kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

constexpr std::uint8_t kData = 0x0, kHeaders = 0x1, kPriority = 0x2, kRstStream = 0x3, kSettings = 0x4,
                       kPushPromise = 0x5, kPing = 0x6, kGoaway = 0x7, kWindowUpdate = 0x8,
                       kContinuation = 0x9;
constexpr std::uint8_t kEndStream = 0x1, kAck = 0x1, kEndHeaders = 0x4, kPadded = 0x8, kPriorityFlag = 0x20;
constexpr std::uint16_t kHeaderTableSize = 0x1, kMaxConcurrentStreams = 0x3, kInitialWindowSize = 0x4;

inline std::string u32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

inline std::string frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream,
                         std::string_view payload) {
  const auto len = static_cast<std::uint32_t>(payload.size());
  std::string f{static_cast<char>(len >> 16), static_cast<char>(len >> 8), static_cast<char>(len),
                static_cast<char>(type), static_cast<char>(flags)};
  f += u32(stream);
  f += payload;
  return f;
}

inline std::string settings(const std::vector<std::pair<std::uint16_t, std::uint32_t>>& entries = {}) {
  std::string p;
  for (const auto& [id, value] : entries) {
    p += static_cast<char>(id >> 8);
    p += static_cast<char>(id);
    p += u32(value);
  }
  return frame(kSettings, 0, 0, p);
}
inline std::string settings_ack() { return frame(kSettings, kAck, 0, ""); }

// Pad Length byte + content + `pad` zero bytes (the PADDED layout of DATA, HEADERS, PUSH_PROMISE).
inline std::string padded(std::string_view content, std::uint8_t pad) {
  std::string p(1, static_cast<char>(pad));
  p += content;
  p.append(pad, '\0');
  return p;
}

using Fields = std::vector<std::pair<std::string, std::string>>;

// One direction's HPACK encoder.
class Deflater {
 public:
  explicit Deflater(std::size_t max_table = 4096) {
    nghttp2_hd_deflater* raw = nullptr;
    REQUIRE(nghttp2_hd_deflate_new(&raw, max_table) == 0);
    d_.reset(raw);
  }
  std::string encode(const Fields& fields) {
    std::vector<nghttp2_nv> nva;
    for (const auto& [name, value] : fields) {
      // nghttp2_nv has non-const pointers but the deflater only reads them.
      nva.push_back({const_cast<std::uint8_t*>(reinterpret_cast<const std::uint8_t*>(name.data())),
                     const_cast<std::uint8_t*>(reinterpret_cast<const std::uint8_t*>(value.data())),
                     name.size(), value.size(), NGHTTP2_NV_FLAG_NONE});
    }
    std::string out(nghttp2_hd_deflate_bound(d_.get(), nva.data(), nva.size()), '\0');
    const auto n = nghttp2_hd_deflate_hd(d_.get(), reinterpret_cast<std::uint8_t*>(out.data()), out.size(),
                                         nva.data(), nva.size());
    REQUIRE(n >= 0);
    out.resize(static_cast<std::size_t>(n));
    return out;
  }
  // As when the peer's SETTINGS_HEADER_TABLE_SIZE arrives: the next block announces the size.
  void change_table_size(std::size_t bytes) {
    REQUIRE(nghttp2_hd_deflate_change_table_size(d_.get(), bytes) == 0);
  }

 private:
  struct Del {
    void operator()(nghttp2_hd_deflater* d) const { nghttp2_hd_deflate_del(d); }
  };
  std::unique_ptr<nghttp2_hd_deflater, Del> d_;
};

inline std::string flat(const std::vector<Header>& headers) {
  std::string s;
  for (const auto& h : headers) {
    if (!s.empty()) s += "; ";
    s += h.name + ": " + h.value;
  }
  return s;
}

// Events per direction as text. Consecutive DATA pieces of one stream are joined (how a frame is
// split across feeds is not observable), "|END" marks end_stream:
//   "H 1 END :status: 200; ..."  "D 1 hello|END"  "RST 1 8"  "GOAWAY 5 0"
struct Recorder : Sink {
  std::vector<std::string> c, s;
  std::vector<std::string> failures;  // "c bad_preface"
  std::size_t data_calls = 0;

  std::vector<std::string>& list(Side from) { return from == Side::client ? c : s; }

  void on_headers(Side from, std::uint32_t id, const std::vector<Header>& headers, bool end) override {
    list(from).push_back("H " + std::to_string(id) + (end ? " END " : " ") + flat(headers));
  }
  void on_data(Side from, std::uint32_t id, std::string_view payload, bool end) override {
    ++data_calls;
    auto& l = list(from);
    const std::string key = "D " + std::to_string(id) + " ";
    if (l.empty() || !l.back().starts_with(key) || l.back().ends_with("|END")) l.push_back(key);
    l.back().append(payload);
    if (end) l.back() += "|END";
  }
  void on_reset(Side from, std::uint32_t id, std::uint32_t code) override {
    list(from).push_back("RST " + std::to_string(id) + " " + std::to_string(code));
  }
  void on_goaway(Side from, std::uint32_t last, std::uint32_t code) override {
    list(from).push_back("GOAWAY " + std::to_string(last) + " " + std::to_string(code));
  }
  void on_failure(Side from, Failure why) override {
    failures.push_back(std::string(from == Side::client ? "c " : "s ") + shadowmeter::http2::to_string(why));
  }
};

}  // namespace h2test
