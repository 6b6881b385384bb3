// The exporter against a receiver on loopback (plain HTTP): delivery and release from the spool,
// retries on every kind of failure, Retry-After, batch splitting on 413, poison events on 400, gap
// records for spool drops, heartbeats, restarts, stale keep-alive connections and stop().
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <ctime>
#include <set>
#include <thread>

#include "export/otlp_http/exporter.h"
#include "export/spool/spool.h"
#include "otlp_http/exporter_fixture.h"

using namespace shadowmeter::exporting;
using namespace shadowmeter::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

std::uint64_t unix_ns() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

std::string http_date(std::chrono::system_clock::time_point t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

std::size_t records_in_spool(const ExporterOptions& o) {
  Spool s(o.spool);
  return s.peek(1u << 20, 1u << 30).records.size();
}

}  // namespace

TEST_CASE("Events are delivered once, with the right headers, and released from the spool") {
  TempDir dir;
  TestServer server;
  auto o = fast_options(server.url(), dir);
  o.bearer_token = "s3cret-token";
  {
    Exporter ex(o);
    for (int i = 0; i < 20; ++i) REQUIRE(ex.enqueue(test_event(i)));
    REQUIRE(eventually([&] { return spool_pending(ex) == 0 && ex.stats().events_sent == 20; }));
    CHECK(all_delivered(server, 0, 20));
    for (const auto& [id, n] : accepted_event_ids(server)) CHECK(n == 1);
    const auto st = ex.stats();
    CHECK(st.batches_sent >= 3);  // 8 events per request at most
    CHECK(st.requests_failed == 0);
    CHECK(st.last_error.empty());
    CHECK(st.spool.acked == 20);
    CHECK(st.dropped_spool_full == 0);
    CHECK(st.pending_gap_events == 0);
  }
  const auto requests = server.requests();
  REQUIRE(!requests.empty());
  for (const auto& r : requests) {
    CHECK(r.target == "/v1/traces");
    CHECK(r.headers.at("content-type") == "application/json");
    CHECK(r.headers.at("content-encoding") == "gzip");
    CHECK(r.gzip_ok);
    CHECK(r.headers.at("authorization") == "Bearer s3cret-token");
    CHECK(r.headers.at("user-agent") == "shadowmeter-agent/1.2.3");
    CHECK(r.headers.at("host") == "127.0.0.1:" + std::to_string(server.port()));
    CHECK(r.events.size() <= 8);
  }
  CHECK(server.connections() == 1);  // keep-alive: one connection for every request
  // The attributes survive the trip (host.name travels as a resource attribute).
  const auto accepted = server.accepted();
  REQUIRE(accepted.size() == 20);
  for (const auto& e : accepted) {
    CHECK(e["host.name"] == "node-7");
    CHECK(e["gen_ai.request.model"] == "gpt-4o");
  }
  CHECK(records_in_spool(o) == 0);  // acknowledged events do not come back after a restart
}

TEST_CASE("Without gzip the body goes as plain JSON") {
  TempDir dir;
  TestServer server;
  auto o = fast_options(server.url(), dir);
  o.gzip = false;
  Exporter ex(o);
  for (int i = 0; i < 3; ++i) REQUIRE(ex.enqueue(test_event(i)));
  REQUIRE(eventually([&] { return all_delivered(server, 0, 3); }));
  for (const auto& r : server.requests()) {
    CHECK(r.headers.count("content-encoding") == 0);
    CHECK(r.headers.count("authorization") == 0);  // no token configured
  }
}

TEST_CASE("An event without an id is given one when spooled") {
  TempDir dir;
  TestServer server;
  Exporter ex(fast_options(server.url(), dir));
  json e = test_event(0);
  e.erase("shadowmeter.event_id");
  REQUIRE(ex.enqueue(e));
  REQUIRE(eventually([&] { return server.accepted().size() == 1; }));
  const std::string id = server.accepted()[0]["shadowmeter.event_id"];
  CHECK(id.size() == 32);
  CHECK(ex.stats().rejected_events == 0);
}

