// The collector's store, one suite run against both back ends (SQLite file, PostgreSQL database):
// migrations, idempotent ingest, typed columns, queries and pagination, agents and health records,
// retention into rollups, stats, durability across reopen, atomicity, concurrency, reconnects.
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "records_fixture.h"
#include "storage/schema.h"
#include "store_fixture.h"

using namespace shadowmeter::testing;
using shadowmeter::collector::CallFilter;
using shadowmeter::collector::CallPage;
using shadowmeter::collector::IngestBatch;
using shadowmeter::collector::IngestResult;
using shadowmeter::collector::RetentionPolicy;
using shadowmeter::collector::RetentionResult;
using shadowmeter::collector::Store;
using shadowmeter::collector::StoreError;
namespace sql = shadowmeter::collector::sql;

// Runs the rest of the test case once per back end (Catch2 GENERATE); a back end that cannot run
// here has WARNed and the case returns.
#define STORE_PER_BACKEND(fx)                                                           \
  const std::string backend_name = GENERATE(as<std::string>{}, "sqlite", "postgresql"); \
  INFO("backend: " << backend_name);                                                    \
  auto fx = StoreFixture::make(backend_name);                                           \
  if (!fx) return

namespace {

std::vector<std::string> ids_of(const std::vector<nlohmann::json>& calls) {
  std::vector<std::string> ids;
  for (const auto& c : calls) ids.push_back(c.at("shadowmeter.event_id").get<std::string>());
  return ids;
}

std::vector<std::string> query_ids(Store& s, CallFilter f) {
  f.limit = 1000;
  return ids_of(s.query_calls(f).calls);
}

sql::Row row_of(sql::Connection& c, const std::string& q, const std::string& id) {
  const auto rows = c.query(q, {id});
  REQUIRE(rows.size() == 1);
  return rows[0];
}

std::int64_t count(sql::Connection& c, const std::string& q) {
  const auto rows = c.query(q, {});
  REQUIRE(rows.size() == 1);
  return sql::as_int(rows[0][0]).value();
}

const nlohmann::json* find_rollup(const nlohmann::json& rollups, const std::string& day,
                                  const nlohmann::json& owner) {
  for (const auto& r : rollups) {
    if (r["day"] == day && r["shadowmeter.owner"] == owner) return &r;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("migrate is idempotent and records its version once", "[storage]") {
  STORE_PER_BACKEND(fx);
  fx->store().migrate();
  fx->store().migrate();
  auto raw = fx->raw();
  CHECK(count(*raw, "SELECT COUNT(*) FROM schema_version") ==
        count(*raw, "SELECT COUNT(DISTINCT version) FROM schema_version"));  // each step once (numbers may skip)
  CHECK(sql::schema_version(*raw) == sql::current_schema_version());
  CHECK(sql::schema_version(*raw) == sql::current_schema_version());
  REQUIRE(fx->store().ingest(batch_of({call_event(event_id(1, 1), kT0)})).inserted == 1);
  fx->reopen();  // open_store migrates again on a populated database
  fx->store().migrate();
  CHECK(count(*raw, "SELECT COUNT(*) FROM schema_version") ==
        count(*raw, "SELECT COUNT(DISTINCT version) FROM schema_version"));  // each step once (numbers may skip)
  CHECK(sql::schema_version(*raw) == sql::current_schema_version());
  CHECK(fx->store().stats().calls == 1);
  CHECK(fx->store().backend() == backend_name);
}

TEST_CASE("collectors starting together migrate one at a time", "[storage]") {
  STORE_PER_BACKEND(fx);
  fx->close();
  auto raw = fx->raw();
  raw->execute("DROP TABLE schema_version",
               {});  // as if nothing were migrated yet (tables exist: IF NOT EXISTS)
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      try {
        auto s = shadowmeter::collector::open_store(fx->url());
        s->migrate();
      } catch (const std::exception& e) {
        ++failures;
        std::fprintf(stderr, "concurrent open failed: %s\n", e.what());
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(failures == 0);
  CHECK(count(*raw, "SELECT COUNT(*) FROM schema_version") ==
        count(*raw, "SELECT COUNT(DISTINCT version) FROM schema_version"));  // each step once (numbers may skip)
  CHECK(sql::schema_version(*raw) == sql::current_schema_version());
}

TEST_CASE("an event is stored once; redelivery counts as duplicate", "[storage]") {
  STORE_PER_BACKEND(fx);
  Store& s = fx->store();
  const auto e = call_event(event_id(2, 1), kT0 + kSecond);
  IngestResult r = s.ingest(batch_of({e}));
  CHECK(r.inserted == 1);
  CHECK(r.duplicates == 0);
  r = s.ingest(batch_of({e}));
  CHECK(r.inserted == 0);
  CHECK(r.duplicates == 1);
  // Same id twice in one batch, next to a new one.
  r = s.ingest(batch_of({e, call_event(event_id(2, 2), kT0), call_event(event_id(2, 2), kT0)}));
  CHECK(r.inserted == 1);
  CHECK(r.duplicates == 2);
  CHECK(s.stats().calls == 2);
  const CallPage page = s.query_calls({});
  REQUIRE(page.calls.size() == 2);
  CHECK(page.calls[0] == e);  // exactly what was received
  CHECK(page.next_cursor.empty());
}

TEST_CASE("a batch of 1000 events in one call", "[storage]") {
  STORE_PER_BACKEND(fx);
  std::vector<nlohmann::json> calls;
  for (unsigned i = 0; i < 1000; ++i) calls.push_back(call_event(event_id(3, i), kT0 + i * kSecond));
  const IngestResult r = fx->store().ingest(batch_of(calls));
  CHECK(r.inserted == 1000);
  CHECK(r.duplicates == 0);
  CHECK(fx->store().stats().calls == 1000);
  const IngestResult again = fx->store().ingest(batch_of(calls));
  CHECK(again.inserted == 0);
  CHECK(again.duplicates == 1000);
  CallFilter f;
  f.limit = 1000;
  const auto page = fx->store().query_calls(f);
  REQUIRE(page.calls.size() == 1000);
  CHECK(page.calls.front() == calls.back());
  CHECK(page.next_cursor.empty());
}

TEST_CASE("ingest_many commits several batches together, results in order", "[storage]") {
  STORE_PER_BACKEND(fx);
  IngestBatch a = batch_of({call_event(event_id(4, 1), kT0), call_event(event_id(4, 2), kT0)});
  IngestBatch b = batch_of({call_event(event_id(4, 2), kT0), call_event(event_id(4, 3), kT0)});
  IngestBatch c;
  c.received_unix_nano = kT0;
  c.heartbeats = {heartbeat(event_id(4, 10), kT0, "node-1", "0.1.0")};
  c.gaps = {gap(event_id(4, 11), kT0, "node-1", 5, "spool_full")};
  const auto results = fx->store().ingest_many({&a, &b, &c});
  REQUIRE(results.size() == 3);
  CHECK(results[0].inserted == 2);
  CHECK(results[0].duplicates == 0);
  CHECK(results[1].inserted == 1);
  CHECK(results[1].duplicates == 1);
  CHECK(results[2].inserted == 0);
  CHECK(results[2].heartbeats == 1);
  CHECK(results[2].gaps == 1);
  CHECK(fx->store().stats().calls == 3);
  // Redelivered as a whole: nothing new.
  const auto again = fx->store().ingest_many({&c, &a});
  CHECK(again[0].heartbeats == 0);
  CHECK(again[0].gaps == 0);
  CHECK(again[1].duplicates == 2);
}

TEST_CASE("a failing batch stores nothing of itself (single and grouped)", "[storage]") {
  STORE_PER_BACKEND(fx);
  Store& s = fx->store();
  REQUIRE(s.ingest(batch_of({call_event(event_id(5, 1), kT0)})).inserted == 1);
  auto raw = fx->raw();
  raw->execute("DROP TABLE gaps", {});  // the gap insert fails after the calls were inserted

  IngestBatch bad = batch_of({call_event(event_id(5, 2), kT0), call_event(event_id(5, 3), kT0)});
  bad.gaps = {gap(event_id(5, 4), kT0, "node-1", 1, "spool_full")};
  CHECK_THROWS_AS(s.ingest(bad), StoreError);
  IngestBatch good = batch_of({call_event(event_id(5, 5), kT0)});
  CHECK_THROWS_AS(s.ingest_many({&good, &bad}), StoreError);
  CHECK(s.stats().calls == 1);
  CHECK(count(*raw, "SELECT COUNT(*) FROM calls") == 1);

  // The store is still usable afterwards.
  CHECK(s.ingest(good).inserted == 1);
  CHECK(s.stats().calls == 2);
}

TEST_CASE("missing or mistyped attributes are NULL columns, the event is kept whole", "[storage]") {
  STORE_PER_BACKEND(fx);
  Store& s = fx->store();
  const std::string id = event_id(6, 1);
  const auto e = call_event(id, kT0 + 5 * kSecond,
                            {{"host.name", 42},
                             {"gen_ai.provider.name", ""},
                             {"gen_ai.request.model", nlohmann::json::array({"gpt"})},
                             {"gen_ai.response.model", std::string(2000, 'm')},
                             {"gen_ai.usage.input_tokens", "100"},
                             {"gen_ai.usage.output_tokens", 1.5},
                             {"gen_ai.usage.cache_read.input_tokens", -3},
                             {"gen_ai.usage.cache_creation.input_tokens", 18446744073709551615ull},
                             {"gen_ai.usage.reasoning.output_tokens", nlohmann::json::object()},
                             {"shadowmeter.stream", "yes"},
                             {"shadowmeter.shadow", 1},
                             {"shadowmeter.cost.usd", "0.5"},
                             {"http.response.status_code", true},
                             {"shadowmeter.owner", std::string("own\0er", 6)},
                             {"end_time_unix_nano", "soon"},
                             {"k8s.deployment.name", nullptr},
                             {"shadowmeter.api_key.fingerprint", nullptr}});
  const IngestResult r = s.ingest(batch_of({e}));
  REQUIRE(r.inserted == 1);

  auto raw = fx->raw();
  const sql::Row row =
      row_of(*raw,
             "SELECT host_name, provider, request_model, response_model, input_tokens, "
             "output_tokens, cache_read_tokens, cache_creation_tokens, reasoning_tokens, stream, "
             "shadow, cost_usd, status_code, owner, end_time_unix_nano, k8s_workload_kind, "
             "k8s_workload_name, api_key_fingerprint, time_unix_nano, operation "
             "FROM calls WHERE event_id = ?",
             id);
  for (std::size_t i = 0; i < 18; ++i) {
    INFO("column " << i);
    CHECK(sql::is_null(row[i]));
  }
  CHECK(sql::as_int(row[18]) == static_cast<std::int64_t>(kT0 + 5 * kSecond));
  CHECK(sql::as_text(row[19]) == "chat");

  const auto page = s.query_calls({});
  REQUIRE(page.calls.size() == 1);
  CHECK(page.calls[0] == e);
}

TEST_CASE("typed columns of a complete event, and records without a usable id or time", "[storage]") {
  STORE_PER_BACKEND(fx);
  Store& s = fx->store();
  const std::string id = event_id(7, 1);
  auto e = call_event(id, kT0,
                      {{"gen_ai.usage.cache_read.input_tokens", 40},
                       {"gen_ai.usage.reasoning.output_tokens", 7},
                       {"shadowmeter.shadow", true},
                       {"shadowmeter.stream", true},
                       {"deployment.environment", "prod"}});
  auto no_time = call_event(event_id(7, 2), 0, {{"time_unix_nano", nullptr}});
  auto bad_id = call_event("not a valid id!", kT0);
  auto no_id = call_event("x", kT0, {{"shadowmeter.event_id", nullptr}});
  auto numeric_id = call_event("x", kT0, {{"shadowmeter.event_id", 12345}});
  const IngestResult r =
      s.ingest(batch_of({e, no_time, bad_id, no_id, numeric_id}, kT0 + 9 * kSecond, "mtls:node-1"));
  CHECK(r.inserted == 2);
  CHECK(r.invalid == 3);
  CHECK(s.stats().calls == 2);

  auto raw = fx->raw();
  const sql::Row row = row_of(*raw,
                              "SELECT host_name, provider, request_model, response_model, input_tokens, "
                              "output_tokens, cache_read_tokens, reasoning_tokens, stream, shadow, cost_usd, "
                              "status_code, owner, k8s_workload_kind, k8s_workload_name, principal, "
                              "received_unix_nano, environment, k8s_namespace, visibility "
                              "FROM calls WHERE event_id = ?",
                              id);
  CHECK(sql::as_text(row[0]) == "node-1");
  CHECK(sql::as_text(row[1]) == "openai");
  CHECK(sql::as_text(row[2]) == "gpt-4o");
  CHECK(sql::as_text(row[3]) == "gpt-4o-2024-08-06");
  CHECK(sql::as_int(row[4]) == 100);
  CHECK(sql::as_int(row[5]) == 20);
  CHECK(sql::as_int(row[6]) == 40);
  CHECK(sql::as_int(row[7]) == 7);
  CHECK(sql::as_int(row[8]) == 1);
  CHECK(sql::as_int(row[9]) == 1);
  CHECK(sql::as_double(row[10]) == 0.5);
  CHECK(sql::as_int(row[11]) == 200);
  CHECK(sql::as_text(row[12]) == "payments");
  CHECK(sql::as_text(row[13]) == "deployment");
  CHECK(sql::as_text(row[14]) == "checkout");
  CHECK(sql::as_text(row[15]) == "mtls:node-1");
  CHECK(sql::as_int(row[16]) == static_cast<std::int64_t>(kT0 + 9 * kSecond));
  CHECK(sql::as_text(row[17]) == "prod");
  CHECK(sql::as_text(row[18]) == "team-a");
  CHECK(sql::as_text(row[19]) == "plaintext");

  // Without a usable time an event is filed under its arrival.
  const sql::Row t = row_of(*raw, "SELECT time_unix_nano FROM calls WHERE event_id = ?", event_id(7, 2));
  CHECK(sql::as_int(t[0]) == static_cast<std::int64_t>(kT0 + 9 * kSecond));
}

TEST_CASE("query filters, each on its own and combined", "[storage]") {
  STORE_PER_BACKEND(fx);
  Store& s = fx->store();
  const std::vector<nlohmann::json> events = {
      call_event(event_id(8, 1), kT0 + 1 * kSecond),
      call_event(event_id(8, 2), kT0 + 2 * kSecond,
                 {{"gen_ai.provider.name", "anthropic"},
                  {"gen_ai.request.model", "claude-sonnet-4"},
                  {"gen_ai.response.model", "claude-sonnet-4-20250514"},
                  {"k8s.namespace.name", "team-b"},
                  {"shadowmeter.owner", "search"},
                  {"host.name", "node-2"},
                  {"shadowmeter.api_key.fingerprint", "fp-bbbb"},
                  {"shadowmeter.shadow", true}}),
      call_event(event_id(8, 3), kT0 + 3 * kSecond,
                 {{"gen_ai.request.model", "gpt-4o-mini"},
                  {"gen_ai.response.model", "gpt-4o"},
                  {"shadowmeter.owner", "search"},
                  {"shadowmeter.shadow", nullptr},
                  {"shadowmeter.api_key.fingerprint", nullptr}}),
      call_event(event_id(8, 4), kT0 + 4 * kSecond,
                 {{"k8s.namespace.name", nullptr}, {"host.name", "node-2"}, {"shadowmeter.shadow", true}}),
  };
  REQUIRE(s.ingest(batch_of(events)).inserted == 4);
  const auto id = [](unsigned n) { return event_id(8, n); };

  CHECK(query_ids(s, {}) == std::vector<std::string>{id(4), id(3), id(2), id(1)});
  CallFilter f;
  f.from_unix_nano = kT0 + 2 * kSecond;
  CHECK(query_ids(s, f) == std::vector<std::string>{id(4), id(3), id(2)});
  f = {};
  f.to_unix_nano = kT0 + 3 * kSecond;
  CHECK(query_ids(s, f) == std::vector<std::string>{id(2), id(1)});
  f.from_unix_nano = kT0 + 2 * kSecond;
  CHECK(query_ids(s, f) == std::vector<std::string>{id(2)});
  f = {};
  f.provider = "anthropic";
  CHECK(query_ids(s, f) == std::vector<std::string>{id(2)});
  f = {};
  f.model = "gpt-4o";  // request model of 1 and 4, response model of 3
  CHECK(query_ids(s, f) == std::vector<std::string>{id(4), id(3), id(1)});
  f.model = "claude-sonnet-4-20250514";
  CHECK(query_ids(s, f) == std::vector<std::string>{id(2)});
  f = {};
  f.k8s_namespace = "team-a";
  CHECK(query_ids(s, f) == std::vector<std::string>{id(3), id(1)});
  f = {};
  f.owner = "search";
  CHECK(query_ids(s, f) == std::vector<std::string>{id(3), id(2)});
  f = {};
  f.host = "node-2";
  CHECK(query_ids(s, f) == std::vector<std::string>{id(4), id(2)});
  f = {};
  f.api_key_fingerprint = "fp-aaaa";
  CHECK(query_ids(s, f) == std::vector<std::string>{id(4), id(1)});
  f = {};
  f.shadow = true;
  CHECK(query_ids(s, f) == std::vector<std::string>{id(4), id(2)});
  f.shadow = false;  // unknown (3) is not "false"
  CHECK(query_ids(s, f) == std::vector<std::string>{id(1)});
  f = {};
  f.host = "node-2";
  f.shadow = true;
  f.provider = "openai";
  CHECK(query_ids(s, f) == std::vector<std::string>{id(4)});
  f.owner = "nobody";
  CHECK(query_ids(s, f).empty());
}

TEST_CASE("pagination across pages with equal timestamps: every row once, in order", "[storage]") {
  STORE_PER_BACKEND(fx);
  Store& s = fx->store();
  std::vector<nlohmann::json> events;
  for (unsigned i = 0; i < 25; ++i) {
    // Five rows share each timestamp; ids are not in time order.
    events.push_back(call_event(event_id(9, (i * 7) % 25), kT0 + (i / 5) * kSecond,
                                {{"shadowmeter.owner", i % 2 ? "odd" : "even"}}));
  }
  REQUIRE(s.ingest(batch_of(events)).inserted == 25);
  std::vector<std::pair<std::uint64_t, std::string>> expected;
  for (const auto& e : events)
    expected.emplace_back(e["time_unix_nano"].get<std::uint64_t>(), e["shadowmeter.event_id"]);
  std::sort(expected.rbegin(), expected.rend());

  auto all_pages = [&s](CallFilter f, const std::function<void(std::size_t)>& between_pages = nullptr) {
    std::vector<std::string> seen;
    std::size_t pages = 0;
    for (;;) {
      const CallPage p = s.query_calls(f);
      ++pages;
      REQUIRE(p.calls.size() <= f.limit);
      for (const auto& id : ids_of(p.calls)) seen.push_back(id);
      if (p.next_cursor.empty()) break;
      REQUIRE(pages < 100);
      f.cursor = p.next_cursor;
      if (between_pages) between_pages(pages);
    }
    return std::make_pair(seen, pages);
  };

  for (const std::size_t page_size : {1u, 4u, 5u, 7u, 25u, 30u}) {
    INFO("page size " << page_size);
    CallFilter f;
    f.limit = page_size;
    const auto [seen, pages] = all_pages(f);
    REQUIRE(seen.size() == 25);
    for (std::size_t i = 0; i < 25; ++i) CHECK(seen[i] == expected[i].second);
    CHECK(pages == (25 + page_size - 1) / page_size);
  }

  // A newer event arriving between pages does not shift the pages still to come.
  CallFilter f4;
  f4.limit = 4;
  const auto [seen4, pages4] = all_pages(f4, [&s](std::size_t page) {
    if (page == 2) s.ingest(batch_of({call_event(event_id(10, 1), kT0 + 100 * kSecond)}));
  });
  REQUIRE(seen4.size() == 25);
  for (std::size_t i = 0; i < 25; ++i) CHECK(seen4[i] == expected[i].second);
  CHECK(pages4 == 7);

  // With a filter too: the odd-numbered insertions, 3 per page.
  CallFilter odd;
  odd.owner = "odd";
  odd.limit = 3;
  const auto [seen_odd, pages_odd] = all_pages(odd);
  CHECK(seen_odd.size() == 12);
  CHECK(std::set<std::string>(seen_odd.begin(), seen_odd.end()).size() == 12);
  CHECK(pages_odd == 4);

  // Limits outside 1..1000 are clamped.
  CallFilter zero;
  zero.limit = 0;
  CHECK(s.query_calls(zero).calls.size() == 1);
  CallFilter huge;
  huge.limit = 1000000;
  CHECK(s.query_calls(huge).calls.size() == 26);
}

TEST_CASE("a malformed cursor is invalid_argument", "[storage]") {
  STORE_PER_BACKEND(fx);
  for (const char* bad : {"abc", "12", "12-", "-0123", "x1-abc", "12-ab cd", "12-ab/cd",
                          "99999999999999999999-ab", "1-2-3\n", "12-\xff"}) {
    INFO("cursor " << bad);
    CallFilter f;
    f.cursor = bad;
    CHECK_THROWS_AS(fx->store().query_calls(f), std::invalid_argument);
  }
  CallFilter ok;
  ok.cursor = "12-abc";
  CHECK(fx->store().query_calls(ok).calls.empty());
}

TEST_CASE("agents after calls, heartbeats and gaps", "[storage]") {
  STORE_PER_BACKEND(fx);
  Store& s = fx->store();
  IngestBatch b1 = batch_of({call_event(event_id(11, 1), kT0)}, kT0 + 10 * kSecond, "token:fleet");
  b1.heartbeats = {heartbeat(event_id(11, 2), kT0 + 100 * kSecond, "node-1", "1.0.0", 10)};
  b1.gaps = {gap(event_id(11, 3), kT0, "node-1", 5, "spool_full")};
  REQUIRE(s.ingest(b1).heartbeats == 1);

  IngestBatch b2;  // an older heartbeat arriving late, a gap, and another host's call
  b2.received_unix_nano = kT0 + 20 * kSecond;
  b2.heartbeats = {heartbeat(event_id(11, 4), kT0 + 50 * kSecond, "node-1", "0.9.0", 5)};
  b2.gaps = {gap(event_id(11, 5), kT0 + kSecond, "node-1", 7, "rejected")};
  b2.calls = {call_event(event_id(11, 6), kT0, {{"host.name", "node-2"}})};
  const IngestResult r2 = s.ingest(b2);
  CHECK(r2.heartbeats == 1);
  CHECK(r2.gaps == 1);

  nlohmann::json agents = s.agents();
  REQUIRE(agents.size() == 2);
  const nlohmann::json& a = agents[0];
  CHECK(a["host.name"] == "node-1");
  CHECK(a["principal"] == "token:fleet");  // b2 had no principal: the known one stays
  CHECK(a["agent.version"] == "1.0.0");    // the older heartbeat did not win
  CHECK(a["first_seen_unix_nano"] == kT0 + 10 * kSecond);
  CHECK(a["last_seen_unix_nano"] == kT0 + 20 * kSecond);
  CHECK(a["last_heartbeat_unix_nano"] == kT0 + 100 * kSecond);
  CHECK(a["heartbeat"] == b1.heartbeats[0]);
  CHECK(a["calls"] == 1);
  CHECK(a["gap_dropped_events"] == 12);
  const nlohmann::json& n2 = agents[1];
  CHECK(n2["host.name"] == "node-2");
  CHECK(n2["agent.version"].is_null());
  CHECK(n2["last_heartbeat_unix_nano"].is_null());
  CHECK(n2["heartbeat"].is_null());
  CHECK(n2["calls"] == 1);
  CHECK(n2["gap_dropped_events"] == 0);

  // A newer heartbeat updates the agent; redelivering it changes nothing.
  IngestBatch b3;
  b3.received_unix_nano = kT0 + 30 * kSecond;
  b3.principal = "token:fleet2";
  b3.heartbeats = {heartbeat(event_id(11, 7), kT0 + 200 * kSecond, "node-1", "1.1.0", 20)};
  CHECK(s.ingest(b3).heartbeats == 1);
  CHECK(s.ingest(b3).heartbeats == 0);
  agents = s.agents();
  CHECK(agents[0]["agent.version"] == "1.1.0");
  CHECK(agents[0]["principal"] == "token:fleet2");
  CHECK(agents[0]["heartbeat"]["shadowmeter.export.events_sent"] == 20);
  CHECK(agents[0]["last_seen_unix_nano"] == kT0 + 30 * kSecond);
  CHECK(agents[0]["first_seen_unix_nano"] == kT0 + 10 * kSecond);
  CHECK(s.stats().agents == 2);
}

TEST_CASE("health records of a time range", "[storage]") {
  STORE_PER_BACKEND(fx);
  Store& s = fx->store();
  IngestBatch b;
  b.received_unix_nano = kT0;
  for (unsigned i = 0; i < 6; ++i) {
    b.heartbeats.push_back(heartbeat(event_id(12, i), kT0 + i * 60 * kSecond, "node-1", "1.0.0", i));
  }
  b.gaps = {gap(event_id(12, 100), kT0 + 30 * kSecond, "node-1", 3, "spool_full"),
            gap(event_id(12, 101), kT0 + 400 * kSecond, "node-1", 4, "spool_full")};
  const IngestResult r = s.ingest(b);
  CHECK(r.heartbeats == 6);
  CHECK(r.gaps == 2);
  CHECK(s.ingest(b).gaps == 0);  // redelivered gaps are not stored twice

  const nlohmann::json h = s.health_records(kT0 + 60 * kSecond, kT0 + 240 * kSecond);
  REQUIRE(h["heartbeats"].size() == 3);
  CHECK(h["heartbeats"][0] == b.heartbeats[1]);
  CHECK(h["heartbeats"][2] == b.heartbeats[3]);
  CHECK(h["gaps"].empty());
  const nlohmann::json all = s.health_records(0, kT0 + kDay);
  CHECK(all["heartbeats"].size() == 6);
  REQUIRE(all["gaps"].size() == 2);
  CHECK(all["gaps"][0] == b.gaps[0]);
  CHECK(all["gaps"][1]["shadowmeter.gap.dropped_events"] == 4);
}

TEST_CASE("rollups are made at ingest exactly; retention deletes raw rows only; late rows are added", "[storage]") {
  STORE_PER_BACKEND(fx);
  Store& s = fx->store();
  const std::uint64_t now = kT0 + 60 * kDay + 12 * 3600 * kSecond;  // 2026-03-02T12:00Z
  const std::uint64_t d20 = kT0 + 19 * kDay;                        // 2026-01-20
  const std::uint64_t d25 = kT0 + 24 * kDay;                        // 2026-01-25
  const std::vector<nlohmann::json> events = {
      call_event(event_id(13, 1), d20 + 1 * kSecond,
                 {{"gen_ai.usage.input_tokens", 1000},
                  {"gen_ai.usage.cache_read.input_tokens", 300},
                  {"gen_ai.usage.cache_write.input_tokens", 40}}),  // OTel's current name
      call_event(event_id(13, 2), d20 + 23 * 3600 * kSecond,
                 {{"gen_ai.usage.input_tokens", 7},
                  {"gen_ai.usage.output_tokens", 3},
                  {"gen_ai.usage.reasoning.output_tokens", 2},
                  {"shadowmeter.cost.usd", 0.25}}),
      call_event(event_id(13, 3), d20 + 5 * kSecond,
                 {{"shadowmeter.owner", "search"},
                  {"shadowmeter.cost.usd", nullptr},
                  {"gen_ai.usage.cache_creation.input_tokens", 11}}),  // the name before 2026 (older agents)
      // Unknown owner and shadow verdict: NULLs that must meet the same rollup row later.
      call_event(event_id(13, 4), d25, {{"shadowmeter.owner", nullptr}, {"shadowmeter.shadow", nullptr}}),
      call_event(event_id(13, 5), now - kDay),  // recent: stays raw
  };
  REQUIRE(s.ingest(batch_of(events)).inserted == 5);
  // A redelivery adds nothing to the rollups.
  REQUIRE(s.ingest(batch_of(events)).duplicates == 5);
  const nlohmann::json at_ingest = s.rollups("2026-01-01", "2026-03-03");

  RetentionPolicy policy;  // raw 30 days
  RetentionResult r = s.apply_retention(policy, now);
  CHECK(r.calls_deleted == 4);
  CHECK(s.stats().calls == 1);
  CHECK(s.query_calls({}).calls.size() == 1);

  // The rollups were made at ingest (the recent day too); deleting raw rows changes none of them.
  nlohmann::json rollups = s.rollups("2026-01-01", "2026-03-03");
  CHECK(rollups == at_ingest);
  REQUIRE(rollups.size() == 4);
  const nlohmann::json* payments = find_rollup(rollups, "2026-01-20", "payments");
  REQUIRE(payments != nullptr);
  CHECK((*payments)["calls"] == 2);
  CHECK((*payments)["input_tokens"] == 1007);
  CHECK((*payments)["output_tokens"] == 23);
  CHECK((*payments)["cache_read_tokens"] == 300);
  CHECK((*payments)["cache_creation_tokens"] == 40);
  CHECK((*payments)["reasoning_tokens"] == 2);
  CHECK((*payments)["cost_usd"] == 0.75);
  CHECK((*payments)["priced_calls"] == 2);
  CHECK((*payments)["host.name"] == "node-1");
  CHECK((*payments)["gen_ai.provider.name"] == "openai");
  CHECK((*payments)["model"] == "gpt-4o");
  CHECK((*payments)["k8s.namespace.name"] == "team-a");
  CHECK((*payments)["shadowmeter.usage.source"] == "response");
  CHECK((*payments)["shadowmeter.visibility"] == "plaintext");
  CHECK((*payments)["shadowmeter.shadow"] == false);
  const nlohmann::json* search = find_rollup(rollups, "2026-01-20", "search");
  REQUIRE(search != nullptr);
  CHECK((*search)["calls"] == 1);
  CHECK((*search)["cost_usd"] == 0.0);
  CHECK((*search)["priced_calls"] == 0);
  CHECK((*search)["cache_creation_tokens"] == 11);
  const nlohmann::json* unknown = find_rollup(rollups, "2026-01-25", nullptr);
  REQUIRE(unknown != nullptr);
  CHECK((*unknown)["shadowmeter.shadow"].is_null());
  CHECK((*unknown)["calls"] == 1);

  // Late arrivals for days whose raw rows expired are added to the same rows.
  REQUIRE(
      s.ingest(batch_of({call_event(event_id(13, 6), d20 + 7 * kSecond, {{"shadowmeter.cost.usd", 0.125}}),
                         call_event(event_id(13, 7), d25 + kSecond,
                                    {{"shadowmeter.owner", nullptr}, {"shadowmeter.shadow", nullptr}})}))
          .inserted == 2);
  r = s.apply_retention(policy, now);
  CHECK(r.calls_deleted == 2);
  CHECK(s.stats().calls == 1);
  rollups = s.rollups("2026-01-01", "2026-03-03");
  REQUIRE(rollups.size() == 4);
  payments = find_rollup(rollups, "2026-01-20", "payments");
  REQUIRE(payments != nullptr);
  CHECK((*payments)["calls"] == 3);
  CHECK((*payments)["input_tokens"] == 1107);
  CHECK((*payments)["cost_usd"] == 0.875);
  CHECK((*payments)["priced_calls"] == 3);
  unknown = find_rollup(rollups, "2026-01-25", nullptr);
  REQUIRE(unknown != nullptr);
  CHECK((*unknown)["calls"] == 2);
  CHECK((*unknown)["input_tokens"] == 200);
  CHECK(s.stats().rollup_rows == 4);

  // Range bounds are [from, to), by day.
  CHECK(s.rollups("2026-01-21", "2026-01-25").empty());
  CHECK(s.rollups("2026-01-25", "2026-01-26").size() == 1);
  CHECK_THROWS_AS(s.rollups("2026-1-1", "2026-02-01"), std::invalid_argument);

  // Nothing more to delete: a third pass changes nothing.
  r = s.apply_retention(policy, now);
  CHECK(r.calls_deleted == 0);
  CHECK(s.rollups("2026-01-01", "2026-03-03") == rollups);
}

TEST_CASE("expired rollups, heartbeats and gaps are deleted", "[storage]") {
  STORE_PER_BACKEND(fx);
  Store& s = fx->store();
  IngestBatch b = batch_of({call_event(event_id(14, 1), kT0), call_event(event_id(14, 2), kT0 + 10 * kDay)});
  b.heartbeats = {heartbeat(event_id(14, 3), kT0, "node-1", "1.0.0"),
                  heartbeat(event_id(14, 4), kT0 + 50 * kDay, "node-1", "1.0.0")};
  b.gaps = {gap(event_id(14, 5), kT0, "node-1", 1, "spool_full")};
  s.ingest(b);
  RetentionPolicy p;
  p.raw_days = 1;
  p.rollup_days = 400;
  p.heartbeat_days = 30;
  RetentionResult r = s.apply_retention(p, kT0 + 60 * kDay);
  CHECK(r.calls_deleted == 2);
  CHECK(r.daily_rollups_deleted == 0);
  CHECK(r.heartbeats_deleted == 1);
  CHECK(r.gaps_deleted == 1);
  CHECK(s.stats().rollup_rows == 2);
  const nlohmann::json h = s.health_records(0, kT0 + 100 * kDay);
  CHECK(h["heartbeats"].size() == 1);
  CHECK(h["gaps"].empty());

  // 405 days on: the first day's rollup (2026-01-01) is older than 400 days, the second's is not.
  r = s.apply_retention(p, kT0 + 405 * kDay);
  CHECK(r.daily_rollups_deleted == 1);
  CHECK(r.hourly_rollups_deleted == 1);
  CHECK(r.heartbeats_deleted == 1);
  CHECK(s.stats().rollup_rows == 1);
  const nlohmann::json left = s.rollups("2000-01-01", "2100-01-01");
  REQUIRE(left.size() == 1);
  CHECK(left[0]["day"] == "2026-01-11");
}

TEST_CASE("stats and ping", "[storage]") {
  STORE_PER_BACKEND(fx);
  Store& s = fx->store();
  CHECK(s.ping());
  auto st = s.stats();
  CHECK(st.calls == 0);
  CHECK(st.agents == 0);
  CHECK(st.rollup_rows == 0);
  CHECK(st.bytes > 0);
  IngestBatch b =
      batch_of({call_event(event_id(15, 1), kT0), call_event(event_id(15, 2), kT0, {{"host.name", "n2"}})});
  b.heartbeats = {heartbeat(event_id(15, 3), kT0, "n3", "1.0.0")};
  s.ingest(b);
  s.apply_retention({}, kT0 + 31 * kDay + kSecond);
  s.ingest(batch_of({call_event(event_id(15, 4), kT0 + 31 * kDay)}));
  st = s.stats();
  CHECK(st.calls == 1);
  CHECK(st.rollup_rows == 3);  // node-1 and n2 on the first day, node-1 on the later one
  CHECK(st.agents == 3);
  CHECK(st.bytes > 0);
}

TEST_CASE("data survives closing and reopening the store", "[storage]") {
  STORE_PER_BACKEND(fx);
  std::vector<nlohmann::json> calls;
  for (unsigned i = 0; i < 50; ++i) calls.push_back(call_event(event_id(16, i), kT0 + i * kSecond));
  IngestBatch b = batch_of(calls);
  b.heartbeats = {heartbeat(event_id(16, 100), kT0, "node-1", "2.0.0")};
  fx->store().ingest(b);
  fx->reopen();
  CHECK(fx->store().stats().calls == 50);
  CallFilter f;
  f.limit = 100;
  CHECK(fx->store().query_calls(f).calls.size() == 50);
  CHECK(fx->store().agents()[0]["agent.version"] == "2.0.0");
  CHECK(fx->store().ingest(b).duplicates == 50);
}

TEST_CASE("one thread ingests while another queries", "[storage]") {
  STORE_PER_BACKEND(fx);
  Store& s = fx->store();
  std::atomic<bool> done{false};
  std::atomic<int> errors{0};
  std::atomic<int> queries{0};
  std::thread writer([&] {
    try {
      for (unsigned batch = 0; batch < 100; ++batch) {
        std::vector<nlohmann::json> calls;
        for (unsigned i = 0; i < 20; ++i)
          calls.push_back(call_event(event_id(17, batch * 20 + i), kT0 + batch * kSecond));
        if (s.ingest(batch_of(calls)).inserted != 20) ++errors;
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "writer: %s\n", e.what());
      ++errors;
    }
    done = true;
  });
  std::thread reader([&] {
    try {
      std::size_t last = 0;
      while (!done) {
        CallFilter f;
        f.limit = 50;
        const auto page = s.query_calls(f);
        const auto st = s.stats();
        s.agents();
        // Committed batches only: a count that moves backwards or stops at a partial batch is an error.
        if (st.calls < last || st.calls % 20 != 0) ++errors;
        last = st.calls;
        ++queries;
        (void)page;
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "reader: %s\n", e.what());
      ++errors;
    }
  });
  writer.join();
  reader.join();
  CHECK(errors == 0);
  CHECK(queries > 0);
  CHECK(s.stats().calls == 2000);
}

TEST_CASE("a PostgreSQL store reconnects after losing its sessions", "[storage]") {
  STORE_PER_BACKEND(fx);
  if (fx->backend() != "postgresql") return;
  Store& s = fx->store();
  REQUIRE(s.ingest(batch_of({call_event(event_id(18, 1), kT0)})).inserted == 1);
  fx->kill_sessions();
  CHECK(s.ingest(batch_of({call_event(event_id(18, 2), kT0)})).inserted == 1);
  fx->kill_sessions();
  CHECK(s.query_calls({}).calls.size() == 2);
  fx->kill_sessions();
  CHECK(s.ping());
  CHECK(s.stats().calls == 2);
}

TEST_CASE("sqlite: new store file is private, ':memory:' works", "[storage]") {
  TempDir dir;
  const std::string path = dir.path() + "/new.db";
  const mode_t old = ::umask(022);
  {
    auto s = shadowmeter::collector::open_store("sqlite:" + path);
    s->ingest(batch_of({call_event(event_id(19, 1), kT0)}));
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    if (::stat((path + "-wal").c_str(), &st) == 0) CHECK((st.st_mode & 0777) == 0600);
  }
  ::umask(old);
  CHECK(shadowmeter::collector::open_store("sqlite://" + path)->stats().calls == 1);  // sqlite:///abs/path

  auto m = shadowmeter::collector::open_store("sqlite::memory:");
  CHECK(m->backend() == "sqlite");
  IngestBatch b = batch_of({call_event(event_id(19, 2), kT0), call_event(event_id(19, 3), kT0 + kSecond)});
  b.heartbeats = {heartbeat(event_id(19, 4), kT0, "node-1", "1.0.0")};
  CHECK(m->ingest(b).inserted == 2);
  CHECK(m->ingest(b).duplicates == 2);
  CHECK(m->query_calls({}).calls.size() == 2);
  CHECK(m->agents().size() == 1);
  CHECK(m->stats().calls == 2);
  CHECK(m->stats().bytes > 0);
  CHECK(m->ping());
  CHECK(m->apply_retention({}, kT0 + 40 * kDay).calls_deleted == 2);
  CHECK(m->rollups("2026-01-01", "2026-01-02").size() == 1);
}

TEST_CASE("an event repeated within one batch and across a group commit is added to the rollups once",
          "[storage]") {
  STORE_PER_BACKEND(fx);
  Store& s = fx->store();
  const nlohmann::json e1 = call_event(event_id(41, 1), kT0, {{"shadowmeter.dimension.feature", "search"}});
  const nlohmann::json e2 = call_event(event_id(41, 2), kT0 + kSecond);
  const IngestBatch first = batch_of({e1, e1, e2});
  const IngestBatch second = batch_of({e2, call_event(event_id(41, 3), kT0 + 2 * kSecond)});
  const auto results = s.ingest_many({&first, &second});
  REQUIRE(results.size() == 2);
  CHECK(results[0].inserted == 2);
  CHECK(results[0].duplicates == 1);
  CHECK(results[0].new_calls == std::vector<std::size_t>{0, 2});
  CHECK(results[1].inserted == 1);
  CHECK(results[1].new_calls == std::vector<std::size_t>{1});
  std::int64_t calls = 0;
  for (const auto& r : s.rollups("2026-01-01", "2026-01-02")) calls += r["calls"].get<std::int64_t>();
  CHECK(calls == 3);
}
