// The HTTP/1 fuzz harness shared by fuzz_http1_request and fuzz_http1_response.
// Input: [limits byte][plan length (+0x10: at most 4 headers)][plan bytes...][stream bytes...]. The stream is
// fed in pieces sized by the plan, with gaps where the plan says; a second parser gets the same stream with
// the same gaps but each gap-free run in one piece. Both must report exactly the same.
#pragma once

#include <string_view>

#include "fuzz_common.h"
#include "protocols/http1/http1_parser.h"

namespace shadowmeter::fuzz {

class CheckingSink final : public http1::MessageSink {
 public:
  CheckingSink(std::uint8_t policy_bits, std::uint64_t max_delivered)
      : bits_(policy_bits), max_(max_delivered) {}

  // The parser's counters tell whether decoding failed during a message, whatever its outcome.
  void watch(const http1::Parser& p) { parser_ = &p; }

  http1::BodyPolicy on_head(const http1::MessageHead& head) override {
    SM_FUZZ_CHECK(!in_message_);
    in_message_ = true;
    decode_failures_ = failures();
    body_ = Hash{};
    body_bytes_ = 0;
    hash_.bytes("H");
    hash_.bytes(head.method);
    hash_.bytes(head.target);
    hash_.u64(static_cast<std::uint64_t>(head.status));
    hash_.bytes(head.reason);
    hash_.bytes(head.version);
    for (const auto& h : head.headers) {
      for (char c : h.name) SM_FUZZ_CHECK(c < 'A' || c > 'Z');
      SM_FUZZ_CHECK(h.value.empty() || (h.value.front() != ' ' && h.value.back() != ' '));
      hash_.bytes(h.name);
      hash_.bytes(h.value);
    }
    const std::uint64_t n = messages_++;
    http1::BodyPolicy p;
    p.deliver = !((bits_ & 0x40) && n % 3 == 2);
    p.no_body = (bits_ & 0x80) && n % 2 == 1;
    p.upgrade_on_2xx = (bits_ & 0x80) && n % 5 == 4;
    return p;
  }
  void on_body(std::string_view decoded) override {
    SM_FUZZ_CHECK(in_message_);
    SM_FUZZ_CHECK(!decoded.empty());
    body_bytes_ += decoded.size();
    body_.bytes(decoded);
  }
  void on_end(const http1::MessageEnd& end) override {
    SM_FUZZ_CHECK(in_message_);
    in_message_ = false;
    SM_FUZZ_CHECK(end.decoded_body_bytes == body_bytes_);
    SM_FUZZ_CHECK(end.decoded_body_bytes <= max_);
    hash_.bytes("E");
    // A corrupt coding is reported the same way whatever the split, but how much came out before
    // it was noticed depends on the decompression library's buffering (see decoder.h).
    const bool decode_failed = failures() != decode_failures_;
    SM_FUZZ_CHECK(decode_failed || (end.outcome != http1::Outcome::decode_error &&
                                    end.outcome != http1::Outcome::decode_limit));
    hash_.u64(decode_failed ? 255 : static_cast<std::uint64_t>(end.outcome));
    hash_.u64(end.wire_body_bytes);
    if (!decode_failed) {
      hash_.u64(end.decoded_body_bytes);
      hash_.u64(body_.h);
    }
  }

  bool in_message() const { return in_message_; }
  std::uint64_t failures() const { return parser_->stats().decode_errors + parser_->stats().decode_limits; }
  std::uint64_t hash() const { return hash_.h; }

