// The on-disk spool: round trips, partial and stale acks, segment rollover and deletion, restart
// recovery, torn tails, corrupt records and ack files, limits, and a randomised model check.
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "export/spool/spool.h"
#include "temp_file.h"

using namespace shadowmeter::exporting;
namespace fs = std::filesystem;

namespace {

using shadowmeter::testing::TempDir;

SpoolOptions options(const TempDir& t) {
  SpoolOptions o;
  o.dir = t.file("spool");
  o.fsync = FsyncPolicy::never;
  return o;
}

// 40 bytes: 52 on disk with the 12-byte frame header.
std::string rec(int i) { return std::string(36, static_cast<char>('a' + i % 26)) + std::to_string(1000 + i); }

std::vector<std::string> recs(int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i < to; ++i) out.push_back(rec(i));
  return out;
}

std::vector<std::string> segment_files(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const auto name = e.path().filename().string();
    if (name.starts_with("seg-") && name.ends_with(".log")) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> peek_all(Spool& s) { return s.peek(1u << 20, 1u << 30).records; }

void write_file(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("spool: append, peek and ack round trip") {
  TempDir t;
  Spool s(options(t));
  REQUIRE(s.append(rec(0)));
  REQUIRE(s.append(rec(1)));
  REQUIRE(s.append(rec(2)));
  auto st = s.stats();
  CHECK(st.appended == 3);
  CHECK(st.pending_records == 3);
  CHECK(st.bytes == 3 * 52);
  CHECK(st.segments == 1);
  CHECK(fs::file_size(t.file("spool") + "/" + segment_files(t.file("spool")).at(0)) == 156);

  auto b = s.peek(10, 1 << 20);
  CHECK(b.records == recs(0, 3));
  s.ack(b);
  st = s.stats();
  CHECK(st.acked == 3);
  CHECK(st.pending_records == 0);
  CHECK(st.bytes == 0);  // fully acknowledged: the segment is gone
  CHECK(st.segments == 0);
  CHECK(segment_files(t.file("spool")).empty());
  CHECK(s.peek(10, 1 << 20).empty());

  REQUIRE(s.append(rec(3)));  // a fresh segment after everything was released
  CHECK(peek_all(s) == recs(3, 4));
  CHECK(segment_files(t.file("spool")) == std::vector<std::string>{"seg-00000000000000000002.log"});
  CHECK(s.stats().io_errors == 0);
}

TEST_CASE("spool: the directory is created 0700") {
  TempDir t;
  Spool s(options(t));
  struct stat sb {};
  REQUIRE(::stat(t.file("spool").c_str(), &sb) == 0);
  CHECK((sb.st_mode & 0777) == 0700);
  REQUIRE(s.append("x"));
  REQUIRE(::stat((t.file("spool") + "/seg-00000000000000000001.log").c_str(), &sb) == 0);
  CHECK((sb.st_mode & 0777) == 0600);
}

TEST_CASE("spool: peek returns the same records until acknowledged, within its limits") {
  TempDir t;
  Spool s(options(t));
  for (int i = 0; i < 5; ++i) REQUIRE(s.append(rec(i)));
  const auto a = s.peek(2, 1 << 20);
  const auto b = s.peek(2, 1 << 20);
  CHECK(a.records == recs(0, 2));
  CHECK(b.records == recs(0, 2));
  CHECK(a.end == b.end);
  CHECK(s.peek(10, 80).records == recs(0, 2));  // 40 + 40 fits, a third does not
  CHECK(s.peek(10, 79).records == recs(0, 1));
  CHECK(s.peek(10, 0).records == recs(0, 1));  // a single record larger than the limit still goes
  CHECK(s.peek(0, 1 << 20).empty());
  CHECK(s.stats().pending_records == 5);
  CHECK(s.stats().acked == 0);
}

TEST_CASE("spool: partial and stale acks") {
  TempDir t;
  Spool s(options(t));
  for (int i = 0; i < 6; ++i) REQUIRE(s.append(rec(i)));
  const auto first = s.peek(2, 1 << 20);
  const auto wider = s.peek(4, 1 << 20);
  s.ack(first);
  CHECK(s.stats().acked == 2);
  CHECK(s.stats().pending_records == 4);
  CHECK(peek_all(s) == recs(2, 6));

  s.ack(first);  // already acknowledged: no-op
  CHECK(s.stats().acked == 2);
  s.ack(wider);  // overlaps what was acknowledged: only the rest counts
  CHECK(s.stats().acked == 4);
  CHECK(s.stats().pending_records == 2);
  CHECK(peek_all(s) == recs(4, 6));

  s.ack(Spool::Batch{});  // end 0: before everything
  Spool::Batch bogus;
  bogus.end = wider.end + 1;  // inside a record: not a position of this spool
  s.ack(bogus);
  bogus.end = (std::uint64_t{99} << 32);  // past the end
  s.ack(bogus);
  CHECK(s.stats().acked == 4);
  CHECK(peek_all(s) == recs(4, 6));

  s.ack(s.peek(10, 1 << 20));
  CHECK(s.stats().acked == 6);
  CHECK(s.stats().pending_records == 0);
  s.ack(wider);  // stale after everything was released
  CHECK(s.stats().acked == 6);
}

TEST_CASE("spool: segment rollover, reads across segments, deletion of acknowledged segments") {
  TempDir t;
  auto o = options(t);
  o.segment_bytes = 100;  // two 52-byte records per segment
  Spool s(o);
  for (int i = 0; i < 9; ++i) REQUIRE(s.append(rec(i)));
  CHECK(s.stats().segments == 5);
  CHECK(segment_files(t.file("spool")).size() == 5);
  CHECK(segment_files(t.file("spool")).front() == "seg-00000000000000000001.log");
  CHECK(segment_files(t.file("spool")).back() == "seg-00000000000000000005.log");
  CHECK(s.stats().bytes == 9 * 52);
  CHECK(peek_all(s) == recs(0, 9));

  s.ack(s.peek(3, 1 << 20));  // segment 1 fully, segment 2 half
  CHECK(segment_files(t.file("spool")).size() == 4);
  CHECK(segment_files(t.file("spool")).front() == "seg-00000000000000000002.log");
  CHECK(s.stats().bytes == 7 * 52);
  CHECK(peek_all(s) == recs(3, 9));

  s.ack(s.peek(1, 1 << 20));  // exactly the end of segment 2
  CHECK(segment_files(t.file("spool")).size() == 3);
  CHECK(s.stats().segments == 3);
  CHECK(s.stats().pending_records == 5);
  CHECK(peek_all(s) == recs(4, 9));

  s.ack(s.peek(100, 1 << 20));
  CHECK(segment_files(t.file("spool")).empty());
  CHECK(s.stats().bytes == 0);
  CHECK(s.stats().acked == 9);
}

TEST_CASE("spool: restart recovery keeps pending records and drops acknowledged ones") {
  TempDir t;
  auto o = options(t);
  o.segment_bytes = 100;
  {
    Spool s(o);
    for (int i = 0; i < 5; ++i) REQUIRE(s.append(rec(i)));
    s.ack(s.peek(3, 1 << 20));
    CHECK(s.stats().pending_records == 2);
  }
  {
    Spool s(o);
    auto st = s.stats();
    CHECK(st.pending_records == 2);
    CHECK(st.appended == 0);
    CHECK(st.torn_tails == 0);
    CHECK(st.corrupt_records == 0);
    CHECK(st.ack_file_corrupt == 0);
    CHECK(st.bytes == 3 * 52);  // segment 2 (half acknowledged) and segment 3 stay on disk
    CHECK(peek_all(s) == recs(3, 5));
    REQUIRE(s.append(rec(5)));  // goes to a new segment after the recovered ones
    CHECK(peek_all(s) == recs(3, 6));
    s.ack(s.peek(1, 1 << 20));
  }
  {
    Spool s(o);
    CHECK(s.stats().pending_records == 2);
    CHECK(peek_all(s) == recs(4, 6));
  }
  {
    Spool s(o);  // a reopen without any ack changes nothing
    CHECK(peek_all(s) == recs(4, 6));
    s.ack(s.peek(10, 1 << 20));
  }
  Spool s(o);
  CHECK(s.stats().pending_records == 0);
  CHECK(s.peek(10, 1 << 20).empty());
  CHECK(segment_files(t.file("spool")).empty());
}

TEST_CASE("spool: a torn tail is truncated and the complete records survive") {
  // Cut the last of three records at several points: inside its header, at the start of its
  // payload, inside it, one byte short of the end.
  const std::uint64_t cut_into_last = GENERATE(1u, 5u, 11u, 12u, 30u, 51u);
  TempDir t;
  const auto o = options(t);
  {
    Spool s(o);
    for (int i = 0; i < 3; ++i) REQUIRE(s.append(rec(i)));
  }
  const std::string seg = t.file("spool") + "/seg-00000000000000000001.log";
  fs::resize_file(seg, 2 * 52 + cut_into_last);
  {
    Spool s(o);
    const auto st = s.stats();
    CHECK(st.torn_tails == 1);
    CHECK(st.corrupt_records == 0);
    CHECK(st.pending_records == 2);
    CHECK(st.bytes == 104);
    CHECK(fs::file_size(seg) == 104);
    CHECK(peek_all(s) == recs(0, 2));
    REQUIRE(s.append("after"));
    CHECK(peek_all(s) == std::vector<std::string>{rec(0), rec(1), "after"});
  }
  Spool s(o);
  CHECK(s.stats().torn_tails == 0);  // already repaired
  CHECK(peek_all(s) == std::vector<std::string>{rec(0), rec(1), "after"});
}

TEST_CASE("spool: a file cut at a record boundary is not torn") {
  TempDir t;
  const auto o = options(t);
  {
    Spool s(o);
    for (int i = 0; i < 3; ++i) REQUIRE(s.append(rec(i)));
  }
  fs::resize_file(t.file("spool") + "/seg-00000000000000000001.log", 104);
  Spool s(o);
  CHECK(s.stats().torn_tails == 0);
  CHECK(peek_all(s) == recs(0, 2));
}

TEST_CASE("spool: a flipped bit in a payload is a corrupt record; the records before survive") {
  TempDir t;
  auto o = options(t);
  o.segment_bytes = 4 * 52;  // four records in segment 1, the rest in segment 2
  {
    Spool s(o);
    for (int i = 0; i < 6; ++i) REQUIRE(s.append(rec(i)));
    CHECK(s.stats().segments == 2);
  }
  const std::string seg = t.file("spool") + "/seg-00000000000000000001.log";
  std::string bytes = read_file(seg);
  bytes[2 * 52 + 12 + 7] = static_cast<char>(bytes[2 * 52 + 12 + 7] ^ 0x10);  // record 2's payload
  write_file(seg, bytes);
  {
    Spool s(o);
    const auto st = s.stats();
    CHECK(st.corrupt_records == 1);
    CHECK(st.torn_tails == 0);
    // Records 2 and 3 (after the damage in segment 1) are skipped; segment 2 is intact.
    CHECK(st.pending_records == 4);
    CHECK(st.bytes == 6 * 52);
    CHECK(peek_all(s) == std::vector<std::string>{rec(0), rec(1), rec(4), rec(5)});
    REQUIRE(s.append("later"));
    CHECK(peek_all(s) == std::vector<std::string>{rec(0), rec(1), rec(4), rec(5), "later"});
    s.ack(s.peek(2, 1 << 20));  // past the readable part of segment 1: it is deleted
    CHECK(segment_files(t.file("spool")) ==
          std::vector<std::string>{"seg-00000000000000000002.log", "seg-00000000000000000003.log"});
  }
  Spool s(o);
  CHECK(s.stats().corrupt_records == 0);
  CHECK(peek_all(s) == std::vector<std::string>{rec(4), rec(5), "later"});
}

TEST_CASE("spool: an impossible length in an older segment is corrupt, not torn") {
  TempDir t;
  auto o = options(t);
  o.segment_bytes = 100;
  {
    Spool s(o);
    for (int i = 0; i < 4; ++i) REQUIRE(s.append(rec(i)));
  }
  const std::string seg = t.file("spool") + "/seg-00000000000000000001.log";
  std::string bytes = read_file(seg);
  bytes[52 + 4] = '\x7f';  // record 1's length now runs past the end of the file
  write_file(seg, bytes);
  Spool s(o);
  CHECK(s.stats().corrupt_records == 1);
  CHECK(s.stats().torn_tails == 0);
  CHECK(fs::file_size(seg) == 104);  // not truncated
  CHECK(peek_all(s) == std::vector<std::string>{rec(0), rec(2), rec(3)});
}

TEST_CASE("spool: a record changed on disk after start-up is skipped when read") {
  TempDir t;
  Spool s(options(t));
  for (int i = 0; i < 3; ++i) REQUIRE(s.append(rec(i)));
  const std::string seg = t.file("spool") + "/seg-00000000000000000001.log";
  {
    std::fstream f(seg, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(52 + 20);
    f.put('#');
  }
  CHECK(peek_all(s) == recs(0, 1));
  CHECK(s.stats().corrupt_records == 1);
  CHECK(s.stats().pending_records == 1);
  REQUIRE(s.append(rec(3)));  // no longer written after the damage: a new segment
  CHECK(peek_all(s) == std::vector<std::string>{rec(0), rec(3)});
  s.ack(s.peek(10, 1 << 20));
  CHECK(s.stats().pending_records == 0);
  CHECK(segment_files(t.file("spool")).empty());
}

TEST_CASE("spool: empty records are valid") {
  TempDir t;
  const auto o = options(t);
  {
    Spool s(o);
    REQUIRE(s.append(""));
    REQUIRE(s.append("x"));
    REQUIRE(s.append(""));
    CHECK(s.stats().bytes == 12 + 13 + 12);
    const auto b = s.peek(1, 1 << 20);
    CHECK(b.records == std::vector<std::string>{""});
    s.ack(b);
    CHECK(s.stats().pending_records == 2);
  }
  Spool s(o);
  CHECK(s.stats().pending_records == 2);
  CHECK(peek_all(s) == std::vector<std::string>{"x", ""});
}

TEST_CASE("spool: a record longer than max_record_bytes is refused") {
  TempDir t;
  auto o = options(t);
  o.max_record_bytes = 10;
  Spool s(o);
  CHECK_FALSE(s.append(std::string(11, 'z')));
  CHECK(s.append(std::string(10, 'z')));
  const auto st = s.stats();
  CHECK(st.dropped_full == 1);
  CHECK(st.appended == 1);
  CHECK(st.pending_records == 1);
  CHECK(peek_all(s) == std::vector<std::string>{std::string(10, 'z')});
}

TEST_CASE("spool: when full, appends are dropped and counted until an ack frees space") {
  TempDir t;
  auto o = options(t);
  o.max_bytes = 5 * 52;
  o.segment_bytes = 100;
  Spool s(o);
  for (int i = 0; i < 5; ++i) REQUIRE(s.append(rec(i)));
  CHECK_FALSE(s.append(rec(5)));
  CHECK_FALSE(s.append(""));  // 12 bytes do not fit either
  CHECK(s.stats().dropped_full == 2);
  CHECK(s.stats().bytes == 5 * 52);

  s.ack(s.peek(1, 1 << 20));  // half a segment: nothing freed on disk
  CHECK_FALSE(s.append(rec(5)));
  CHECK(s.stats().dropped_full == 3);
  s.ack(s.peek(1, 1 << 20));  // segment 1 deleted: 104 bytes back
  CHECK(s.append(rec(5)));
  CHECK(s.append(rec(6)));
  CHECK_FALSE(s.append(rec(7)));
  const auto st = s.stats();
  CHECK(st.dropped_full == 4);
  CHECK(st.appended == 7);
  CHECK(st.pending_records == 5);
  CHECK(peek_all(s) == recs(2, 7));
}

TEST_CASE("spool: other files in the directory are ignored") {
  TempDir t;
  const auto o = options(t);
  fs::create_directory(t.file("spool"));
  write_file(t.file("spool") + "/notes.txt", "hello");
  write_file(t.file("spool") + "/seg-abc.log", "garbage");
  write_file(t.file("spool") + "/seg-00000000000000000001.log.bak", "garbage");
  write_file(t.file("spool") + "/seg-99999999999999999999.log", "too large a sequence");
  fs::create_directory(t.file("spool") + "/seg-00000000000000000007.log");
  {
    Spool s(o);
    CHECK(s.stats().segments == 0);
    CHECK(s.stats().corrupt_records == 0);
    CHECK(s.stats().pending_records == 0);
    REQUIRE(s.append("a"));
    CHECK(peek_all(s) == std::vector<std::string>{"a"});
    s.ack(s.peek(10, 1 << 20));
  }
  CHECK(read_file(t.file("spool") + "/notes.txt") == "hello");
  CHECK(read_file(t.file("spool") + "/seg-abc.log") == "garbage");
  CHECK(fs::exists(t.file("spool") + "/seg-00000000000000000001.log.bak"));
}

TEST_CASE("spool: a segment file holding garbage is corrupt, not fatal") {
  TempDir t;
  auto o = options(t);
  {
    Spool s(o);
    REQUIRE(s.append(rec(0)));
  }
  write_file(t.file("spool") + "/seg-00000000000000000002.log", "this is not a spool segment at all");
  Spool s(o);
  CHECK(s.stats().corrupt_records == 1);
  CHECK(s.stats().pending_records == 1);
  CHECK(peek_all(s) == recs(0, 1));
  REQUIRE(s.append(rec(1)));
  CHECK(segment_files(t.file("spool")).back() == "seg-00000000000000000003.log");
  s.ack(s.peek(10, 1 << 20));
  CHECK(segment_files(t.file("spool")).empty());
}

TEST_CASE("spool: a corrupt ack file restarts from the oldest record") {
  const std::string damage =
      GENERATE(std::string("garbage"), std::string(), std::string(24, '\0'), std::string("flip"));
  TempDir t;
  const auto o = options(t);
  {
    Spool s(o);
    for (int i = 0; i < 4; ++i) REQUIRE(s.append(rec(i)));
    s.ack(s.peek(2, 1 << 20));
  }
  const std::string ack = t.file("spool") + "/ack";
  std::string bytes = read_file(ack);
  REQUIRE(bytes.size() == 24);
  if (damage == "flip") {
    bytes[12] = static_cast<char>(bytes[12] ^ 1);
  } else {
    bytes = damage;
  }
  write_file(ack, bytes);
  Spool s(o);
  CHECK(s.stats().ack_file_corrupt == 1);
  CHECK(s.stats().pending_records == 4);
  CHECK(peek_all(s) == recs(0, 4));  // at-least-once: the acknowledged two come again
}

TEST_CASE("spool: an unusable directory throws naming it") {
  TempDir t;
  write_file(t.path() + "/file", "x");
  SpoolOptions o;
  o.dir = t.path() + "/file";
  CHECK_THROWS_WITH(Spool(o), Catch::Contains(o.dir));
  o.dir = t.path() + "/missing/deeper";
  CHECK_THROWS_WITH(Spool(o), Catch::Contains(o.dir));
}

TEST_CASE("spool: fsync policies keep the same behaviour") {
  const FsyncPolicy policy = GENERATE(FsyncPolicy::every_append, FsyncPolicy::on_flush);
  TempDir t;
  auto o = options(t);
  o.fsync = policy;
  o.segment_bytes = 100;
  {
    Spool s(o);
    for (int i = 0; i < 3; ++i) REQUIRE(s.append(rec(i)));
    s.flush();
    s.ack(s.peek(1, 1 << 20));
  }
  Spool s(o);
  CHECK(peek_all(s) == recs(1, 3));
  CHECK(s.stats().io_errors == 0);
}

TEST_CASE("spool: random appends, peeks, acks and reopens match a queue model") {
  TempDir t;
  auto o = options(t);
  o.segment_bytes = 300;
  o.max_bytes = 1u << 20;
  std::mt19937 rng(20240611);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };

  auto spool = std::make_unique<Spool>(o);
  std::deque<std::string> model;  // pending records, oldest first
  std::uint64_t acked_index = 0;  // records acknowledged so far (global numbering)
  std::uint64_t appended_index = 0;
  struct Seen {
    Spool::Batch batch;
    std::uint64_t end_index;
  };
  std::vector<Seen> seen;
  int counter = 0;
  std::uint64_t total_acked = 0;

  for (int step = 0; step < 2000; ++step) {
    const int op = pick(0, 99);
    if (op < 45) {
      std::string r(static_cast<std::size_t>(pick(0, 120)), static_cast<char>('A' + counter % 26));
      r += std::to_string(counter++);
      REQUIRE(spool->append(r));
      model.push_back(r);
      ++appended_index;
    } else if (op < 75) {
      const auto max_records = static_cast<std::size_t>(pick(0, 8));
      const auto max_bytes = static_cast<std::size_t>(pick(0, 500));
      auto b = spool->peek(max_records, max_bytes);
      std::vector<std::string> expect;
      std::size_t bytes = 0;
      for (const auto& r : model) {
        if (expect.size() >= max_records) break;
        if (!expect.empty() && bytes + r.size() > max_bytes) break;
        bytes += r.size();
        expect.push_back(r);
      }
      REQUIRE(b.records == expect);
      seen.push_back({std::move(b), acked_index + expect.size()});
      if (seen.size() > 20) seen.erase(seen.begin());
    } else if (op < 95) {
      if (seen.empty()) continue;
      const auto& s = seen[static_cast<std::size_t>(pick(0, static_cast<int>(seen.size()) - 1))];
      spool->ack(s.batch);
      if (s.end_index > acked_index) {
        const std::uint64_t n = s.end_index - acked_index;
        for (std::uint64_t i = 0; i < n; ++i) model.pop_front();
        acked_index = s.end_index;
        total_acked += n;
      }
    } else {
      const auto before = spool->stats();
      spool.reset();
      spool = std::make_unique<Spool>(o);
      total_acked = 0;
      CHECK(spool->stats().segments == before.segments);
    }
    const auto st = spool->stats();
    REQUIRE(st.pending_records == model.size());
    REQUIRE(st.acked == total_acked);
    REQUIRE(st.segments == segment_files(t.file("spool")).size());
    REQUIRE(st.corrupt_records == 0);
    REQUIRE(st.torn_tails == 0);
    REQUIRE(st.io_errors == 0);
  }
  CHECK(appended_index == static_cast<std::uint64_t>(counter));
  CHECK(peek_all(*spool) == std::vector<std::string>(model.begin(), model.end()));
  spool->ack(spool->peek(1u << 20, 1u << 30));
  CHECK(spool->stats().pending_records == 0);
  CHECK(segment_files(t.file("spool")).empty());
}
