// The ingest queue between the HTTP sessions and the store: bounded in events, drained by one writer
// thread that commits everything queued (up to a bound) in one call (group commit), then hands each
// request its outcome on the request's own executor. The writer also runs maintenance tasks (retention)
// between groups, so they never run on an io thread and never overlap a commit.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "storage/store.h"

namespace shadowmeter::collector {

// Commits batches durably, all or nothing, returning one result per batch in order (Store::ingest_many).
// Throws (StoreError or anything else) when nothing was stored.
using CommitFn = std::function<std::vector<IngestResult>(const std::vector<const IngestBatch*>&)>;

struct IngestOutcome {
  enum class Status {
    committed,    // durable; `result` holds the counts
    store_error,  // the commit threw: nothing of the batch is stored (answer 503, the sender retries)
    stopped,      // the queue stopped before the batch was committed
  };
  Status status = Status::committed;
  IngestResult result;
  std::string error;  // for store_error: the exception's message
};

using IngestCompletion = std::function<void(IngestOutcome)>;

// Observers called on the writer thread (for metrics and logs); each may be empty.
struct IngestHooks {
  std::function<void(const std::vector<const IngestBatch*>&, const std::vector<IngestResult>&,
                     double seconds)>
      committed;
  std::function<void(const std::string& error, std::size_t batches, double seconds)> failed;
  std::function<void(std::size_t queued_events)> queue_size;  // after every change
};

struct IngestQueueOptions {
  // Events (calls + heartbeats + gaps) queued or being committed; a batch that would pass it is refused.
  // A lone batch larger than the mark is still accepted when the queue is empty.
  std::size_t high_water_events = 50000;
  std::size_t max_group_batches = 256;    // batches per commit
  std::size_t max_group_events = 100000;  // events per commit (a group always takes at least one batch)
};

class IngestQueue {
 public:
  enum class Submit { queued, over_high_water, stopped };

  // Starts the writer thread.
  IngestQueue(CommitFn commit, IngestQueueOptions options = {}, IngestHooks hooks = {});
  // stop()s.
  ~IngestQueue();
  IngestQueue(const IngestQueue&) = delete;
  IngestQueue& operator=(const IngestQueue&) = delete;

  // Queues `batch`; once committed (or failed), `done` is posted to `executor` (never run on the caller's
  // stack or on the writer thread). The executor's context is kept busy (outstanding work) until then.
  // On over_high_water and stopped nothing is queued and `done` is dropped uncalled. Thread-safe.
  Submit submit(std::shared_ptr<const IngestBatch> batch, boost::asio::any_io_executor executor,
                IngestCompletion done);

  // Runs `task` on the writer thread every `interval` between groups (the first run at once when
  // `run_now`). Exceptions are caught and passed to `on_error` (may be empty). Call before traffic starts
  // or at any time; thread-safe.
  void add_periodic(std::string name, std::chrono::milliseconds interval, std::function<void()> task,
                    bool run_now,
                    std::function<void(const std::string& name, const std::string& error)> on_error = {});

  // Refuses new batches, commits everything already queued, and joins the writer. Idempotent.
  void stop();

  std::size_t queued_events() const;

 private:
  struct Pending {
    std::shared_ptr<const IngestBatch> batch;
    std::size_t events = 0;
    boost::asio::any_io_executor executor;  // work-tracked
    IngestCompletion done;
  };
  struct Periodic {
    std::string name;
    std::chrono::milliseconds interval;
    std::function<void()> task;
    std::function<void(const std::string&, const std::string&)> on_error;
    std::chrono::steady_clock::time_point next;
  };

  void run();
  void commit_group(std::vector<Pending>& group);
  void run_due_tasks();
  static void complete(Pending& p, IngestOutcome outcome);

  CommitFn commit_;
  IngestQueueOptions options_;
  IngestHooks hooks_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  std::size_t queued_events_ = 0;  // in queue_ and in the group being committed
  std::vector<Periodic> periodic_;
  std::uint64_t periodic_version_ = 0;  // bumped by add_periodic() to wake the writer
  bool stopping_ = false;
  std::thread writer_;
};

}  // namespace shadowmeter::collector