TEST_CASE("flush() sends at once instead of waiting for a fuller batch") {
  TempDir dir;
  TestServer server;
  auto o = fast_options(server.url(), dir);
  o.batch_max_events = 100;
  o.batch_max_delay = std::chrono::minutes(10);
  Exporter ex(o);
  for (int i = 0; i < 3; ++i) REQUIRE(ex.enqueue(test_event(i)));
  std::this_thread::sleep_for(50ms);
  CHECK(server.request_count() == 0);  // waiting for the batch to fill
  ex.flush();
  REQUIRE(eventually([&] { return all_delivered(server, 0, 3); }));
}

TEST_CASE("A full batch goes without waiting for the delay") {
  TempDir dir;
  TestServer server;
  auto o = fast_options(server.url(), dir);
  o.batch_max_events = 5;
  o.batch_max_delay = std::chrono::minutes(10);
  Exporter ex(o);
  for (int i = 0; i < 5; ++i) REQUIRE(ex.enqueue(test_event(i)));
  REQUIRE(eventually([&] { return all_delivered(server, 0, 5); }));
  for (int i = 5; i < 7; ++i) REQUIRE(ex.enqueue(test_event(i)));
  std::this_thread::sleep_for(50ms);
  CHECK(accepted_event_ids(server).size() == 5);  // these 2 wait for more or for the delay
  for (int i = 7; i < 10; ++i) REQUIRE(ex.enqueue(test_event(i)));
  REQUIRE(eventually([&] { return all_delivered(server, 0, 10); }));
}

TEST_CASE("503 and 429 with Retry-After: waited for, then delivered, nothing lost") {
  TempDir dir;
  TestServer server;
  std::atomic<int> n{0};
  server.script([&](const Received&) {
    const int i = n++;
    if (i == 0) return reply(503, "1");
    if (i == 1) return reply(429, http_date(std::chrono::system_clock::now() + 1s));
    return Reply{};
  });
  Exporter ex(fast_options(server.url(), dir));
  for (int i = 0; i < 10; ++i) REQUIRE(ex.enqueue(test_event(i)));
  REQUIRE(eventually([&] { return all_delivered(server, 0, 10) && ex.stats().events_sent == 10; }));
  const auto st = ex.stats();
  CHECK(st.spool.pending_records == 0);
  CHECK(st.retries_after_hint == 2);
  CHECK(st.requests_failed == 2);
  CHECK(st.events_sent == 10);
  CHECK(st.last_error.empty());
}

TEST_CASE("Failures are retried with backoff until the collector takes the batch") {
  const unsigned status = GENERATE(500u, 502u, 503u, 504u, 408u, 401u, 403u, 404u, 429u);
  INFO("status " << status);
  TempDir dir;
  TestServer server;
  std::atomic<int> n{0};
  server.script([&](const Received&) { return n++ < 3 ? reply(status) : Reply{}; });
  auto o = fast_options(server.url(), dir);
  o.bearer_token = "tok-SECRET-123";
  Exporter ex(o);
  for (int i = 0; i < 6; ++i) REQUIRE(ex.enqueue(test_event(i)));
  REQUIRE(eventually([&] { return n.load() >= 2; }));
  CHECK(ex.stats().last_error == "HTTP " + std::to_string(status));  // never the token
  REQUIRE(eventually([&] { return all_delivered(server, 0, 6) && ex.stats().events_sent == 6; }));
  const auto st = ex.stats();
  CHECK(st.requests_failed == 3);
  CHECK(st.retries_after_hint == 0);
  CHECK(st.rejected_events == 0);
  CHECK(st.events_sent == 6);
  CHECK(server.request_count() >= 4);
}

TEST_CASE("The collector down at start, then up: everything delivered") {
  TempDir dir;
  const unsigned short port = free_port();
  Exporter ex(fast_options("http://127.0.0.1:" + std::to_string(port) + "/v1/traces", dir));
  for (int i = 0; i < 10; ++i) REQUIRE(ex.enqueue(test_event(i)));
  REQUIRE(eventually([&] { return ex.stats().requests_failed >= 3; }));
  CHECK(spool_pending(ex) == 10);
  CHECK(ex.stats().events_sent == 0);
  CHECK(!ex.stats().last_error.empty());
  TestServer server(port);
  REQUIRE(eventually([&] { return all_delivered(server, 0, 10) && ex.stats().events_sent == 10; }));
  CHECK(spool_pending(ex) == 0);
  CHECK(ex.stats().last_error.empty());
}

