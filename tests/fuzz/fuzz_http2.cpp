// libFuzzer entry: the passive HTTP/2 decoder. Input:
//   [setup byte][piece size byte] then records [ctl][len][len bytes], len = byte | (ctl & 0x0e) << 7.
// setup: bits 0-1 pick a Limits preset; bit 4 feeds the client preface + an empty SETTINGS first,
// bit 5 an empty SETTINGS for the server (so that mutations start past the connection preface).
// ctl: bit 0 is the side (0 client, 1 server); ctl >= 0xf0 is gap(side) and takes no length.
// The records are decoded three times, each record fed whole, in pieces and byte by byte: events
// (DATA joined per stream), the failure and all Stats must be identical.
#include <string>
#include <vector>

#include "fuzz_common.h"
#include "protocols/http2/decoder.h"

namespace {

namespace h2 = shadowmeter::http2;

struct Record {
  bool gap;
  h2::Side side;
  std::string_view bytes;
};

h2::Limits preset(std::uint8_t b) {
  h2::Limits l;
  switch (b & 3) {
    case 0:
      break;
    case 1:  // small everything: the limit paths
      l.max_header_block_bytes = 64;
      l.max_header_list_bytes = 96;
      l.max_frame_payload = 48;
      l.max_header_table_size = 256;
      break;
    case 2:
      l.max_header_block_bytes = 4096;
      l.max_header_list_bytes = 4096;
      l.max_frame_payload = 16384;
      l.max_header_table_size = 4096;
      break;
    default:
      l.max_header_table_size = 0;
      l.max_frame_payload = 1024;
      break;
  }
  return l;
}

class Observer : public h2::Sink {
 public:
  explicit Observer(const h2::Limits& limits) : limits_(limits) {}

  void on_headers(h2::Side from, std::uint32_t id, const std::vector<h2::Header>& headers,
                  bool end) override {
    alive();
    SM_FUZZ_CHECK(id != 0 && id <= 0x7fffffffu);
    std::size_t list = 0;
    event('H', from, id);
    for (const auto& h : headers) {
      list += h.name.size() + h.value.size();
      hash.u64(h.name.size());
      hash.bytes(h.name);
      hash.u64(h.value.size());
      hash.bytes(h.value);
    }
    SM_FUZZ_CHECK(list <= limits_.max_header_list_bytes);
    hash.u64(end ? 1 : 0);
  }
  void on_data(h2::Side from, std::uint32_t id, std::string_view payload, bool end) override {
    alive();
    SM_FUZZ_CHECK(id != 0 && id <= 0x7fffffffu);
    SM_FUZZ_CHECK(payload.size() <= limits_.max_frame_payload);
    // How a frame was split across feeds is not observable: pieces of one stream are joined.
    if (!(open_ && from == open_side_ && id == open_stream_)) event('D', from, id);
    hash.bytes(payload);
    data_bytes += payload.size();
    open_ = !end;
    open_side_ = from;
    open_stream_ = id;
    if (end) hash.bytes("E");
  }
  void on_reset(h2::Side from, std::uint32_t id, std::uint32_t code) override {
    alive();
    SM_FUZZ_CHECK(id != 0);
    event('R', from, id);
    hash.u64(code);
  }
  void on_goaway(h2::Side from, std::uint32_t last, std::uint32_t code) override {
    alive();
    SM_FUZZ_CHECK(last <= 0x7fffffffu);
    event('G', from, last);
    hash.u64(code);
  }
  void on_failure(h2::Side from, h2::Failure why) override {
    alive();
    SM_FUZZ_CHECK(why != h2::Failure::none);
    failed = why;
    event('F', from, static_cast<std::uint32_t>(why));
  }

  shadowmeter::fuzz::Hash hash;
  std::uint64_t data_bytes = 0;
  h2::Failure failed = h2::Failure::none;

 private:
  void alive() const { SM_FUZZ_CHECK(failed == h2::Failure::none); }  // nothing after on_failure
  void event(char kind, h2::Side from, std::uint32_t id) {
    open_ = false;
    hash.bytes(std::string_view(&kind, 1));
    hash.u64(from == h2::Side::client ? 0 : 1);
    hash.u64(id);
  }

  h2::Limits limits_;
  bool open_ = false;
  h2::Side open_side_ = h2::Side::client;
  std::uint32_t open_stream_ = 0;
};

struct Result {
  std::uint64_t hash;
  h2::Failure failure;
  h2::Stats stats;
};

Result run(const std::vector<Record>& records, const h2::Limits& limits, std::size_t piece) {
  Observer o(limits);
  h2::Decoder d(o, limits);
  for (const auto& r : records) {
    if (r.gap) {
      d.gap(r.side);
      continue;
    }
    const std::size_t step = piece == 0 ? r.bytes.size() + 1 : piece;
    for (std::size_t i = 0; i < r.bytes.size(); i += step) d.feed(r.side, r.bytes.substr(i, step));
  }
  SM_FUZZ_CHECK(d.failure() == o.failed);
  SM_FUZZ_CHECK(d.failed() == (o.failed != h2::Failure::none));
  SM_FUZZ_CHECK(d.stats().data_bytes == o.data_bytes);
  return {o.hash.h, d.failure(), d.stats()};
}

void same(const Result& a, const Result& b) {
  SM_FUZZ_CHECK(a.hash == b.hash);
  SM_FUZZ_CHECK(a.failure == b.failure);
  SM_FUZZ_CHECK(a.stats.frames == b.stats.frames);
  SM_FUZZ_CHECK(a.stats.header_blocks == b.stats.header_blocks);
  SM_FUZZ_CHECK(a.stats.data_bytes == b.stats.data_bytes);
  SM_FUZZ_CHECK(a.stats.ignored_frames == b.stats.ignored_frames);
}

const std::string kClientStart =
    std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") + std::string("\0\0\0\4\0\0\0\0\0", 9);
const std::string kServerStart = std::string("\0\0\0\4\0\0\0\0\0", 9);

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  shadowmeter::fuzz::Input in{data, size};
  const std::uint8_t setup = in.byte();
  const std::size_t piece = shadowmeter::fuzz::piece_size(in.byte());
  const h2::Limits limits = preset(setup);
  std::vector<Record> records;
  if (setup & 0x10) records.push_back({false, h2::Side::client, kClientStart});
  if (setup & 0x20) records.push_back({false, h2::Side::server, kServerStart});
  while (in.n > 0 && records.size() < 4096) {
    const std::uint8_t ctl = in.byte();
    const auto side = (ctl & 1) != 0 ? h2::Side::server : h2::Side::client;
    if (ctl >= 0xf0) {
      records.push_back({true, side, {}});
      continue;
    }
    const std::size_t len = std::min<std::size_t>(in.byte() | (std::size_t{ctl} & 0x0e) << 7, in.n);
    records.push_back({false, side, in.rest().substr(0, len)});
    in.p += len;
    in.n -= len;
  }
  const Result whole = run(records, limits, 0);
  same(whole, run(records, limits, piece));
  same(whole, run(records, limits, 1));
  return 0;
}
