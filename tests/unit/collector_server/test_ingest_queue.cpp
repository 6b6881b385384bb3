// The ingest queue with a test commit step: outcomes arrive on the request's executor, queued batches
// are committed together (group commit), a throwing commit fails exactly its group, the high-water mark
// refuses batches without queueing them, stop() drains, and maintenance runs on the writer thread.
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "server/ingest_queue.h"

using namespace shadowmeter::collector;
using namespace std::chrono_literals;

namespace {

std::shared_ptr<const IngestBatch> batch(std::size_t calls, std::string principal = "p") {
  auto b = std::make_shared<IngestBatch>();
  for (std::size_t i = 0; i < calls; ++i) b->calls.push_back({{"n", i}});
  b->principal = std::move(principal);
  return b;
}

// An io_context run by its own thread: where completions land.
class IoThread {
 public:
  IoThread() : guard_(io_.get_executor()), thread_([this] { io_.run(); }) {}
  ~IoThread() {
    guard_.reset();
    thread_.join();
  }
  IoThread(const IoThread&) = delete;
  IoThread& operator=(const IoThread&) = delete;
  boost::asio::any_io_executor executor() { return io_.get_executor(); }
  std::thread::id id() const { return thread_.get_id(); }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::thread thread_;
};

// Collects outcomes (and the thread each arrived on); wait_for(n) blocks until n arrived.
class Outcomes {
 public:
  IngestCompletion make(std::size_t tag) {
    return [this, tag](IngestOutcome o) {
      std::lock_guard lock(mu_);
      got_.push_back({tag, std::move(o), std::this_thread::get_id()});
      cv_.notify_all();
    };
  }
  struct Got {
    std::size_t tag;
    IngestOutcome outcome;
    std::thread::id thread;
  };
  std::vector<Got> wait_for(std::size_t n) {
    std::unique_lock lock(mu_);
    REQUIRE(cv_.wait_for(lock, 20s, [&] { return got_.size() >= n; }));
    return got_;
  }
  std::size_t size() {
    std::lock_guard lock(mu_);
    return got_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Got> got_;
};

// A commit step that records each group and can hold the writer inside a commit until released.
class TestStore {
 public:
  CommitFn commit() {
    return [this](const std::vector<const IngestBatch*>& batches) {
      std::unique_lock lock(mu_);
      groups_.push_back(batches.size());
      writer_ = std::this_thread::get_id();
      ++entered_;
      cv_.notify_all();
      cv_.wait(lock, [&] { return !hold_; });
      if (fail_) throw StoreError("disk full");
      std::vector<IngestResult> out;
      for (const IngestBatch* b : batches) {
        IngestResult r;
        r.inserted = b->calls.size();
        out.push_back(r);
      }
      if (short_results_) out.pop_back();
      return out;
    };
  }
  void hold() {
    std::lock_guard lock(mu_);
    hold_ = true;
  }
  void release() {
    std::lock_guard lock(mu_);
    hold_ = false;
    cv_.notify_all();
  }
  void wait_entered(int n) {
    std::unique_lock lock(mu_);
    REQUIRE(cv_.wait_for(lock, 20s, [&] { return entered_ >= n; }));
  }
  void fail(bool f) {
    std::lock_guard lock(mu_);
    fail_ = f;
  }
  void short_results(bool s) {
    std::lock_guard lock(mu_);
    short_results_ = s;
  }
  std::vector<std::size_t> groups() {
    std::lock_guard lock(mu_);
    return groups_;
  }
  std::thread::id writer() {
    std::lock_guard lock(mu_);
    return writer_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool hold_ = false;
  bool fail_ = false;
  bool short_results_ = false;
  int entered_ = 0;
  std::vector<std::size_t> groups_;
  std::thread::id writer_;
};

}  // namespace

TEST_CASE("a committed batch's outcome arrives on the request's executor") {
  IoThread io;
  TestStore store;
  Outcomes outcomes;
  IngestQueue q(store.commit());
  REQUIRE(q.submit(batch(3), io.executor(), outcomes.make(1)) == IngestQueue::Submit::queued);
  const auto got = outcomes.wait_for(1);
  CHECK(got[0].outcome.status == IngestOutcome::Status::committed);
  CHECK(got[0].outcome.result.inserted == 3);
  CHECK(got[0].thread == io.id());
  CHECK(store.writer() != io.id());
  q.stop();
  CHECK(q.queued_events() == 0);
}

TEST_CASE("batches queued during a commit are committed together") {
  IoThread io;
  TestStore store;
  Outcomes outcomes;
  IngestQueue q(store.commit());
  store.hold();
  REQUIRE(q.submit(batch(1), io.executor(), outcomes.make(0)) == IngestQueue::Submit::queued);
  store.wait_entered(1);  // the writer is inside the first commit
  for (std::size_t i = 1; i <= 5; ++i)
    REQUIRE(q.submit(batch(i), io.executor(), outcomes.make(i)) == IngestQueue::Submit::queued);
  CHECK(q.queued_events() == 1 + 1 + 2 + 3 + 4 + 5);
  store.release();
  const auto got = outcomes.wait_for(6);
  CHECK(store.groups() == std::vector<std::size_t>{1, 5});
  for (const auto& g : got) {
    CHECK(g.outcome.status == IngestOutcome::Status::committed);
    CHECK(g.outcome.result.inserted == (g.tag == 0 ? 1 : g.tag));
  }
  q.stop();
}

TEST_CASE("group size is bounded") {
  IoThread io;
  TestStore store;
  Outcomes outcomes;
  IngestQueueOptions o;
  o.max_group_batches = 2;
  o.max_group_events = 5;
  IngestQueue q(store.commit(), o);
  store.hold();
  REQUIRE(q.submit(batch(1), io.executor(), outcomes.make(0)) == IngestQueue::Submit::queued);
  store.wait_entered(1);
  // [2, 2]: two batches at most; [2, 3]: exactly 5 events; [4]: alone.
  for (std::size_t n : {std::size_t{2}, std::size_t{2}, std::size_t{2}, std::size_t{3}, std::size_t{4}})
    REQUIRE(q.submit(batch(n), io.executor(), outcomes.make(n)) == IngestQueue::Submit::queued);
  store.release();
  outcomes.wait_for(6);
  CHECK(store.groups() == std::vector<std::size_t>{1, 2, 2, 1});
  q.stop();
}

TEST_CASE("a throwing commit fails every request of its group, and only those") {
  IoThread io;
  TestStore store;
  Outcomes outcomes;
  std::vector<std::string> failures;
  IngestHooks hooks;
  hooks.failed = [&](const std::string& e, std::size_t n, double) {
    failures.push_back(e + "/" + std::to_string(n));
  };
  IngestQueue q(store.commit(), {}, std::move(hooks));
  store.hold();
  store.fail(true);
  REQUIRE(q.submit(batch(1), io.executor(), outcomes.make(0)) == IngestQueue::Submit::queued);
  store.wait_entered(1);
  for (std::size_t i = 1; i <= 3; ++i)
    REQUIRE(q.submit(batch(1), io.executor(), outcomes.make(i)) == IngestQueue::Submit::queued);
  store.release();  // both groups fail
  auto got = outcomes.wait_for(4);
  for (const auto& g : got) {
    CHECK(g.outcome.status == IngestOutcome::Status::store_error);
    CHECK(g.outcome.error == "disk full");
  }
  store.fail(false);
  REQUIRE(q.submit(batch(2), io.executor(), outcomes.make(9)) == IngestQueue::Submit::queued);
  got = outcomes.wait_for(5);
  CHECK(got[4].outcome.status == IngestOutcome::Status::committed);
  q.stop();
  CHECK(failures == std::vector<std::string>{"disk full/1", "disk full/3"});
}

TEST_CASE("a commit that returns the wrong number of results is a failure") {
  IoThread io;
  TestStore store;
  Outcomes outcomes;
  store.short_results(true);
  IngestQueue q(store.commit());
  REQUIRE(q.submit(batch(1), io.executor(), outcomes.make(0)) == IngestQueue::Submit::queued);
  const auto got = outcomes.wait_for(1);
  CHECK(got[0].outcome.status == IngestOutcome::Status::store_error);
  q.stop();
}

TEST_CASE("over the high-water mark nothing is queued") {
  IoThread io;
  TestStore store;
  Outcomes outcomes;
  std::vector<std::size_t> sizes;
  std::mutex sizes_mu;
  IngestQueueOptions o;
  o.high_water_events = 10;
  IngestHooks hooks;
  hooks.queue_size = [&](std::size_t n) {
    std::lock_guard lock(sizes_mu);
    sizes.push_back(n);
  };
  IngestQueue q(store.commit(), o, std::move(hooks));
  store.hold();
  REQUIRE(q.submit(batch(4), io.executor(), outcomes.make(0)) == IngestQueue::Submit::queued);
  store.wait_entered(1);  // being committed still counts
  CHECK(q.submit(batch(4), io.executor(), outcomes.make(1)) == IngestQueue::Submit::queued);
  CHECK(q.submit(batch(2), io.executor(), outcomes.make(2)) == IngestQueue::Submit::queued);  // exactly 10
  CHECK(q.submit(batch(1), io.executor(), outcomes.make(3)) == IngestQueue::Submit::over_high_water);
  CHECK(q.queued_events() == 10);
  store.release();
  outcomes.wait_for(3);
  q.stop();
  CHECK(outcomes.size() == 3);  // the refused batch's completion is never called
  CHECK(store.groups() == std::vector<std::size_t>{1, 2});
  std::lock_guard lock(sizes_mu);
  CHECK(sizes == std::vector<std::size_t>{4, 8, 10, 6, 0});
}

TEST_CASE("a lone batch larger than the mark passes an empty queue") {
  IoThread io;
  TestStore store;
  Outcomes outcomes;
  IngestQueueOptions o;
  o.high_water_events = 2;
  IngestQueue q(store.commit(), o);
  REQUIRE(q.submit(batch(5), io.executor(), outcomes.make(0)) == IngestQueue::Submit::queued);
  CHECK(outcomes.wait_for(1)[0].outcome.result.inserted == 5);
  q.stop();
}

TEST_CASE("stop commits what is queued, then refuses") {
  IoThread io;
  TestStore store;
  Outcomes outcomes;
  IngestQueue q(store.commit());
  store.hold();
  REQUIRE(q.submit(batch(1), io.executor(), outcomes.make(0)) == IngestQueue::Submit::queued);
  store.wait_entered(1);
  REQUIRE(q.submit(batch(1), io.executor(), outcomes.make(1)) == IngestQueue::Submit::queued);
  auto stopping = std::async(std::launch::async, [&] { q.stop(); });
  // Batches that beat stop()'s flag are committed like the others; the loop ends once it took effect.
  std::size_t raced = 0;
  while (q.submit(batch(1), io.executor(), outcomes.make(100 + raced)) == IngestQueue::Submit::queued) {
    ++raced;
    std::this_thread::sleep_for(1ms);
  }
  store.release();
  stopping.get();
  const auto got = outcomes.wait_for(2 + raced);
  CHECK(got.size() == 2 + raced);
  for (const auto& g : got) CHECK(g.outcome.status == IngestOutcome::Status::committed);
  CHECK(q.submit(batch(1), io.executor(), outcomes.make(8)) == IngestQueue::Submit::stopped);
}

TEST_CASE("periodic tasks run on the writer thread, between commits") {
  IoThread io;
  TestStore store;
  Outcomes outcomes;
  IngestQueue q(store.commit());
  std::promise<std::thread::id> ran;
  std::promise<std::string> error;
  q.add_periodic(
      "once", std::chrono::hours(1), [&] { ran.set_value(std::this_thread::get_id()); }, true);
  q.add_periodic(
      "failing", std::chrono::hours(1), [] { throw StoreError("locked"); }, true,
      [&](const std::string& name, const std::string& e) { error.set_value(name + ": " + e); });
  auto ran_on = ran.get_future();
  REQUIRE(ran_on.wait_for(20s) == std::future_status::ready);
  auto err = error.get_future();
  REQUIRE(err.wait_for(20s) == std::future_status::ready);
  CHECK(err.get() == "failing: locked");
  REQUIRE(q.submit(batch(1), io.executor(), outcomes.make(0)) == IngestQueue::Submit::queued);
  outcomes.wait_for(1);
  CHECK(ran_on.get() == store.writer());
  q.stop();
}