TEST_CASE("413 for large batches: split until every event is delivered") {
  TempDir dir;
  TestServer server;
  server.script([](const Received& r) { return r.events.size() > 3 ? reply(413) : Reply{}; });
  auto o = fast_options(server.url(), dir);
  o.batch_max_events = 16;
  Exporter ex(o);
  for (int i = 0; i < 40; ++i) REQUIRE(ex.enqueue(test_event(i)));
  ex.flush();
  REQUIRE(eventually([&] { return all_delivered(server, 0, 40) && spool_pending(ex) == 0; }));
  for (const auto& [id, count] : accepted_event_ids(server)) CHECK(count == 1);
  for (const auto& r : server.requests())
    if (r.answered == 200) CHECK(r.events.size() <= 3);
  const auto st = ex.stats();
  CHECK(st.rejected_events == 0);
  CHECK(st.pending_gap_events == 0);
  CHECK(st.requests_failed > 0);
  CHECK(st.requests_failed <= 4);  // 16, 8, 4 refused; a refused size is not tried again at once
  CHECK(accepted_of_type(server, "gap").empty());
}

TEST_CASE("A lone event refused with 413 is dropped, counted and reported") {
  TempDir dir;
  TestServer server;
  server.script([](const Received& r) {
    for (const auto& e : r.events)
      if (e.contains("huge")) return reply(413);
    return Reply{};
  });
  Exporter ex(fast_options(server.url(), dir));
  json big = test_event(1);
  big["huge"] = std::string(1000, 'x');
  REQUIRE(ex.enqueue(test_event(0)));
  REQUIRE(ex.enqueue(big));
  REQUIRE(ex.enqueue(test_event(2)));
  REQUIRE(eventually([&] { return accepted_of_type(server, "gap").size() == 1 && spool_pending(ex) == 0; }));
  const auto ids = accepted_event_ids(server);
  CHECK(ids.size() == 2);
  CHECK(ids.count(test_id(1)) == 0);
  CHECK(ex.stats().rejected_events == 1);
  CHECK(accepted_of_type(server, "gap")[0]["shadowmeter.gap.reason"] == "rejected");
}

TEST_CASE("400 for one poison event: that one dropped and reported as a gap, the rest delivered") {
  TempDir dir;
  TestServer server;
  server.script([](const Received& r) {
    for (const auto& e : r.events)
      if (e.contains("poison")) return reply(400, "", R"({"error":"bad event"})");
    return Reply{};
  });
  auto o = fast_options(server.url(), dir);
  o.heartbeat_interval = 20ms;  // heartbeats ride along and must not be mistaken for the poison
  const std::uint64_t before = unix_ns();
  Exporter ex(o);
  for (int i = 0; i < 12; ++i) {
    json e = test_event(i);
    if (i == 5) e["poison"] = true;
    REQUIRE(ex.enqueue(e));
  }
  REQUIRE(eventually([&] {
    return accepted_event_ids(server).size() == 11 && !accepted_of_type(server, "gap").empty() &&
           spool_pending(ex) == 0 && ex.stats().pending_gap_events == 0;
  }));
  const auto ids = accepted_event_ids(server);
  CHECK(ids.count(test_id(5)) == 0);
  for (int i = 0; i < 12; ++i)
    if (i != 5) CHECK(ids.count(test_id(i)) == 1);
  const auto gaps = accepted_of_type(server, "gap");
  REQUIRE(gaps.size() == 1);
  CHECK(gaps[0]["shadowmeter.gap.reason"] == "rejected");
  CHECK(gaps[0]["shadowmeter.gap.dropped_events"] == 1);
  CHECK(gaps[0]["time_unix_nano"].get<std::uint64_t>() >= before);
  CHECK(gaps[0]["host.name"] == "node-7");
  const auto st = ex.stats();
  CHECK(st.rejected_events == 1);
  CHECK(st.gap_records_sent == 1);
  REQUIRE(eventually([&] { return !accepted_of_type(server, "heartbeat").empty(); }));
  CHECK(accepted_of_type(server, "heartbeat").back()["shadowmeter.export.rejected_events"] == 1);
}