 private:
  const http1::Parser* parser_ = nullptr;
  std::uint64_t decode_failures_ = 0;
  std::uint8_t bits_;
  std::uint64_t max_;
  bool in_message_ = false;
  std::uint64_t messages_ = 0;
  std::uint64_t body_bytes_ = 0;
  Hash hash_;
  Hash body_;
};

inline void same_stats(const http1::ParserStats& a, const http1::ParserStats& b) {
  SM_FUZZ_CHECK(a.messages == b.messages);
  SM_FUZZ_CHECK(a.malformed == b.malformed);
  SM_FUZZ_CHECK(a.gaps == b.gaps);
  SM_FUZZ_CHECK(a.truncated == b.truncated);
  SM_FUZZ_CHECK(a.decode_errors + a.decode_limits == b.decode_errors + b.decode_limits);
  SM_FUZZ_CHECK(a.resync_skipped_bytes == b.resync_skipped_bytes);
  SM_FUZZ_CHECK(a.informational == b.informational);
  SM_FUZZ_CHECK(a.body_limits == b.body_limits);
}

inline int run_http1(http1::Role role, const std::uint8_t* data, std::size_t size) {
  Input in{data, size};
  const std::uint8_t lim = in.byte();
  http1::Limits limits;
  constexpr std::size_t kHead[] = {64, 256, 4096, 64 * 1024};
  constexpr std::uint64_t kBody[] = {16, 1024, 1u << 20, UINT64_MAX};
  constexpr std::uint64_t kDecoded[] = {64, 4096, 1u << 20, 64u << 20};
  limits.max_head_bytes = kHead[lim & 3];
  limits.max_body_bytes = kBody[(lim >> 2) & 3];
  limits.max_decoded_bytes = kDecoded[(lim >> 4) & 3];
  std::uint8_t plan[16];
  const std::uint8_t plan_byte = in.byte();
  const std::size_t plan_len = plan_byte & 0x0f;
  limits.max_headers = (plan_byte & 0x10) ? 4 : 256;
  for (std::size_t i = 0; i < plan_len; ++i) plan[i] = in.byte();
  const std::string_view stream = in.rest();

  const std::uint64_t max_delivered = std::max(limits.max_body_bytes, limits.max_decoded_bytes);
  CheckingSink split_sink(lim, max_delivered);
  CheckingSink whole_sink(lim, max_delivered);
  http1::Parser split(role, split_sink, limits);
  http1::Parser whole(role, whole_sink, limits);
  split_sink.watch(split);
  whole_sink.watch(whole);

  std::size_t pos = 0;
  std::size_t run_start = 0;  // start of the current gap-free run, fed to `whole` at once
  std::size_t step = 0;
  bool after_gap = false;  // two gaps in a row become a gap and a piece, so the loop always advances
  while (pos < stream.size()) {
    const std::uint8_t b = plan_len ? plan[step++ % plan_len] : 0;
    if (plan_len && b >= 0xf0 && !after_gap) {
      after_gap = true;
      whole.feed(stream.substr(run_start, pos - run_start));
      // 0xff: the huge count the capture layer uses when it cannot tell how much was lost.
      const std::uint64_t lost = b == 0xff ? UINT64_MAX / 2 : std::uint64_t{b & 0x0fu} + 1;
      const std::size_t skip = b == 0xff ? 0 : std::min<std::size_t>(lost, stream.size() - pos);
      split.gap(lost);
      whole.gap(lost);
      pos += skip;
      run_start = pos;
      continue;
    }
    after_gap = false;
    const std::size_t n = plan_len ? std::min(piece_size(b), stream.size() - pos) : stream.size();
    split.feed(stream.substr(pos, n));
    pos += n;
  }
  whole.feed(stream.substr(run_start, pos - run_start));
  SM_FUZZ_CHECK(split.in_message() == whole.in_message());
  split.eof();
  whole.eof();
  SM_FUZZ_CHECK(!split.in_message());
  SM_FUZZ_CHECK(!split_sink.in_message());
  SM_FUZZ_CHECK(!whole_sink.in_message());
  SM_FUZZ_CHECK(split.upgraded() == whole.upgraded());
  SM_FUZZ_CHECK(split_sink.hash() == whole_sink.hash());
  same_stats(split.stats(), whole.stats());
  return 0;
}

}  // namespace shadowmeter::fuzz
