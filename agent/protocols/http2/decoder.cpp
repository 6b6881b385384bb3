#include "protocols/http2/decoder.h"
#include "protocols/secure_clear.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "protocols/http2/frame.h"
#include "protocols/http2/hpack_inflater.h"

namespace shadowmeter::http2 {
namespace {

using frame::FrameHeader;
using frame::Type;
namespace flag = frame::flag;

// Where a direction is inside its byte stream. A frame is read as: 9-byte header, fixed fields at
// the start of the payload (`prefix`: pad length, priority, promised stream id), the content, then
// the padding. Only the header and prefix are copied; the content goes where it is needed.
enum class Phase : std::uint8_t { preface, frame_header, prefix, content, padding };

// What the content of the current frame is for.
enum class Content : std::uint8_t { data, header_block, settings, rst_stream, goaway, skip };

// A block kept this large after use is released, so that one big header block does not pin
// memory for the rest of a long-lived connection.
constexpr std::size_t kKeepBlockCapacity = 16u << 10;
constexpr std::size_t kRstStreamBytes = 4;
constexpr std::size_t kGoawayFixedBytes = 8;  // last stream id + error code; debug data is skipped
constexpr std::size_t kPriorityBytes = 5;     // HEADERS with PRIORITY: dependency + weight, unused
constexpr std::size_t kPromisedIdBytes = 4;   // PUSH_PROMISE

// Bytes of the Pad Length field (only DATA, HEADERS and PUSH_PROMISE define the PADDED flag).
std::size_t pad_field(const FrameHeader& h) { return h.has(flag::padded) ? 1 : 0; }

struct Direction {
  explicit Direction(Side s) : side(s), phase(s == Side::client ? Phase::preface : Phase::frame_header) {}

  Side side;
  Phase phase;
  std::size_t preface_matched = 0;
  bool settings_seen = false;  // the first frame must be SETTINGS (RFC 9113 §3.4)

  std::array<unsigned char, frame::kHeaderBytes> header_bytes{};
  std::size_t header_have = 0;
  FrameHeader frame;
  Content content = Content::skip;
  // Small fixed-size pieces: the prefix, one SETTINGS entry, RST_STREAM, the start of GOAWAY.
  std::array<unsigned char, 8> small{};
  std::size_t small_need = 0;
  std::size_t small_have = 0;
  std::uint32_t content_len = 0;
  std::uint32_t content_left = 0;
  std::uint32_t pad_left = 0;

  // A header block spread over HEADERS / PUSH_PROMISE and CONTINUATION frames.
  bool in_block = false;
  bool block_end_stream = false;
  bool block_is_push = false;
  std::uint32_t block_stream = 0;
  std::string block;
  HpackInflater inflater;  // this direction's encoder state, mirrored

  // Copies up to small_need bytes from the front of `in`; true once all are there.
  bool collect(std::string_view& in) {
    const auto n = std::min(small_need - small_have, in.size());
    std::memcpy(small.data() + small_have, in.data(), n);
    small_have += n;
    in.remove_prefix(n);
    return small_have == small_need;
  }
  void expect_small(std::size_t n) {
    small_need = n;
    small_have = 0;
  }
};

}  // namespace

struct Decoder::Impl {
  Impl(Sink& s, Limits l) : sink(s), limits(l) {}

  Sink& sink;
  const Limits limits;
  Stats stats;
  Failure failure = Failure::none;
  Direction client{Side::client};
  Direction server{Side::server};
  std::vector<Header> headers;  // decoded fields of the current block; capacity reused

  Direction& dir(Side s) { return s == Side::client ? client : server; }
  Direction& peer(const Direction& d) { return d.side == Side::client ? server : client; }
  bool ok() const { return failure == Failure::none; }

  void fail(const Direction& d, Failure why) {
    if (!ok()) return;
    failure = why;
    sink.on_failure(d.side, why);
  }

  void feed(Direction& d, std::string_view in) {
    while (!in.empty() && ok()) {
      switch (d.phase) {
        case Phase::preface:
          read_preface(d, in);
          break;
        case Phase::frame_header:
          read_frame_header(d, in);
          break;
        case Phase::prefix:
          if (d.collect(in)) end_prefix(d);
          break;
        case Phase::content:
          read_content(d, in);
          break;
        case Phase::padding:
          skip_padding(d, in);
          break;
      }
    }
  }

  void read_preface(Direction& d, std::string_view& in) {
    const auto want = frame::kPreface.substr(d.preface_matched);
    const auto n = std::min(want.size(), in.size());
    if (in.substr(0, n) != want.substr(0, n)) return fail(d, Failure::bad_preface);
    d.preface_matched += n;
    in.remove_prefix(n);
    if (d.preface_matched == frame::kPreface.size()) d.phase = Phase::frame_header;
  }