TEST_CASE("Spool full: drops counted, and a gap record with the exact count once the collector is up") {
  TempDir dir;
  const unsigned short port = free_port();
  auto o = fast_options("http://127.0.0.1:" + std::to_string(port) + "/v1/traces", dir);
  o.spool.max_bytes = 3000;  // about ten events
  const std::uint64_t before = unix_ns();
  Exporter ex(o);
  int accepted = 0, dropped = 0;
  for (int i = 0; i < 40; ++i) {
    if (ex.enqueue(test_event(i)))
      ++accepted;
    else
      ++dropped;
  }
  const std::uint64_t after = unix_ns();
  REQUIRE(accepted > 0);
  REQUIRE(dropped > 0);
  auto st = ex.stats();
  CHECK(st.dropped_spool_full == static_cast<std::uint64_t>(dropped));
  CHECK(st.pending_gap_events == static_cast<std::uint64_t>(dropped));
  CHECK(st.spool.dropped_full == static_cast<std::uint64_t>(dropped));

  TestServer server(port);
  REQUIRE(eventually([&] { return ex.stats().pending_gap_events == 0 && spool_pending(ex) == 0; }));
  CHECK(all_delivered(server, 0, accepted));  // the spool refuses new events, never old ones
  // Usually one record; two when the sender tried (and froze a record) while drops went on.
  const auto gaps = accepted_of_type(server, "gap");
  REQUIRE(!gaps.empty());
  CHECK(gaps.size() <= 2);
  int reported = 0;
  std::set<std::string> ids;
  for (const auto& g : gaps) {
    CHECK(g["shadowmeter.gap.reason"] == "spool_full");
    reported += g["shadowmeter.gap.dropped_events"].get<int>();
    const auto first = g["time_unix_nano"].get<std::uint64_t>();
    const auto last = g["end_time_unix_nano"].get<std::uint64_t>();
    CHECK(before <= first);
    CHECK(first <= last);
    CHECK(last <= after);
    ids.insert(g["shadowmeter.event_id"].get<std::string>());
    CHECK(g["shadowmeter.event_id"].get<std::string>().size() == 32);
  }
  CHECK(reported == dropped);  // the exact count
  CHECK(ids.size() == gaps.size());
  st = ex.stats();
  CHECK(st.gap_records_sent == gaps.size());
  CHECK(st.dropped_spool_full == static_cast<std::uint64_t>(dropped));

  // Room again: new events are taken and delivered.
  REQUIRE(ex.enqueue(test_event(100)));
  REQUIRE(eventually([&] { return accepted_event_ids(server).count(test_id(100)) == 1; }));
}

TEST_CASE("Heartbeats carry the agent's attributes and the exporter's counters") {
  TempDir dir;
  TestServer server;
  auto o = fast_options(server.url(), dir);
  o.heartbeat_interval = 50ms;
  Exporter ex(o);
  ex.set_heartbeat({{"shadowmeter.agent.events_seen", 42},
                    {"shadowmeter.capture.ringbuf_lost", 3},
                    {"custom.flag", true},
                    {"shadowmeter.record.type", "not-a-heartbeat"}});  // reserved: the exporter's wins
  REQUIRE(eventually([&] { return ex.stats().heartbeats_sent >= 3; }));
  const auto beats = accepted_of_type(server, "heartbeat");
  std::set<std::string> ids;
  for (const auto& h : beats) {
    ids.insert(h["shadowmeter.event_id"].get<std::string>());
    CHECK(h["host.name"] == "node-7");
    CHECK(h["shadowmeter.agent.version"] == "1.2.3");
    CHECK(h["time_unix_nano"] == h["end_time_unix_nano"]);
    for (const char* key :
         {"shadowmeter.spool.pending_events", "shadowmeter.spool.bytes", "shadowmeter.spool.dropped_events",
          "shadowmeter.spool.corrupt_records", "shadowmeter.export.rejected_events"})
      CHECK(h.contains(key));
  }
  CHECK(ids.size() == beats.size());  // a new id each time
  const auto& last = beats.back();
  CHECK(last["shadowmeter.agent.events_seen"] == 42);
  CHECK(last["shadowmeter.capture.ringbuf_lost"] == 3);
  CHECK(last["custom.flag"] == true);
  CHECK(accepted_event_ids(server).empty());  // heartbeats are not usage events and not spooled
  CHECK(ex.stats().spool.appended == 0);
}

