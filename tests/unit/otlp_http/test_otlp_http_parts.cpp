// The exporter's parts on their own: URL parsing, backoff bounds and jitter, Retry-After, gzip, and
// the gap state (its record ids, counts and persistence across a reopen).
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "export/otlp_http/backoff.h"
#include "export/otlp_http/gap_state.h"
#include "export/otlp_http/gzip.h"
#include "export/otlp_http/url.h"
#include "otlp_http/test_server.h"
#include "temp_file.h"

using namespace shadowmeter::exporting::otlp_http;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

using shadowmeter::testing::TempDir;

std::chrono::system_clock::time_point at(std::time_t t) { return std::chrono::system_clock::from_time_t(t); }

}  // namespace

TEST_CASE("URLs: scheme, host, port, target and the host header") {
  const Url a = parse_url("https://collector.example:4318/v1/traces");
  CHECK(a.tls);
  CHECK(a.host == "collector.example");
  CHECK(a.port == "4318");
  CHECK(a.target == "/v1/traces");
  CHECK(a.host_header == "collector.example:4318");
  CHECK_FALSE(a.host_is_ip);

  const Url b = parse_url("http://10.0.0.7");
  CHECK_FALSE(b.tls);
  CHECK(b.port == "80");
  CHECK(b.target == "/v1/traces");  // no path: the OTLP default
  CHECK(b.host_is_ip);
  CHECK(b.host_header == "10.0.0.7:80");

  const Url c = parse_url("HTTPS://[::1]:8443/otlp/v1/traces?tenant=a");
  CHECK(c.tls);
  CHECK(c.host == "::1");
  CHECK(c.host_is_ip);
  CHECK(c.port == "8443");
  CHECK(c.host_header == "[::1]:8443");
  CHECK(c.target == "/otlp/v1/traces?tenant=a");

  CHECK(parse_url("https://h").port == "443");
  CHECK(parse_url("https://h/").target == "/");
  CHECK(parse_url("https://h?x=1").target == "/?x=1");
}

TEST_CASE("URLs: what is refused") {
  for (const char* bad :
       {"", "collector:4318", "ftp://h/", "https://", "https://:443/x", "https://h:/x", "https://h:0/",
        "https://h:65536/", "https://h:12ab/", "https://user:pw@h/", "https://h/x#frag", "https://[::1/",
        "https://[::1]x/", "https://::1/", "https://h o/", "https://h/a b"}) {
    INFO(bad);
    CHECK_THROWS_AS(parse_url(bad), std::invalid_argument);
  }
  // The message names the URL and the problem.
  try {
    parse_url("https://user:secret@h/");
    FAIL("no exception");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()).find("user information") != std::string::npos);
  }
}

TEST_CASE("Backoff: grows from min to max, jittered within [ceiling/2, ceiling]") {
  Backoff b(100ms, 3000ms, 42);
  CHECK(b.ceiling(0) == 100ms);
  CHECK(b.ceiling(1) == 200ms);
  CHECK(b.ceiling(4) == 1600ms);
  CHECK(b.ceiling(5) == 3000ms);
  CHECK(b.ceiling(1000) == 3000ms);  // no overflow however long the outage
  for (unsigned n = 0; n < 40; ++n) {
    const auto d = b.next();
    const auto c = b.ceiling(n);
    INFO("failure " << n << ": " << d.count() << " ms");
    CHECK(d >= 100ms);
    CHECK(d <= 3000ms);
    CHECK(d <= c);
    CHECK(d >= std::max(100ms, c / 2));
  }
  CHECK(b.failures() == 40);
  b.reset();
  CHECK(b.failures() == 0);
  CHECK(b.next() == 100ms);  // min/2 is below min: the first wait is exactly min
}

TEST_CASE("Backoff: the jitter spreads waits over the whole range") {
  std::set<long> seen;
  long lo = 1 << 30, hi = 0;
  for (std::uint64_t seed = 0; seed < 400; ++seed) {
    Backoff b(1000ms, 60000ms, seed);
    for (int i = 0; i < 3; ++i) b.next();
    const long d = static_cast<long>(b.next().count());  // failure 3: ceiling 8 s, range [4 s, 8 s]
    REQUIRE(d >= 4000);
    REQUIRE(d <= 8000);
    seen.insert(d);
    lo = std::min(lo, d);
    hi = std::max(hi, d);
  }
  CHECK(seen.size() > 300);  // not a constant, not a handful of values
  CHECK(lo < 4400);
  CHECK(hi > 7600);
  // Degenerate settings stay sane.
  Backoff tiny(0ms, 0ms, 1);
  CHECK(tiny.next() == 1ms);
}