  void read_frame_header(Direction& d, std::string_view& in) {
    const unsigned char* bytes = nullptr;
    if (d.header_have == 0 && in.size() >= frame::kHeaderBytes) {
      bytes = reinterpret_cast<const unsigned char*>(in.data());  // whole header in place: no copy
      in.remove_prefix(frame::kHeaderBytes);
    } else {
      const auto n = std::min(frame::kHeaderBytes - d.header_have, in.size());
      std::memcpy(d.header_bytes.data() + d.header_have, in.data(), n);
      d.header_have += n;
      in.remove_prefix(n);
      if (d.header_have < frame::kHeaderBytes) return;
      d.header_have = 0;
      bytes = d.header_bytes.data();
    }
    start_frame(d, frame::parse_header(bytes));
  }

  // Checks a frame header against the framing rules and sets up reading its payload.
  void start_frame(Direction& d, const FrameHeader& h) {
    ++stats.frames;
    d.frame = h;
    if (h.length > limits.max_frame_payload) return fail(d, Failure::limit);
    // A header block must be finished by CONTINUATIONs on its stream before anything else.
    if (d.in_block ? h.type != Type::continuation || h.stream_id != d.block_stream
                   : h.type == Type::continuation) {
      return fail(d, Failure::frame_error);
    }
    if (!d.settings_seen) {
      if (h.type != Type::settings || h.has(flag::ack)) return fail(d, Failure::frame_error);
      d.settings_seen = true;
    }
    const bool stream_frame = h.stream_id != 0;
    std::size_t prefix = 0;
    bool valid = true;
    switch (h.type) {
      case Type::data:
        valid = stream_frame;
        d.content = Content::data;
        prefix = pad_field(h);
        break;
      case Type::headers:
        valid = stream_frame;
        d.content = Content::header_block;
        prefix = pad_field(h) + (h.has(flag::priority) ? kPriorityBytes : 0);
        begin_block(d, h, false);
        break;
      case Type::push_promise:
        // Only servers push. The block is decoded to keep the table in step, then dropped.
        valid = stream_frame && d.side == Side::server;
        d.content = Content::header_block;
        prefix = pad_field(h) + kPromisedIdBytes;
        begin_block(d, h, true);
        ++stats.ignored_frames;
        break;
      case Type::continuation:
        d.content = Content::header_block;
        break;
      case Type::rst_stream:
        valid = stream_frame && h.length == kRstStreamBytes;
        d.content = Content::rst_stream;
        break;
      case Type::settings:
        valid = !stream_frame && h.length % frame::kSettingBytes == 0 && !(h.has(flag::ack) && h.length != 0);
        d.content = Content::settings;
        break;
      case Type::goaway:
        valid = !stream_frame && h.length >= kGoawayFixedBytes;
        d.content = Content::goaway;
        break;
      default:  // PRIORITY, PING, WINDOW_UPDATE, extension frames: nothing to learn from them
        d.content = Content::skip;
        ++stats.ignored_frames;
        break;
    }
    if (!valid || prefix > h.length) return fail(d, Failure::frame_error);
    d.pad_left = 0;
    d.expect_small(prefix);
    if (prefix == 0) return start_content(d, h.length);
    d.phase = Phase::prefix;
  }

  void begin_block(Direction& d, const FrameHeader& h, bool push) {
    d.in_block = true;
    d.block_stream = h.stream_id;
    d.block_end_stream = h.has(flag::end_stream) && !push;
    d.block_is_push = push;
    d.block.clear();
  }

  void end_prefix(Direction& d) {
    const std::uint32_t prefix = static_cast<std::uint32_t>(d.small_need);
    const std::uint32_t pad = d.frame.has(flag::padded) ? std::uint32_t{d.small[0]} : 0u;
    // The padding may not reach into the prefix (RFC 9113 §6.1: pad length >= payload length).
    if (pad > d.frame.length - prefix) return fail(d, Failure::frame_error);
    d.pad_left = pad;
    start_content(d, d.frame.length - prefix - pad);
  }

  void start_content(Direction& d, std::uint32_t len) {
    d.content_len = len;
    d.content_left = len;
    switch (d.content) {
      case Content::header_block:
        if (d.block.size() + len > limits.max_header_block_bytes) return fail(d, Failure::limit);
        break;
      case Content::settings:
        d.expect_small(frame::kSettingBytes);
        break;
      case Content::rst_stream:
        d.expect_small(kRstStreamBytes);
        break;
      case Content::goaway:
        d.expect_small(kGoawayFixedBytes);
        break;
      case Content::data:
      case Content::skip:
        break;
    }
    d.phase = Phase::content;
    if (len == 0) end_content(d, {});
  }