TEST_CASE("Heartbeats during an outage are not queued up") {
  TempDir dir;
  const unsigned short port = free_port();
  auto o = fast_options("http://127.0.0.1:" + std::to_string(port) + "/v1/traces", dir);
  o.heartbeat_interval = 20ms;
  Exporter ex(o);
  REQUIRE(eventually([&] { return ex.stats().requests_failed >= 5; }));
  TestServer server(port);
  REQUIRE(eventually([&] { return ex.stats().heartbeats_sent >= 1; }));
  // The first request after the outage carries one fresh heartbeat, not one per missed interval.
  const auto requests = server.requests();
  REQUIRE(!requests.empty());
  CHECK(requests.front().events.size() == 1);
}

TEST_CASE("Restart with the collector down in between: nothing lost, drops still reported") {
  TempDir dir;
  const unsigned short port = free_port();
  auto o = fast_options("http://127.0.0.1:" + std::to_string(port) + "/v1/traces", dir);
  o.spool.max_bytes = 3000;
  int accepted = 0, dropped = 0;
  {
    Exporter ex(o);
    for (int i = 0; i < 30; ++i) (ex.enqueue(test_event(i)) ? accepted : dropped)++;
    REQUIRE(eventually([&] { return ex.stats().requests_failed >= 2; }));
    ex.stop(50ms);
    CHECK(spool_pending(ex) == static_cast<std::uint64_t>(accepted));
  }
  REQUIRE(dropped > 0);
  REQUIRE(std::filesystem::exists(o.spool.dir + "/gap.json"));
  {
    // A second run, still without a collector, sends nothing and loses nothing.
    Exporter ex(o);
    CHECK(ex.stats().pending_gap_events == static_cast<std::uint64_t>(dropped));
    CHECK(spool_pending(ex) == static_cast<std::uint64_t>(accepted));
    ex.stop(50ms);
  }
  TestServer server(port);
  Exporter ex(o);
  REQUIRE(eventually([&] { return spool_pending(ex) == 0 && ex.stats().pending_gap_events == 0; }));
  CHECK(all_delivered(server, 0, accepted));
  int reported = 0;
  for (const auto& g : accepted_of_type(server, "gap")) {
    CHECK(g["shadowmeter.gap.reason"] == "spool_full");
    reported += g["shadowmeter.gap.dropped_events"].get<int>();
  }
  CHECK(reported == dropped);
}

TEST_CASE("A gap record whose answer was lost is resent with the same id") {
  TempDir dir;
  TestServer server;
  std::atomic<int> n{0};
  // The first request is taken by the collector, but its answer never arrives (503 here stands for
  // it: the collector stored it, the agent cannot know).
  server.script([&](const Received&) { return n++ == 0 ? reply(503) : Reply{}; });
  auto o = fast_options(server.url(), dir);
  o.spool.max_bytes = 1;  // every event is dropped
  Exporter ex(o);
  CHECK_FALSE(ex.enqueue(test_event(0)));
  REQUIRE(eventually([&] { return ex.stats().gap_records_sent == 1; }));
  CHECK_FALSE(ex.enqueue(test_event(1)));
  REQUIRE(eventually([&] { return ex.stats().gap_records_sent == 2; }));
  const auto requests = server.requests();
  REQUIRE(requests.size() == 3);
  REQUIRE(requests[0].events.size() == 1);
  REQUIRE(requests[1].events.size() == 1);
  REQUIRE(requests[2].events.size() == 1);
  // Same record twice (the collector dedupes it), then the later drop under a new id.
  CHECK(requests[0].events[0] == requests[1].events[0]);
  CHECK(requests[0].events[0]["shadowmeter.gap.dropped_events"] == 1);
  CHECK(requests[2].events[0]["shadowmeter.gap.dropped_events"] == 1);
  CHECK(requests[2].events[0]["shadowmeter.event_id"] != requests[0].events[0]["shadowmeter.event_id"]);
}

