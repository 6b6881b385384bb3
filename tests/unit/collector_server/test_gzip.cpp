// Bounded gunzip: round trips, several members, truncation, corruption, not-gzip input, the exact limit,
// and a 1 GiB gzip bomb that must stop at the limit without allocating more.
#include <zlib.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "server/gzip.h"

using shadowmeter::collector::gunzip_bounded;
using shadowmeter::collector::GunzipStatus;

namespace {

// gzip-compresses `total` bytes made by repeating `chunk`, streaming, so a huge input costs no memory.
std::string gzip_repeat(const std::string& chunk, std::size_t total, int level = Z_DEFAULT_COMPRESSION) {
  z_stream zs{};
  REQUIRE(deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out;
  std::vector<unsigned char> buf(1 << 16);
  std::size_t fed = 0;
  int rc = Z_OK;
  do {
    const std::size_t n = std::min(chunk.size(), total - fed);
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(chunk.data()));
    zs.avail_in = static_cast<uInt>(n);
    fed += n;
    const int flush = fed == total ? Z_FINISH : Z_NO_FLUSH;
    do {
      zs.next_out = buf.data();
      zs.avail_out = static_cast<uInt>(buf.size());
      rc = deflate(&zs, flush);
      REQUIRE(rc != Z_STREAM_ERROR);
      out.append(reinterpret_cast<char*>(buf.data()), buf.size() - zs.avail_out);
    } while (zs.avail_out == 0);
  } while (fed < total);
  REQUIRE(rc == Z_STREAM_END);
  deflateEnd(&zs);
  return out;
}

std::string gzip(const std::string& s) { return gzip_repeat(s, s.size()); }

std::string text_of(const std::vector<char>& v) { return std::string(v.data(), v.size()); }

}  // namespace

TEST_CASE("gunzip round trip") {
  std::string original;
  for (int i = 0; i < 5000; ++i) original += "{\"event\":" + std::to_string(i) + "}";
  std::vector<char> out;
  const auto r = gunzip_bounded(gzip(original), 1 << 20, out);
  REQUIRE(r.status == GunzipStatus::ok);
  CHECK(text_of(out) == original);
}

TEST_CASE("gunzip of an empty member gives an empty body") {
  std::vector<char> out{'x'};
  const auto r = gunzip_bounded(gzip_repeat("x", 0), 100, out);
  REQUIRE(r.status == GunzipStatus::ok);
  CHECK(out.empty());
}

TEST_CASE("gunzip reads concatenated members") {
  std::vector<char> out;
  const auto r = gunzip_bounded(gzip("hello, ") + gzip("world"), 100, out);
  REQUIRE(r.status == GunzipStatus::ok);
  CHECK(text_of(out) == "hello, world");
}

TEST_CASE("gunzip accepts exactly the limit and refuses one byte more") {
  const std::string body(4096, 'a');
  std::vector<char> out;
  CHECK(gunzip_bounded(gzip(body), 4096, out).status == GunzipStatus::ok);
  CHECK(out.size() == 4096);
  CHECK(gunzip_bounded(gzip(body + "b"), 4096, out).status == GunzipStatus::too_large);
}

TEST_CASE("gunzip refuses truncated input") {
  std::string original;
  for (int i = 0; i < 2000; ++i) original += std::to_string(i * 7919) + ",";
  const std::string z = gzip(original);
  std::vector<char> out;
  for (std::size_t cut : {std::size_t{1}, std::size_t{4}, std::size_t{8}, z.size() / 2, z.size() - 11}) {
    const auto r = gunzip_bounded(z.substr(0, z.size() - cut), 1 << 20, out);
    INFO("cut " << cut);
    CHECK(r.status == GunzipStatus::malformed);
    CHECK(!r.error.empty());
  }
}

TEST_CASE("gunzip refuses corrupt data and trailing garbage") {
  std::string z = gzip(std::string(10000, 'q') + "tail");
  std::vector<char> out;
  SECTION("flipped bytes in the deflate data") {
    for (std::size_t i = 12; i < z.size() - 8; i += 3) z[i] = static_cast<char>(z[i] ^ 0x5a);
    CHECK(gunzip_bounded(z, 1 << 20, out).status != GunzipStatus::ok);
  }
  SECTION("wrong CRC") {
    z[z.size() - 6] = static_cast<char>(z[z.size() - 6] ^ 1);
    CHECK(gunzip_bounded(z, 1 << 20, out).status == GunzipStatus::malformed);
  }
  SECTION("garbage after the member") {
    CHECK(gunzip_bounded(z + "garbage!", 1 << 20, out).status == GunzipStatus::malformed);
  }
}

TEST_CASE("gunzip refuses what is not gzip") {
  std::vector<char> out;
  CHECK(gunzip_bounded("", 100, out).status == GunzipStatus::malformed);
  CHECK(gunzip_bounded("{\"resourceSpans\":[]}", 100, out).status == GunzipStatus::malformed);
  // zlib-wrapped (Content-Encoding: deflate) is not gzip.
  uLongf len = compressBound(5);
  std::vector<Bytef> zlib_data(len);
  REQUIRE(compress(zlib_data.data(), &len, reinterpret_cast<const Bytef*>("hello"), 5) == Z_OK);
  CHECK(gunzip_bounded(std::string(reinterpret_cast<char*>(zlib_data.data()), len), 100, out).status ==
        GunzipStatus::malformed);
}

TEST_CASE("a 1 GiB gzip bomb stops at the limit and allocates no more than it") {
  const std::string zeros(1 << 20, '\0');
  const std::string bomb = gzip_repeat(zeros, std::size_t{1} << 30, 9);
  REQUIRE(bomb.size() < (std::size_t{2} << 20));  // about 1000:1
  const std::size_t limit = 20u << 20;
  std::vector<char> out;
  const auto r = gunzip_bounded(bomb, limit, out);
  CHECK(r.status == GunzipStatus::too_large);
  CHECK(out.capacity() <= limit + 1);
  CHECK(out.size() <= limit + 1);
}