  void read_content(Direction& d, std::string_view& in) {
    const auto n = static_cast<std::uint32_t>(std::min<std::size_t>(in.size(), d.content_left));
    auto piece = in.substr(0, n);
    in.remove_prefix(n);
    d.content_left -= n;
    const bool last = d.content_left == 0;
    switch (d.content) {
      case Content::data:
        stats.data_bytes += n;
        sink.on_data(d.side, d.frame.stream_id, piece, last && d.frame.has(flag::end_stream));
        break;
      case Content::header_block:
        if (!last) d.block.append(piece);  // the last piece goes to end_content, maybe without a copy
        break;
      case Content::settings:
        while (ok() && d.collect(piece)) {
          apply_setting(d);
          d.expect_small(frame::kSettingBytes);
        }
        break;
      case Content::rst_stream:
      case Content::goaway:
        d.collect(piece);  // GOAWAY debug data past the fixed fields is dropped
        break;
      case Content::skip:
        break;
    }
    if (last && ok()) end_content(d, piece);
  }

  // The frame's content is complete; `tail` is its last piece when that was not stored.
  void end_content(Direction& d, std::string_view tail) {
    const auto stream = d.frame.stream_id;
    switch (d.content) {
      case Content::data:
        if (d.content_len == 0 && d.frame.has(flag::end_stream)) sink.on_data(d.side, stream, {}, true);
        break;
      case Content::header_block:
        if (!d.frame.has(flag::end_headers)) {
          d.block.append(tail);
        } else if (d.block.empty()) {
          end_block(d, tail);  // the whole block came in one piece: decode it where it lies
        } else {
          d.block.append(tail);
          end_block(d, d.block);
        }
        break;
      case Content::rst_stream:
        sink.on_reset(d.side, stream, frame::read_u32(d.small.data()));
        break;
      case Content::goaway:
        sink.on_goaway(d.side, frame::read_u32(d.small.data()) & frame::kStreamIdMask,
                       frame::read_u32(d.small.data() + 4));
        break;
      case Content::settings:
      case Content::skip:
        break;
    }
    if (!ok()) return;
    d.phase = d.pad_left > 0 ? Phase::padding : Phase::frame_header;
  }

  void skip_padding(Direction& d, std::string_view& in) {
    const auto n = static_cast<std::uint32_t>(std::min<std::size_t>(in.size(), d.pad_left));
    in.remove_prefix(n);
    d.pad_left -= n;
    if (d.pad_left == 0) d.phase = Phase::frame_header;
  }

  void apply_setting(Direction& d) {
    const auto id = static_cast<std::uint16_t>(d.small[0] << 8 | d.small[1]);
    if (id != frame::kSettingsHeaderTableSize) return;
    const auto value = frame::read_u32(d.small.data() + 2);
    if (value > limits.max_header_table_size) return fail(d, Failure::limit);
    // This side's decoder table size bounds the other side's encoder. Applied when seen, without
    // waiting for the ACK: the encoder still has to announce the size it really uses in a block.
    peer(d).inflater.allow_table_size(value);
  }

  void end_block(Direction& d, std::string_view block) {
    d.in_block = false;
    switch (d.inflater.decode(block, limits.max_header_list_bytes, headers)) {
      case HpackInflater::Result::ok:
        break;
      case HpackInflater::Result::corrupt:
        return fail(d, Failure::hpack_error);
      case HpackInflater::Result::too_large:
        return fail(d, Failure::limit);
    }
    if (!d.block_is_push) {
      ++stats.header_blocks;
      sink.on_headers(d.side, d.block_stream, headers, d.block_end_stream);
    }
    // Header values (credentials among them) are wiped, not only released, after the callback;
    // so is the encoded block (literal values sit in it in the clear).
    for (auto& h : headers) secure_clear(h.value);
    headers.clear();
    secure_clear(d.block);
    if (d.block.capacity() > kKeepBlockCapacity) std::string().swap(d.block);
  }
};

const char* to_string(Failure f) {
  switch (f) {
    case Failure::none:
      return "none";
    case Failure::bad_preface:
      return "bad_preface";
    case Failure::frame_error:
      return "frame_error";
    case Failure::hpack_error:
      return "hpack_error";
    case Failure::limit:
      return "limit";
    case Failure::gap:
      return "gap";
  }
  return "unknown";
}

Decoder::Decoder(Sink& sink, Limits limits) : impl_(std::make_unique<Impl>(sink, limits)) {}
Decoder::~Decoder() = default;

void Decoder::feed(Side from, std::string_view bytes) { impl_->feed(impl_->dir(from), bytes); }
void Decoder::gap(Side from) { impl_->fail(impl_->dir(from), Failure::gap); }
bool Decoder::failed() const { return !impl_->ok(); }
Failure Decoder::failure() const { return impl_->failure; }
const Stats& Decoder::stats() const { return impl_->stats; }

bool looks_like_preface(std::string_view bytes) {
  return bytes.size() <= frame::kPreface.size() ? frame::kPreface.starts_with(bytes)
                                                : bytes.starts_with(frame::kPreface);
}

}  // namespace shadowmeter::http2