TEST_CASE("A keep-alive connection the server closed is replaced without a failure") {
  TempDir dir;
  TestServer server;
  server.script([](const Received&) {
    Reply r;
    r.drop_connection = true;
    return r;
  });
  Exporter ex(fast_options(server.url(), dir));
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < 3; ++i) REQUIRE(ex.enqueue(test_event(round * 3 + i)));
    REQUIRE(eventually([&] { return all_delivered(server, 0, round * 3 + 3); }));
    std::this_thread::sleep_for(30ms);  // the close reaches the client
  }
  CHECK(ex.stats().requests_failed == 0);
  CHECK(server.connections() >= 4);
}

TEST_CASE("Records in the spool that are not events are skipped, counted and released") {
  TempDir dir;
  TestServer server;
  auto o = fast_options(server.url(), dir);
  {
    Spool s(o.spool);
    REQUIRE(s.append("not json"));
    REQUIRE(s.append(test_event(0).dump()));
    REQUIRE(s.append("[1,2,3]"));
    REQUIRE(s.append(test_event(1).dump()));
  }
  Exporter ex(o);  // what an earlier run left is sent first, without waiting for more
  REQUIRE(eventually([&] { return all_delivered(server, 0, 2) && ex.stats().invalid_records == 2; }));
  CHECK(spool_pending(ex) == 0);
  CHECK(ex.stats().rejected_events == 0);
}

TEST_CASE("Requests stay within batch_max_bytes (uncompressed)") {
  TempDir dir;
  TestServer server;
  auto o = fast_options(server.url(), dir);
  o.batch_max_events = 64;
  o.batch_max_bytes = 4000;
  Exporter ex(o);
  for (int i = 0; i < 40; ++i) REQUIRE(ex.enqueue(test_event(i)));
  ex.flush();
  REQUIRE(eventually([&] { return all_delivered(server, 0, 40) && spool_pending(ex) == 0; }));
  for (const auto& r : server.requests()) {
    INFO(r.events.size() << " events, " << r.body.size() << " bytes");
    CHECK((r.body.size() <= 4000 || r.events.size() == 1));
  }
  CHECK(ex.stats().requests_failed == 0);
}

TEST_CASE("Concurrent producers: every event delivered exactly once") {
  TempDir dir;
  TestServer server;
  auto o = fast_options(server.url(), dir);
  o.batch_max_events = 64;
  Exporter ex(o);
  std::vector<std::thread> producers;
  for (int t = 0; t < 4; ++t)
    producers.emplace_back([&ex, t] {
      for (int i = 0; i < 250; ++i) ex.enqueue(test_event(t * 250 + i));
    });
  for (auto& p : producers) p.join();
  REQUIRE(eventually([&] { return all_delivered(server, 0, 1000) && ex.stats().events_sent == 1000; }, 30s));
  for (const auto& [id, n] : accepted_event_ids(server)) CHECK(n == 1);
  CHECK(spool_pending(ex) == 0);
}

