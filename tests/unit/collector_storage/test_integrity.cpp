// A SQLite store whose file was damaged refuses to open, naming the file and what SQLite found, instead
// of starting and failing every report later; pages of calls are bounded in bytes on both back ends.
#include <catch2/catch.hpp>
#include <fstream>
#include <string>

#include "records_fixture.h"
#include "store_fixture.h"

using namespace shadowmeter::testing;
using shadowmeter::collector::CallFilter;
using shadowmeter::collector::CallPage;
using shadowmeter::collector::IngestBatch;
using shadowmeter::collector::StoreError;

TEST_CASE("a SQLite file with garbage in the middle refuses to open, saying why", "[sqlite]") {
  auto fx = StoreFixture::make("sqlite");
  IngestBatch b;
  for (int i = 0; i < 400; ++i) {
    char id[33];
    std::snprintf(id, sizeof id, "%032x", i);
    b.calls.push_back({{"shadowmeter.event_id", id},
                       {"time_unix_nano", 1763900000000000000ll + i},
                       {"shadowmeter.owner", std::string(300, static_cast<char>('a' + i % 26))}});
  }
  fx->store().ingest(b);
  fx->close();
  fx->reopen();  // an intact file opens
  fx->close();
  {
    const std::string path = fx->sqlite_path();
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(0, std::ios::end);
    const auto size = static_cast<std::streamoff>(f.tellg());
    REQUIRE(size > 64 * 1024);
    f.seekp(size / 2);
    const std::string garbage(16 * 1024, '\x5a');
    f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  try {
    fx->reopen();
    FAIL("a damaged file opened");
  } catch (const StoreError& e) {
    CHECK_THAT(e.what(), Catch::Contains("sqlite: " + fx->sqlite_path() + " fails its integrity check"));
  }
}

TEST_CASE("a page of calls is cut at kMaxPageBytes of records, and the cursor goes on from the cut",
          "[storage]") {
  const std::string backend = GENERATE(as<std::string>{}, "sqlite", "postgresql");
  INFO("backend: " << backend);
  auto fx = StoreFixture::make(backend);
  if (!fx) return;
  // Five records of 3 MiB: a page of 10 would be 15 MiB, so it holds two (8 MiB budget).
  std::vector<nlohmann::json> events;
  for (unsigned i = 0; i < 5; ++i)
    events.push_back(call_event(event_id(3, i), kT0 + i * kSecond, {{"note", std::string(3u << 20, 'x')}}));
  REQUIRE(fx->store().ingest(batch_of(events)).inserted == 5);
  CallFilter f;
  f.limit = 10;
  std::vector<std::size_t> sizes;
  for (int pages = 0; pages < 10; ++pages) {
    const CallPage p = fx->store().query_calls(f);
    sizes.push_back(p.calls.size());
    if (p.next_cursor.empty()) break;
    f.cursor = p.next_cursor;
  }
  CHECK(sizes == std::vector<std::size_t>{2, 2, 1});
}
