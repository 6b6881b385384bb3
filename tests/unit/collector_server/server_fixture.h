// The server test fixture: a CollectorServer on 127.0.0.1 whose ingest queue commits into a recording
// fake store, and a fake query API; shared by the server test files.
#pragma once

#include <catch2/catch.hpp>
#include <condition_variable>
#include <mutex>
#include <set>
#include <stdexcept>

#include "server/server.h"
#include "server_test_util.h"

namespace smtest {

using namespace shadowmeter::collector;
using namespace std::chrono_literals;
using nlohmann::json;


inline const std::string kToken = "test-token-0123456789";

// The commit step: records every batch it commits; can fail, or hold the writer inside a commit.
class RecordingStore {
 public:
  CommitFn commit() {
    return [this](const std::vector<const IngestBatch*>& batches) {
      std::unique_lock lock(mu_);
      ++entered_;
      cv_.notify_all();
      cv_.wait(lock, [&] { return !hold_; });
      if (fail_) throw StoreError("database is locked");
      std::vector<IngestResult> out;
      for (const IngestBatch* b : batches) {
        batches_.push_back(*b);
        IngestResult r;
        for (const auto& c : b->calls) {
          const bool dup = !seen_.insert(c["shadowmeter.event_id"].get<std::string>()).second;
          (dup ? r.duplicates : r.inserted) += 1;
        }
        r.heartbeats = b->heartbeats.size();
        r.gaps = b->gaps.size();
        out.push_back(r);
      }
      return out;
    };
  }
  std::vector<IngestBatch> batches() {
    std::lock_guard lock(mu_);
    return batches_;
  }
  void hold(bool h) {
    std::lock_guard lock(mu_);
    hold_ = h;
    cv_.notify_all();
  }
  void fail(bool f) {
    std::lock_guard lock(mu_);
    fail_ = f;
  }
  void wait_entered(int n) {
    std::unique_lock lock(mu_);
    REQUIRE(cv_.wait_for(lock, 20s, [&] { return entered_ >= n; }));
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<IngestBatch> batches_;
  std::set<std::string> seen_;
  bool hold_ = false;
  bool fail_ = false;
  int entered_ = 0;
};

// The query side: records the last filter; answers fixed data; can fail.
struct FakeApi {
  std::mutex mu;
  CallFilter last;
  std::atomic<bool> ready{true};
  std::atomic<int> mode{0};  // 0 ok, 1 bad cursor, 2 store error

  ApiBackend backend() {
    ApiBackend b;
    b.query_calls = [this](const CallFilter& f) {
      {
        std::lock_guard lock(mu);
        last = f;
      }
      if (mode == 1) throw std::invalid_argument("malformed cursor");
      if (mode == 2) throw StoreError("connection refused");
      CallPage page;
      page.calls.push_back(call_event(1));
      page.next_cursor = "next-1";
      return page;
    };
    b.agents = [] { return json::array({{{"host.name", "node-1"}, {"calls", 3}}}); };
    b.ready = [this] { return ready.load(); };
    return b;
  }
};

inline ServerOptions small_options() {
  ServerOptions o;
  o.listen = "127.0.0.1:0";
  o.max_body_bytes = 64 * 1024;
  o.max_inflight_body_bytes = 1 << 20;
  o.max_spans = 1000;
  o.read_timeout = 20s;
  o.write_timeout = 20s;
  return o;
}

inline AuthPolicy token_policy() {
  AuthPolicy a;
  a.tokens = TokenSet::parse(kToken + "\n", "test");
  return a;
}

struct Fixture {
  explicit Fixture(ServerOptions options = small_options(), AuthPolicy auth = token_policy(),
                   IngestQueueOptions qopts = {})
      : queue(store.commit(), qopts, hooks()) {
    server =
        std::make_unique<CollectorServer>(std::move(options), std::move(auth), queue, api.backend(), metrics);
    server->start();
  }
  ~Fixture() {
    store.hold(false);
    server->stop(5s);
    queue.stop();
  }
  Fixture(const Fixture&) = delete;
  Fixture& operator=(const Fixture&) = delete;

  IngestHooks hooks() {
    IngestHooks h;
    h.committed = [this](const std::vector<const IngestBatch*>& b, const std::vector<IngestResult>& r,
                         double s) { metrics.committed(b, r, s); };
    h.queue_size = [this](std::size_t n) { metrics.set_queue_events(n); };
    return h;
  }
  unsigned short port() const { return server->port(); }
  std::string metrics_text() { return fetch(port(), get("/metrics")).body(); }

  RecordingStore store;
  CollectorMetrics metrics;
  IngestQueue queue;
  FakeApi api;
  std::unique_ptr<CollectorServer> server;
};

inline bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.rfind(line + "\n", 0) == 0;
}

inline int status(const Response& r) { return static_cast<int>(r.result_int()); }

inline json body_json(const Response& r) { return json::parse(r.body()); }


}  // namespace smtest