TEST_CASE("stop() ends an in-flight request after the grace; the events stay spooled") {
  TempDir dir;
  // A listener that never answers: connections complete in the kernel backlog, nothing is read.
  asio::io_context io;
  tcp::acceptor silent(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto o =
      fast_options("http://127.0.0.1:" + std::to_string(silent.local_endpoint().port()) + "/v1/traces", dir);
  o.request_timeout = std::chrono::minutes(5);
  auto ex = std::make_unique<Exporter>(o);
  for (int i = 0; i < 5; ++i) REQUIRE(ex->enqueue(test_event(i)));
  ex->flush();
  std::this_thread::sleep_for(100ms);  // the request is in flight
  const auto t0 = std::chrono::steady_clock::now();
  ex->stop(100ms);
  CHECK(std::chrono::steady_clock::now() - t0 < 10s);  // generous: not the 5-minute request timeout
  CHECK(spool_pending(*ex) == 5);
  ex->stop();  // idempotent
  ex.reset();
  CHECK(records_in_spool(o) == 5);
}

TEST_CASE("stop() sends what is pending within the grace") {
  TempDir dir;
  TestServer server;
  auto o = fast_options(server.url(), dir);
  o.batch_max_delay = std::chrono::minutes(10);
  o.batch_max_events = 100;
  Exporter ex(o);
  for (int i = 0; i < 5; ++i) REQUIRE(ex.enqueue(test_event(i)));
  ex.stop(5s);
  CHECK(all_delivered(server, 0, 5));
  CHECK(spool_pending(ex) == 0);
}

TEST_CASE("A long Retry-After is honoured: no request before it is over") {
  TempDir dir;
  TestServer server;
  server.script([](const Received&) { return reply(503, "3600"); });
  Exporter ex(fast_options(server.url(), dir));
  REQUIRE(ex.enqueue(test_event(0)));
  REQUIRE(eventually([&] { return ex.stats().retries_after_hint == 1; }));
  std::this_thread::sleep_for(300ms);  // a backoff step is 5..40 ms here: many retries without the hint
  CHECK(server.request_count() == 1);
  CHECK(ex.stats().requests_failed == 1);
  ex.stop(10ms);
  CHECK(spool_pending(ex) == 1);
}

TEST_CASE("A 2xx with OTLP partialSuccess.rejectedSpans: counted and reported as a gap") {
  TempDir dir;
  TestServer server;
  std::atomic<int> n{0};
  server.script([&](const Received&) {
    return n++ == 0 ? reply(200, "", R"({"partialSuccess":{"rejectedSpans":"2","errorMessage":"bad spans"}})")
                    : reply(200, "", R"({"partialSuccess":{}})");
  });
  Exporter ex(fast_options(server.url(), dir));
  for (int i = 0; i < 5; ++i) REQUIRE(ex.enqueue(test_event(i)));
  REQUIRE(eventually([&] { return !accepted_of_type(server, "gap").empty(); }));
  const auto gap = accepted_of_type(server, "gap").front();
  CHECK(gap["shadowmeter.gap.reason"] == "rejected");
  CHECK(gap["shadowmeter.gap.dropped_events"] == 2);
  CHECK(ex.stats().rejected_events == 2);
  CHECK(spool_pending(ex) == 0);  // the rest was taken: not resent
  CHECK(accepted_event_ids(server).size() == 5);
}

TEST_CASE("A large response body is not kept, and costs only the connection") {
  TempDir dir;
  TestServer server;
  server.script([](const Received&) { return reply(200, "", std::string(1 << 20, 'x')); });
  Exporter ex(fast_options(server.url(), dir));
  for (int round = 0; round < 3; ++round) {
    REQUIRE(ex.enqueue(test_event(round)));
    REQUIRE(eventually([&] { return ex.stats().events_sent == static_cast<std::uint64_t>(round + 1); }));
  }
  CHECK(ex.stats().requests_failed == 0);
  CHECK(server.connections() == 3);  // closed after each oversized answer
}

TEST_CASE("Start-up configuration errors are exceptions naming the problem") {
  TempDir dir;
  auto o = fast_options("http://127.0.0.1:9/v1/traces", dir);
  o.url = "collector:4318";
  CHECK_THROWS_WITH(Exporter(o), Catch::Contains("collector:4318"));
  o.url = "http://127.0.0.1:9/v1/traces";
  o.batch_max_events = 0;
  CHECK_THROWS_AS(Exporter(o), std::runtime_error);
  o.batch_max_events = 8;
  o.backoff_max = 1ms;
  o.backoff_min = 10ms;
  CHECK_THROWS_AS(Exporter(o), std::runtime_error);
  o.backoff_min = 1ms;
  o.backoff_max = 10ms;
  o.spool.dir = "";
  CHECK_THROWS_AS(Exporter(o), std::runtime_error);
}