TEST_CASE("Retry-After: delta-seconds") {
  const auto now = at(1700000000);
  CHECK(parse_retry_after("120", now) == std::chrono::seconds(120));
  CHECK(parse_retry_after("  7 ", now) == std::chrono::seconds(7));
  CHECK(parse_retry_after("0", now) == std::chrono::seconds(0));
  CHECK(parse_retry_after("99999999999999999999", now) ==
        std::chrono::seconds(86400));  // clamped, not refused
}

TEST_CASE("Retry-After: HTTP-dates in the three forms") {
  // 1994-11-06 08:49:37 UTC
  const std::time_t date = 784111777;
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", at(date - 30)) == std::chrono::seconds(30));
  // Two-digit years: 94 seen from 2023 is 1994 (2094 would be more than 50 years ahead).
  CHECK(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", at(date - 10)) == std::chrono::seconds(10));
  CHECK(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", at(1700000000)) == std::chrono::seconds(0));
  CHECK(parse_retry_after("Sun Nov  6 08:49:37 1994", at(date - 5)) == std::chrono::seconds(5));
  // In the past: no wait.
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", at(date + 3600)) == std::chrono::seconds(0));
  // A fraction of a second rounds up.
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", at(date - 1) + 1ms) == std::chrono::seconds(1));
  // RFC 850 with a year in this century.
  const std::time_t d2030 = 1893456000;  // 2030-01-01 00:00:00 UTC, a Tuesday
  CHECK(parse_retry_after("Tuesday, 01-Jan-30 00:00:00 GMT", at(d2030 - 60)) == std::chrono::seconds(60));
  CHECK(parse_retry_after("Tue, 01 Jan 2030 00:00:00 GMT", at(d2030 - 86400 * 3)) ==
        std::chrono::seconds(86400));
}

TEST_CASE("Retry-After: garbage is refused") {
  const auto now = at(1700000000);
  for (const char* bad :
       {"", " ", "-5", "1.5", "soon", "5s", "0x10", "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 6 Nov 1994 08:49:37 GMT", "Xyz, 06 Nov 1994 08:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 25:49:37 GMT", "Sun, 32 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-1994 08:49:37 GMT",
        "Sun Nov 06 08:49:37", "Sun, 06 Nov 1994 08:49:37 GMT trailing"}) {
    INFO("'" << bad << "'");
    CHECK_FALSE(parse_retry_after(bad, now).has_value());
  }
}

TEST_CASE("gzip: round trip through zlib, and it compresses") {
  std::string text;
  for (int i = 0; i < 2000; ++i) text += R"({"gen_ai.provider.name":"openai","n":)" + std::to_string(i) + "}";
  const auto z = gzip_compress(text);
  REQUIRE(z.has_value());
  CHECK(z->size() < text.size() / 4);
  REQUIRE(z->size() >= 18);
  CHECK(static_cast<unsigned char>((*z)[0]) == 0x1f);  // gzip magic
  CHECK(static_cast<unsigned char>((*z)[1]) == 0x8b);
  CHECK(shadowmeter::testing::gunzip(*z) == text);

  const auto empty = gzip_compress("");
  REQUIRE(empty.has_value());
  CHECK(shadowmeter::testing::gunzip(*empty) == std::string());

  // Incompressible input still round-trips (the bound covers expansion).
  std::string noise(100000, '\0');
  std::uint32_t x = 12345;
  for (char& c : noise) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  const auto zn = gzip_compress(noise, 9);
  REQUIRE(zn.has_value());
  CHECK(shadowmeter::testing::gunzip(*zn) == noise);
}

TEST_CASE("Gap state: a sent record keeps its id and count until acknowledged") {
  GapState g;
  CHECK(g.empty());
  g.add(kGapSpoolFull, 1, 100);
  g.add(kGapSpoolFull, 2, 200);
  CHECK(g.pending_events() == 3);
  int ids = 0;
  const auto new_id = [&] { return "id" + std::to_string(++ids); };
  bool new_ids = false;
  auto first = g.to_send(new_id, new_ids);
  CHECK(new_ids);
  REQUIRE(first.size() == 1);
  CHECK(first[0].reason == "spool_full");
  CHECK(first[0].dropped == 3);
  CHECK(first[0].first_unix_ns == 100);
  CHECK(first[0].last_unix_ns == 200);
  CHECK(first[0].event_id == "id1");

  // Drops meanwhile do not change the record in flight: a resend is the same record.
  g.add(kGapSpoolFull, 4, 300);
  g.add(kGapRejected, 1, 310);
  auto again = g.to_send(new_id, new_ids);
  CHECK(new_ids);  // the "rejected" one is new
  REQUIRE(again.size() == 2);
  CHECK(again[0].reason == "rejected");
  CHECK(again[0].event_id == "id2");
  CHECK(again[1] == first[0]);
  CHECK(g.pending_events() == 8);

  // Acknowledging reports exactly what was sent; the rest goes under a new id.
  g.acknowledged({first[0]});
  CHECK(g.pending_events() == 5);
  auto next = g.to_send(new_id, new_ids);
  REQUIRE(next.size() == 2);
  CHECK(next[1].reason == "spool_full");
  CHECK(next[1].dropped == 4);
  CHECK(next[1].first_unix_ns == 300);
  CHECK(next[1].event_id == "id3");
  // A stale acknowledgement (an older id) changes nothing.
  g.acknowledged({first[0]});
  CHECK(g.pending_events() == 5);
  g.acknowledged(next);
  CHECK(g.empty());
  CHECK(g.to_send(new_id, new_ids).empty());
  CHECK_FALSE(new_ids);
}

TEST_CASE("Gap record: the exported attributes") {
  const GapRecord r{
      .reason = "spool_full", .dropped = 7, .first_unix_ns = 10, .last_unix_ns = 20, .event_id = "abc"};
  const auto j = gap_record_json(r, "node-1");
  CHECK(j["shadowmeter.record.type"] == "gap");
  CHECK(j["shadowmeter.event_id"] == "abc");
  CHECK(j["time_unix_nano"] == 10);
  CHECK(j["end_time_unix_nano"] == 20);
  CHECK(j["host.name"] == "node-1");
  CHECK(j["shadowmeter.gap.dropped_events"] == 7);
  CHECK(j["shadowmeter.gap.reason"] == "spool_full");
}

TEST_CASE("Gap state: persisted and reloaded across a reopen") {
  TempDir dir;
  GapState g;
  g.add(kGapSpoolFull, 5, 1000);
  g.add(kGapRejected, 1, 2000);
  bool new_ids = false;
  const auto sent = g.to_send([] { return std::string("0123456789abcdef0123456789abcdef"); }, new_ids);
  g.add(kGapSpoolFull, 2, 3000);  // after the send: in the open part
  {
    GapFile f(dir.path());
    REQUIRE(f.save(g));
  }
  CHECK_FALSE(fs::exists(dir.path() + "/gap.json.tmp"));
  GapFile f(dir.path());
  GapState loaded;
  REQUIRE(f.load(loaded) == GapFile::Load::ok);
  CHECK(loaded == g);
  CHECK(loaded.pending_events() == 8);
  // The record in flight comes back with the same id: a resend after a restart is deduplicated.
  auto resent = loaded.to_send([] { return std::string("new"); }, new_ids);
  CHECK_FALSE(new_ids);
  CHECK(resent == sent);
  loaded.acknowledged(resent);
  REQUIRE(f.save(loaded));
  GapState after;
  REQUIRE(f.load(after) == GapFile::Load::ok);
  CHECK(after.pending_events() == 2);
}

TEST_CASE("Gap state: a missing or damaged file") {
  TempDir dir;
  GapFile f(dir.path());
  GapState s;
  CHECK(f.load(s) == GapFile::Load::missing);
  CHECK(s.empty());
  for (
      const std::string& bad :
      {std::string("not json"), std::string("{}"), std::string(R"({"version":2,"reasons":{}})"),
       std::string(R"({"version":"1","reasons":{}})"),
       std::string(
           R"({"version":1,"reasons":{"spool_full":{"open":{"dropped":-1,"first":0,"last":0,"id":""}}}})"),
       std::string(
           R"({"version":1,"reasons":{"x":{"open":{"dropped":1,"first":0,"last":0,"id":""},"sent":{"dropped":1,"first":0,"last":0,"id":""}}}})"),
       std::string(200000, '{')}) {
    INFO(bad.substr(0, 80));
    std::ofstream(f.path(), std::ios::trunc) << bad;
    GapState t;
    t.add(kGapSpoolFull, 1, 1);
    CHECK(f.load(t) == GapFile::Load::corrupt);
    CHECK(t.pending_events() == 1);  // untouched
  }
}
