#include "server/ingest_queue.h"

#include <algorithm>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <exception>
#include <utility>

namespace shadowmeter::collector {
namespace {

std::size_t events_of(const IngestBatch& b) { return b.calls.size() + b.heartbeats.size() + b.gaps.size(); }

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

IngestQueue::IngestQueue(CommitFn commit, IngestQueueOptions options, IngestHooks hooks)
    : commit_(std::move(commit)), options_(options), hooks_(std::move(hooks)) {
  options_.max_group_batches = std::max<std::size_t>(options_.max_group_batches, 1);
  writer_ = std::thread([this] { run(); });
}

IngestQueue::~IngestQueue() { stop(); }

IngestQueue::Submit IngestQueue::submit(std::shared_ptr<const IngestBatch> batch,
                                        boost::asio::any_io_executor executor, IngestCompletion done) {
  const std::size_t n = events_of(*batch);
  {
    std::lock_guard lock(mu_);
    if (stopping_) return Submit::stopped;
    if (queued_events_ > 0 && queued_events_ + n > options_.high_water_events) return Submit::over_high_water;
    // The tracked executor keeps its io_context from running out of work while the batch waits.
    auto tracked = boost::asio::prefer(executor, boost::asio::execution::outstanding_work.tracked);
    queue_.push_back(Pending{std::move(batch), n, std::move(tracked), std::move(done)});
    queued_events_ += n;
    // Under the lock so that the observer sees the sizes in order.
    if (hooks_.queue_size) hooks_.queue_size(queued_events_);
  }
  cv_.notify_one();
  return Submit::queued;
}

void IngestQueue::add_periodic(std::string name, std::chrono::milliseconds interval,
                               std::function<void()> task, bool run_now,
                               std::function<void(const std::string&, const std::string&)> on_error) {
  {
    std::lock_guard lock(mu_);
    const auto now = std::chrono::steady_clock::now();
    periodic_.push_back(Periodic{std::move(name), interval, std::move(task), std::move(on_error),
                                 run_now ? now : now + interval});
    ++periodic_version_;
  }
  cv_.notify_one();
}

void IngestQueue::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (writer_.joinable()) writer_.join();
}

std::size_t IngestQueue::queued_events() const {
  std::lock_guard lock(mu_);
  return queued_events_;
}

void IngestQueue::complete(Pending& p, IngestOutcome outcome) {
  // The completion runs on the request's executor; the tracked executor is released with the handler.
  boost::asio::post(p.executor, [done = std::move(p.done), outcome = std::move(outcome)]() mutable {
    if (done) done(std::move(outcome));
  });
}

void IngestQueue::run() {
  std::vector<Pending> group;
  for (;;) {
    run_due_tasks();
    {
      std::unique_lock lock(mu_);
      // A task added while the writer sleeps changes the deadline: wake up and recompute it.
      const std::uint64_t tasks_seen = periodic_version_;
      const auto has_work = [this, tasks_seen] {
        return !queue_.empty() || stopping_ || periodic_version_ != tasks_seen;
      };
      // Sleep until a batch arrives, the queue stops, or the next periodic task is due.
      auto next_due = std::chrono::steady_clock::time_point::max();
      for (const Periodic& p : periodic_) next_due = std::min(next_due, p.next);
      if (next_due == std::chrono::steady_clock::time_point::max()) {
        cv_.wait(lock, has_work);
      } else if (!cv_.wait_until(lock, next_due, has_work)) {
        continue;  // a task is due
      }
      if (queue_.empty()) {
        if (stopping_) return;
        continue;
      }
      std::size_t events = 0;
      while (!queue_.empty() && group.size() < options_.max_group_batches &&
             (group.empty() || events + queue_.front().events <= options_.max_group_events)) {
        events += queue_.front().events;
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    commit_group(group);
    group.clear();
  }
}

void IngestQueue::commit_group(std::vector<Pending>& group) {
  std::vector<const IngestBatch*> batches;
  batches.reserve(group.size());
  for (const Pending& p : group) batches.push_back(p.batch.get());
  const auto start = std::chrono::steady_clock::now();
  std::vector<IngestResult> results;
  std::string error;
  try {
    results = commit_(batches);
    if (results.size() != batches.size())
      error = "store returned " + std::to_string(results.size()) + " results for " +
              std::to_string(batches.size()) + " batches";
  } catch (const std::exception& e) {
    error = e.what();
    if (error.empty()) error = "commit failed";
  } catch (...) {
    error = "commit failed with an unknown exception";
  }
  const double seconds = seconds_since(start);
  // Observers must not take the writer down with them.
  try {
    if (error.empty() && hooks_.committed) hooks_.committed(batches, results, seconds);
    if (!error.empty() && hooks_.failed) hooks_.failed(error, batches.size(), seconds);
  } catch (...) {
  }
  // The group leaves the count before anyone hears of it, so an answered request is never still queued.
  {
    std::lock_guard lock(mu_);
    for (const Pending& p : group) queued_events_ -= p.events;
    if (hooks_.queue_size) hooks_.queue_size(queued_events_);
  }
  for (std::size_t i = 0; i < group.size(); ++i) {
    IngestOutcome outcome;
    if (error.empty()) {
      outcome.result = results[i];
    } else {
      outcome.status = IngestOutcome::Status::store_error;
      outcome.error = error;
    }
    complete(group[i], std::move(outcome));
  }
}

void IngestQueue::run_due_tasks() {
  struct Due {
    std::string name;
    std::function<void()> task;
    std::function<void(const std::string&, const std::string&)> on_error;
  };
  std::vector<Due> due;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;  // no maintenance on the way out
    const auto now = std::chrono::steady_clock::now();
    for (Periodic& p : periodic_) {
      if (p.next > now) continue;
      due.push_back(Due{p.name, p.task, p.on_error});
      p.next = now + p.interval;
    }
  }
  for (Due& d : due) {
    std::string error;
    try {
      d.task();
    } catch (const std::exception& e) {
      error = e.what();
    } catch (...) {
      error = "unknown exception";
    }
    if (!error.empty() && d.on_error) {
      try {
        d.on_error(d.name, error);
      } catch (...) {
      }
    }
  }
}

}  // namespace shadowmeter::collector
