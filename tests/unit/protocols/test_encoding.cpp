#include <catch2/catch.hpp>
#include <string>

#include "compress.h"
#include "protocols/encoding/decoder.h"

using namespace shadowmeter;
using encoding::Coding;
using encoding::Status;

namespace {

std::string sample_text(std::size_t n) {
  std::string s;
  std::uint32_t x = 12345;
  while (s.size() < n) {
    x = x * 1103515245u + 12345u;
    s += "{\"token\":" + std::to_string(x % 1000) + ",\"text\":\"hello world\"}\n";
  }
  s.resize(n);
  return s;
}

struct Result {
  std::string out;
  Status feed_status = Status::ok;
  Status finish_status = Status::ok;
  std::uint64_t produced = 0;
};

// Decodes `in` fed in pieces of `piece` bytes (0: all at once).
Result decode(Coding c, std::string_view in, std::size_t piece = 0, std::uint64_t max = 1u << 30) {
  auto d = encoding::make_decoder(c, max);
  REQUIRE(d);
  Result r;
  const encoding::Decoder::Output out = [&](std::string_view s) { r.out.append(s); };
  if (piece == 0) piece = in.size() + 1;
  for (std::size_t i = 0; i < in.size(); i += piece) r.feed_status = d->feed(in.substr(i, piece), out);
  r.finish_status = d->finish(out);
  r.produced = d->produced();
  return r;
}

std::string encode(Coding c, std::string_view in) {
  switch (c) {
    case Coding::gzip:
      return testing::gzip(in);
    case Coding::deflate:
      return testing::zlib_wrapped(in);
    case Coding::br:
      return testing::brotli(in);
    case Coding::zstd:
      return testing::zstd(in);
    default:
      return std::string(in);
  }
}

}  // namespace

TEST_CASE("parse_coding knows the HTTP content codings, case-insensitively") {
  CHECK(encoding::parse_coding("gzip") == Coding::gzip);
  CHECK(encoding::parse_coding("x-gzip") == Coding::gzip);
  CHECK(encoding::parse_coding(" GZip ") == Coding::gzip);
  CHECK(encoding::parse_coding("deflate") == Coding::deflate);
  CHECK(encoding::parse_coding("br") == Coding::br);
  CHECK(encoding::parse_coding("zstd") == Coding::zstd);
  CHECK(encoding::parse_coding("identity") == Coding::identity);
  CHECK(encoding::parse_coding("") == Coding::identity);
  CHECK(encoding::parse_coding("compress") == Coding::unknown);
  CHECK(encoding::parse_coding("gzip2") == Coding::unknown);
  CHECK(encoding::make_decoder(Coding::identity, 100) == nullptr);
  CHECK(encoding::make_decoder(Coding::unknown, 100) == nullptr);
}

TEST_CASE("each coding round-trips whatever the feed size") {
  const std::string text = sample_text(100000);
  for (Coding c : {Coding::gzip, Coding::deflate, Coding::br, Coding::zstd}) {
    const std::string packed = encode(c, text);
    for (std::size_t piece : {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{7},
                              std::size_t{1000}, std::size_t{16384}}) {
      if (piece == 1 && c != Coding::gzip) continue;  // one coding byte-at-a-time is enough (slow)
      INFO("coding " << static_cast<int>(c) << " piece " << piece);
      const auto r = decode(c, packed, piece);
      CHECK(r.feed_status == Status::ok);
      CHECK(r.finish_status == Status::ok);
      CHECK(r.produced == text.size());
      CHECK(r.out == text);
    }
  }
}

TEST_CASE("deflate accepts both zlib-wrapped and raw streams") {
  const std::string text = sample_text(5000);
  for (const auto& packed : {testing::zlib_wrapped(text), testing::raw_deflate(text)}) {
    for (std::size_t piece : {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{5}}) {
      const auto r = decode(Coding::deflate, packed, piece);
      CHECK(r.finish_status == Status::ok);
      CHECK(r.out == text);
    }
  }
  // Empty inputs of both kinds.
  CHECK(decode(Coding::deflate, testing::raw_deflate("")).out.empty());
  CHECK(decode(Coding::deflate, testing::raw_deflate("")).finish_status == Status::ok);
  CHECK(decode(Coding::deflate, testing::zlib_wrapped("")).finish_status == Status::ok);
}

TEST_CASE("concatenated gzip members are one stream; trailing zero padding is ignored") {
  const auto r = decode(Coding::gzip, testing::gzip("first ") + testing::gzip("second"), 3);
  CHECK(r.finish_status == Status::ok);
  CHECK(r.out == "first second");
  const auto padded = decode(Coding::gzip, testing::gzip("body") + std::string(8, '\0'));
  CHECK(padded.finish_status == Status::ok);
  CHECK(padded.out == "body");
}

TEST_CASE("concatenated zstd frames are one stream") {
  const auto r = decode(Coding::zstd, testing::zstd("alpha ") + testing::zstd("beta"), 4);
  CHECK(r.finish_status == Status::ok);
  CHECK(r.out == "alpha beta");
}

TEST_CASE("a stream cut short fails at finish; corrupt data fails at feed and stays failed") {
  const std::string text = sample_text(3000);
  for (Coding c : {Coding::gzip, Coding::deflate, Coding::br, Coding::zstd}) {
    INFO("coding " << static_cast<int>(c));
    const std::string packed = encode(c, text);
    const auto cut = decode(c, std::string_view(packed).substr(0, packed.size() - 3));
    CHECK(cut.feed_status == Status::ok);
    CHECK(cut.finish_status == Status::error);

    auto d = encoding::make_decoder(c, 1u << 20);
    std::string out;
    const encoding::Decoder::Output sink = [&](std::string_view s) { out.append(s); };
    const std::string garbage =
        "\x1f\x8b\x08\x00garbage-that-is-not-compressed-data-at-all-" + std::string(64, '\xff');
    Status st = Status::ok;
    for (int i = 0; i < 3 && st == Status::ok; ++i)
      st = d->feed(c == Coding::gzip ? garbage : garbage.substr(4), sink);
    CHECK(st == Status::error);
    CHECK(d->feed(packed, sink) == Status::error);
    CHECK(d->finish(sink) == Status::error);
  }
}

TEST_CASE("no input at all finishes cleanly (an empty body)") {
  for (Coding c : {Coding::gzip, Coding::deflate, Coding::br, Coding::zstd}) {
    const auto r = decode(c, "");
    CHECK(r.finish_status == Status::ok);
    CHECK(r.produced == 0);
  }
}

TEST_CASE("a compression bomb stops exactly at the limit, and stays stopped") {
  const std::string zeros(20u << 20, '\0');  // 20 MiB of zeros: ~20 KiB of gzip
  for (Coding c : {Coding::gzip, Coding::deflate, Coding::br, Coding::zstd}) {
    INFO("coding " << static_cast<int>(c));
    const std::string bomb = encode(c, zeros);
    CHECK(bomb.size() < 64 * 1024);
    auto d = encoding::make_decoder(c, 10000);
    std::uint64_t delivered = 0;
    std::size_t calls = 0;
    const encoding::Decoder::Output out = [&](std::string_view s) {
      delivered += s.size();
      ++calls;
    };
    Status st = Status::ok;
    std::size_t fed = 0;
    for (; fed < bomb.size() && st == Status::ok; fed += 512)
      st = d->feed(std::string_view(bomb).substr(fed, 512), out);
    CHECK(st == Status::limit);
    CHECK(delivered == 10000);
    CHECK(d->produced() == 10000);
    CHECK(fed <= 4096);  // stopped early in the input, not after inflating all of it
    CHECK(d->feed(bomb, out) == Status::limit);
    CHECK(d->finish(out) == Status::limit);
    CHECK(delivered == 10000);
  }
}

TEST_CASE("output of exactly the limit is not a limit") {
  const std::string text = sample_text(4096);
  for (Coding c : {Coding::gzip, Coding::deflate, Coding::br, Coding::zstd}) {
    const auto exact = decode(c, encode(c, text), 100, 4096);
    CHECK(exact.feed_status == Status::ok);
    CHECK(exact.finish_status == Status::ok);
    CHECK(exact.out == text);
    const auto over = decode(c, encode(c, text), 100, 4095);
    CHECK(over.feed_status == Status::limit);
    CHECK(over.out == text.substr(0, 4095));
  }
}

TEST_CASE("zstd frames asking for a window over 8 MiB are refused (RFC 8878 bound)") {
  const std::string text = sample_text(1000);
  const auto ok = decode(Coding::zstd, testing::zstd(text, 23));
  CHECK(ok.finish_status == Status::ok);
  CHECK(ok.out == text);
  const auto big = decode(Coding::zstd, testing::zstd(text, 27));
  CHECK(big.feed_status == Status::error);
  CHECK(big.out.empty());
}
