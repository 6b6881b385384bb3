// The sender thread and what it decides after each answer.
//
// Locks: `spool_mu` guards the spool (single-threaded by contract) and is held only around spool
// calls; `mu` guards everything else shared with the callers. When both are needed, `mu` is taken
// first (enqueue() takes them one after the other, never together).
//
// One request carries the oldest spooled events (at most limit_events, whose uncompressed OTLP body
// fits batch_max_bytes) plus, unless suspended, the "extras": the pending gap records and a due
// heartbeat. Answers:
//   2xx              the batch is released from the spool; gaps reported; backoff reset; spans the
//                    body's OTLP partialSuccess says were rejected count as rejected events
//   429/503 + hint   wait as told (up to 10 minutes), no backoff step
//   400/413          a batch of several events is halved (the first half is sent alone), a lone event is
//                    dropped (rejected_events, gap reason "rejected"); extras are left out while a bad
//                    event is being isolated, so that they cannot be mistaken for it. A size refused with
//                    413 is not tried again for a while (kTooBigMemory), so batches do not oscillate.
//   anything else    (network, TLS, timeouts, 401/403, 408, 5xx, other codes) jittered backoff, forever
#include "export/otlp_http/exporter.h"

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "common/log.h"
#include "export/otlp_http/backoff.h"
#include "export/otlp_http/gap_state.h"
#include "export/otlp_http/gzip.h"
#include "export/otlp_http/http_client.h"
#include "export/otlp_http/url.h"
#include "export/usage_event.h"

namespace shadowmeter::exporting {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
using otlp_http::GapRecord;

constexpr auto kMaxRetryAfter = std::chrono::minutes(10);
constexpr auto kGapSaveEvery = std::chrono::seconds(1);
constexpr auto kFirstHeartbeat = std::chrono::seconds(2);  // "soon after start": the agent sets its counters
constexpr auto kIdleWake = std::chrono::seconds(60);
constexpr auto kTooBigMemory = std::chrono::minutes(10);  // then larger batches are tried again

std::uint64_t unix_now_ns() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

void check_options(const ExporterOptions& o) {
  const auto bad = [](const std::string& why) { return std::runtime_error("collector export: " + why); };
  if (o.batch_max_events == 0) throw bad("batch_max_events must be at least 1");
  if (o.batch_max_bytes == 0) throw bad("batch_max_bytes must be at least 1");
  if (o.batch_max_delay.count() < 0) throw bad("batch_max_delay must not be negative");
  if (o.request_timeout.count() <= 0) throw bad("request_timeout must be positive");
  if (o.backoff_min.count() <= 0 || o.backoff_max < o.backoff_min)
    throw bad("backoff needs 0 < backoff_min <= backoff_max");
}

otlp_http::Url checked_url(const ExporterOptions& o) {
  otlp_http::Url url;
  try {
    url = otlp_http::parse_url(o.url);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(e.what());
  }
  return url;
}

otlp_http::HttpClientOptions client_options(const ExporterOptions& o, const otlp_http::Url& url) {
  otlp_http::HttpClientOptions c;
  c.url = url;
  c.bearer_token = o.bearer_token;
  c.user_agent = "shadowmeter-agent";
  if (!o.resource.service_version.empty()) c.user_agent += "/" + o.resource.service_version;
  if (url.tls) {
    otlp_http::TlsSettings tls;
    tls.ca_file = o.ca_file;
    tls.client_cert_file = o.client_cert_file;
    tls.client_key_file = o.client_key_file;
    tls.verify_name = o.server_name.empty() ? url.host : o.server_name;
    c.tls = std::move(tls);
  } else if (!o.ca_file.empty() || !o.client_cert_file.empty()) {
    log::warn("collector export: TLS settings are ignored for the http:// URL " + o.url);
  }
  return c;
}

bool is_2xx(unsigned status) { return status >= 200 && status < 300; }

// OTLP partial success: {"partialSuccess":{"rejectedSpans":"2","errorMessage":"..."}} (int64 as a
// string in the JSON encoding, or a number). 0 when absent or unreadable.
std::uint64_t rejected_spans(const std::string& body, std::string& message) {
  if (body.empty()) return 0;
  const json doc = json::parse(body, nullptr, false);
  if (!doc.is_object()) return 0;
  const auto ps = doc.find("partialSuccess");
  if (ps == doc.end() || !ps->is_object()) return 0;
  if (const auto m = ps->find("errorMessage"); m != ps->end() && m->is_string())
    message = m->get<std::string>();
  const auto n = ps->find("rejectedSpans");
  if (n == ps->end()) return 0;
  if (n->is_number_unsigned()) return n->get<std::uint64_t>();
  if (n->is_string()) {
    const std::string& v = n->get_ref<const std::string&>();
    std::uint64_t out = 0;
    const auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    if (ec == std::errc() && ptr == v.data() + v.size()) return out;
  }
  return 0;
}

std::string event_id_of(const json& e) {
  const auto it = e.find("shadowmeter.event_id");
  return it != e.end() && it->is_string() ? it->get<std::string>() : std::string("(none)");
}

}  // namespace

struct Exporter::Impl {
  explicit Impl(ExporterOptions options)
      : opt((check_options(options), std::move(options))),
        url(checked_url(opt)),
        client(client_options(opt, url), abort),
        spool(opt.spool),
        gap_file(opt.spool.dir),
        backoff(opt.backoff_min, opt.backoff_max),
        limit_events(opt.batch_max_events) {
    switch (gap_file.load(gap)) {
      case otlp_http::GapFile::Load::ok:
        if (!gap.empty())
          log::info("collector export: " + std::to_string(gap.pending_events()) +
                    " dropped events from an earlier run are still to be reported");
        break;
      case otlp_http::GapFile::Load::missing:
        break;
      case otlp_http::GapFile::Load::corrupt:
        log::error("collector export: " + gap_file.path() +
                   " is unreadable; drops counted before this start cannot be reported");
        break;
    }
    const auto now = Clock::now();
    if (spool.stats().pending_records > 0)
      oldest_pending = now - opt.batch_max_delay;  // send what is left first
    if (heartbeats_enabled())
      next_heartbeat = now + std::min<Clock::duration>(opt.heartbeat_interval, kFirstHeartbeat);
    sender = std::thread([this] { run(); });  // last: everything it uses is ready
  }

  ~Impl() { stop(std::chrono::milliseconds(2000)); }

  ExporterOptions opt;
  otlp_http::Url url;
  std::atomic<bool> abort{false};  // ends an in-flight request when stop()'s grace is over
  otlp_http::HttpClient client;    // sender thread only

  mutable std::mutex spool_mu;
  Spool spool;

  mutable std::mutex mu;
  std::condition_variable wake;     // the sender waits on it
  std::condition_variable done_cv;  // stop() waits on it
  ExporterStats st;                 // spool and pending_gap_events filled in by stats()
  otlp_http::GapState gap;
  bool gap_dirty = false;  // changed since last saved
  Clock::time_point gap_saved_at{};
  json heartbeat_attributes = json::object();
  std::optional<Clock::time_point> oldest_pending;     // the oldest event not yet sent was spooled then
  std::optional<Clock::time_point> oldest_since_peek;  // the first event spooled after the last peek
  bool flush_requested = false;
  bool stopping = false;
  Clock::time_point stop_deadline{};
  bool sender_done = false;
  log::RateLimit drop_log{5, std::chrono::seconds(60)};

  // Sender thread only.
  otlp_http::GapFile gap_file;
  otlp_http::Backoff backoff;
  Clock::time_point retry_at{};
  Clock::time_point next_heartbeat{};
  std::size_t limit_events;        // events per request: lowered by 400/413, doubled back after successes
  std::size_t too_big = SIZE_MAX;  // the smallest batch size refused with 413 lately
  Clock::time_point too_big_at{};
  bool extras_suspended = false;  // isolating a refused event: send events alone
  log::RateLimit net_log{5, std::chrono::seconds(60)};
  log::RateLimit auth_log{1, std::chrono::seconds(60)};
  log::RateLimit reject_log{5, std::chrono::seconds(60)};
  log::RateLimit io_log{5, std::chrono::seconds(60)};

  std::mutex stop_mu;
  bool stopped = false;
  std::thread sender;

  bool heartbeats_enabled() const { return opt.heartbeat_interval.count() > 0; }

  // ---- callers' side -------------------------------------------------------------------------

  bool enqueue(const json& event) {
    std::string record;
    if (event.is_object() && !event.contains("shadowmeter.event_id")) {
      // Without an id the collector refuses the span: give it one now, so that it is stable.
      json with_id = event;
      with_id["shadowmeter.event_id"] = new_event_id();
      record = with_id.dump(-1, ' ', false, json::error_handler_t::replace);
    } else {
      record = event.dump(-1, ' ', false, json::error_handler_t::replace);
    }
    bool accepted = false;
    std::uint64_t pending = 0;
    {
      std::lock_guard lock(spool_mu);
      accepted = spool.append(record);
      pending = spool.stats().pending_records;
    }
    const auto now = Clock::now();
    std::lock_guard lock(mu);
    if (!accepted) {
      ++st.dropped_spool_full;
      gap.add(otlp_http::kGapSpoolFull, 1, unix_now_ns());
      drop_log.write(log::Level::warn,
                     "collector export: the spool refused an event (full, too large or unwritable); "
                     "dropped, counted and to be reported as a gap");
      if (!gap_dirty) {
        gap_dirty = true;
        wake.notify_one();
      }
      return false;
    }
    bool notify = false;
    if (!oldest_pending) {
      oldest_pending = now;
      notify = true;  // the sender learns when this batch is due
    }
    if (!oldest_since_peek) oldest_since_peek = now;
    if (pending >= opt.batch_max_events) notify = true;
    if (notify) wake.notify_one();
    return true;
  }

  void set_heartbeat(json attributes) {
    if (!attributes.is_object()) {
      log::warn("collector export: heartbeat attributes must be a JSON object; ignored");
      return;
    }
    // Round trip so that invalid UTF-8 cannot make the encoder throw later.
    json clean = json::parse(attributes.dump(-1, ' ', false, json::error_handler_t::replace));
    std::lock_guard lock(mu);
    heartbeat_attributes = std::move(clean);
  }

  void flush() {
    {
      std::lock_guard lock(spool_mu);
      spool.flush();
    }
    std::lock_guard lock(mu);
    flush_requested = true;
    wake.notify_one();
  }

  void stop(std::chrono::milliseconds grace) {
    std::lock_guard stop_lock(stop_mu);
    if (stopped) return;
    stopped = true;
    {
      std::unique_lock lock(mu);
      stopping = true;
      stop_deadline = Clock::now() + std::max(grace, std::chrono::milliseconds(0));
      wake.notify_all();
      done_cv.wait_until(lock, stop_deadline, [&] { return sender_done; });
    }
    abort.store(true);
    {
      std::lock_guard lock(mu);
      wake.notify_all();
    }
    if (sender.joinable()) sender.join();
    std::uint64_t left = 0;
    {
      std::lock_guard lock(spool_mu);
      spool.flush();
      left = spool.stats().pending_records;
    }
    if (left > 0)
      log::info("collector export: stopped with " + std::to_string(left) +
                " events in the spool; they are sent after the next start");
  }

  ExporterStats stats() const {
    ExporterStats s;
    {
      std::lock_guard lock(mu);
      s = st;
      s.pending_gap_events = gap.pending_events();
    }
    std::lock_guard lock(spool_mu);
    s.spool = spool.stats();
    return s;
  }

  // ---- sender thread ---------------------------------------------------------------------------

  void run() {
    for (;;) {
      try {
        if (!wait_until_ready()) break;
        attempt();
      } catch (const std::exception& e) {
        internal_error(e.what());
      } catch (...) {
        internal_error("unknown exception");
      }
    }
    try {
      save_gap_if_dirty(true);
      client.close();
    } catch (...) {
    }
    std::lock_guard lock(mu);
    sender_done = true;
    done_cv.notify_all();
  }

  void internal_error(const std::string& what) {
    // Never a hot loop and never an exception out of the thread: count, log, back off.
    retry_at = Clock::now() + backoff.next();
    io_log.write(log::Level::error, "collector export: internal error: " + what);
    std::lock_guard lock(mu);
    ++st.requests_failed;
    st.last_error = "internal error: " + what;
  }

  std::uint64_t spool_pending() const {
    std::lock_guard lock(spool_mu);
    return spool.stats().pending_records;
  }

  // Saves the gap state when it changed, at most every kGapSaveEvery unless `now_anyway`. The file
  // is written without holding `mu`; `lock` (when given) is released meanwhile.
  void save_gap_if_dirty(bool now_anyway, std::unique_lock<std::mutex>* lock = nullptr) {
    std::optional<std::unique_lock<std::mutex>> own;
    if (lock == nullptr) lock = &own.emplace(mu);
    const auto now = Clock::now();
    if (!gap_dirty || (!now_anyway && now < gap_saved_at + kGapSaveEvery)) return;
    const otlp_http::GapState snapshot = gap;
    gap_dirty = false;
    gap_saved_at = now;
    lock->unlock();
    const bool saved = gap_file.save(snapshot);
    lock->lock();
    if (!saved) {
      gap_dirty = true;  // again in a second
      io_log.write(log::Level::error, "collector export: cannot write " + gap_file.path());
    }
  }

  bool heartbeat_due(Clock::time_point now) const { return heartbeats_enabled() && now >= next_heartbeat; }

  // Waits until a request should go out; false when the sender should end.
  bool wait_until_ready() {
    std::unique_lock lock(mu);
    for (;;) {
      if (abort.load()) return false;
      save_gap_if_dirty(false, &lock);
      const auto now = Clock::now();
      const std::uint64_t pending = spool_pending();
      const bool gap_pending = !gap.empty();
      if (stopping && ((pending == 0 && !gap_pending) || now >= stop_deadline)) return false;
      if (pending > 0 && !oldest_pending) oldest_pending = now;
      if (pending == 0) oldest_pending.reset();
      const bool batch_due = pending > 0 && (pending >= opt.batch_max_events || flush_requested || stopping ||
                                             now - *oldest_pending >= opt.batch_max_delay);
      if (now >= retry_at && (batch_due || gap_pending || heartbeat_due(now))) return true;

      Clock::time_point until = now + kIdleWake;
      if (now < retry_at) {
        until = std::min(until, retry_at);
      } else {
        if (pending > 0) until = std::min(until, *oldest_pending + opt.batch_max_delay);
        if (heartbeats_enabled()) until = std::min(until, next_heartbeat);
      }
      if (gap_dirty) until = std::min(until, gap_saved_at + kGapSaveEvery);
      if (stopping) until = std::min(until, stop_deadline);
      wake.wait_until(lock, until);
    }
  }

  struct Outgoing {
    Spool::Batch batch;
    std::vector<json> events;
    std::size_t invalid = 0;            // records in the batch that are not events
    std::uint64_t pending_at_peek = 0;  // spooled records then: more than the batch means a backlog
    std::vector<GapRecord> gaps;
    std::optional<json> heartbeat;
    bool has_extras() const { return !gaps.empty() || heartbeat.has_value(); }
  };

  void peek(Outgoing& out) {
    {
      std::lock_guard lock(spool_mu);
      spool.flush();  // durable before it may be acknowledged
      out.batch = spool.peek(limit_events, opt.batch_max_bytes);
      out.pending_at_peek = spool.stats().pending_records;
    }
    out.events.clear();
    out.invalid = 0;
    for (const std::string& r : out.batch.records) {
      json e = json::parse(r, nullptr, false);
      if (e.is_object())
        out.events.push_back(std::move(e));
      else
        ++out.invalid;  // acknowledged with the batch: resending cannot make it valid
    }
  }

  json make_heartbeat(std::uint64_t now_ns) const {  // under mu
    json h = heartbeat_attributes;
    SpoolStats s;
    {
      std::lock_guard lock(spool_mu);
      s = spool.stats();
    }
    h[kRecordTypeKey] = "heartbeat";
    h["shadowmeter.event_id"] = new_event_id();
    h["time_unix_nano"] = now_ns;
    h["end_time_unix_nano"] = now_ns;
    if (!opt.resource.host_name.empty()) h["host.name"] = opt.resource.host_name;
    h["shadowmeter.agent.version"] = opt.resource.service_version;
    h["shadowmeter.spool.pending_events"] = s.pending_records;
    h["shadowmeter.spool.bytes"] = s.bytes;
    h["shadowmeter.spool.dropped_events"] = st.dropped_spool_full;
    h["shadowmeter.spool.corrupt_records"] = s.corrupt_records + st.invalid_records;
    h["shadowmeter.export.rejected_events"] = st.rejected_events;
    return h;
  }

  void add_extras(Outgoing& out, Clock::time_point now) {
    std::unique_lock lock(mu);
    bool new_ids = false;
    out.gaps = gap.to_send([] { return new_event_id(); }, new_ids);
    if (heartbeat_due(now)) out.heartbeat = make_heartbeat(unix_now_ns());
    if (new_ids) {
      // A new gap record id must be durable before it leaves: after a crash the same id (and count)
      // is resent and deduplicated, instead of the drops being reported twice under two ids.
      gap_dirty = true;
      save_gap_if_dirty(true, &lock);
    }
  }

  std::string encode(const Outgoing& out) const {
    std::vector<json> records = out.events;
    for (const GapRecord& g : out.gaps)
      records.push_back(otlp_http::gap_record_json(g, opt.resource.host_name));
    if (out.heartbeat) records.push_back(*out.heartbeat);
    return encode_otlp_traces(records, opt.resource);
  }

  void attempt() {
    {
      std::lock_guard lock(mu);
      flush_requested = false;
      oldest_since_peek.reset();
    }
    const auto now = Clock::now();
    Outgoing out;
    peek(out);
    if (out.batch.empty() && out.pending_at_peek > 0) {
      // Records pending but none readable: a spool I/O problem. Count it and wait.
      fail("cannot read the spool", now);
      return;
    }
    if (out.events.empty()) extras_suspended = false;  // nothing to isolate
    if (!extras_suspended) add_extras(out, now);
    if (out.events.empty() && !out.has_extras()) {
      if (!out.batch.empty()) released(out, Clock::duration::zero());  // only invalid records
      return;
    }
    std::string body = encode(out);
    while (body.size() > opt.batch_max_bytes && out.events.size() > 1) {
      limit_events = std::max<std::size_t>(1, out.events.size() / 2);
      peek(out);
      body = encode(out);
    }
    std::string compressed;
    std::string_view payload = body;
    std::string_view encoding;
    if (opt.gzip) {
      if (auto z = otlp_http::gzip_compress(body)) {
        compressed = std::move(*z);
        payload = compressed;
        encoding = "gzip";
      }
    }
    const auto sent_at = Clock::now();
    const otlp_http::HttpResponse r = client.post(payload, encoding, sent_at + opt.request_timeout);
    if (r.aborted) return;  // stopping: the events stay spooled
    if (r.ok && is_2xx(r.status)) {
      released(out, Clock::now() - sent_at);
      partially_rejected(out, r.body);
      return;
    }
    if (r.ok && (r.status == 400 || r.status == 413)) {
      refused(out, r.status);
      return;
    }
    if (r.ok && (r.status == 429 || r.status == 503) && !r.retry_after.empty()) {
      if (const auto wait = otlp_http::parse_retry_after(r.retry_after, std::chrono::system_clock::now())) {
        const auto capped = std::clamp<std::chrono::milliseconds>(*wait, opt.backoff_min, kMaxRetryAfter);
        retry_at = Clock::now() + capped;
        net_log.write(log::Level::warn, "collector export: HTTP " + std::to_string(r.status) +
                                            ", retrying in " + std::to_string(capped.count()) +
                                            " ms as the collector asked");
        std::lock_guard lock(mu);
        ++st.requests_failed;
        ++st.retries_after_hint;
        st.last_error = "HTTP " + std::to_string(r.status);
        return;
      }
    }
    const std::string what = r.ok ? "HTTP " + std::to_string(r.status) : r.error;
    if (r.ok && (r.status == 401 || r.status == 403)) {
      auth_log.write(log::Level::error, "collector export: the collector refused our credentials (" + what +
                                            "); retrying until the token or certificate is fixed");
    }
    fail(what, Clock::now(), !(r.ok && (r.status == 401 || r.status == 403)));
  }

  // A failed attempt that is retried after a backoff step.
  void fail(const std::string& what, Clock::time_point now, bool log_it = true) {
    const auto wait = backoff.next();
    retry_at = now + wait;
    if (log_it)
      net_log.write(log::Level::warn,
                    "collector export: " + what + "; retrying in " + std::to_string(wait.count()) + " ms");
    std::lock_guard lock(mu);
    ++st.requests_failed;
    st.last_error = what;
  }

  // The collector took the request: release the batch and account for what it carried.
  void released(const Outgoing& out, Clock::duration latency) {
    std::uint64_t pending_after = 0;
    {
      std::lock_guard lock(spool_mu);
      if (!out.batch.empty()) spool.ack(out.batch);
      pending_after = spool.stats().pending_records;
    }
    const bool request_sent = !out.events.empty() || out.has_extras();
    if (request_sent) {
      backoff.reset();
      retry_at = {};
      if (too_big != SIZE_MAX && Clock::now() - too_big_at > kTooBigMemory) too_big = SIZE_MAX;
      limit_events =
          std::max<std::size_t>(1, std::min({opt.batch_max_events, limit_events * 2, too_big - 1}));
      extras_suspended = false;
    }
    std::lock_guard lock(mu);
    st.invalid_records += out.invalid;
    if (!request_sent) return;
    st.events_sent += out.events.size();
    ++st.batches_sent;
    st.last_batch_latency_us =
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(latency).count());
    st.last_error.clear();
    if (!out.gaps.empty()) {
      gap.acknowledged(out.gaps);
      gap_dirty = true;
      st.gap_records_sent += out.gaps.size();
    }
    if (out.heartbeat) {
      ++st.heartbeats_sent;
      next_heartbeat = Clock::now() + opt.heartbeat_interval;
    }
    // A full batch means a backlog: keep going at once. Otherwise what is pending arrived meanwhile.
    const bool backlog = out.pending_at_peek > out.batch.records.size();
    if (pending_after == 0)
      oldest_pending.reset();
    else if (!backlog)
      oldest_pending = oldest_since_peek;
  }

  // A 2xx whose body says some spans were rejected for good: they are lost, so count and report them
  // (which ones is not said; the collector logs that).
  void partially_rejected(const Outgoing& out, const std::string& body) {
    std::string message;
    const std::size_t spans = out.events.size() + out.gaps.size() + (out.heartbeat ? 1 : 0);
    const std::uint64_t n = std::min<std::uint64_t>(rejected_spans(body, message), spans);
    if (n == 0) return;
    reject_log.write(log::Level::error,
                     "collector export: the collector rejected " + std::to_string(n) +
                         " spans of an accepted request" +
                         (message.empty() ? std::string() : ": " + message.substr(0, 200)));
    std::lock_guard lock(mu);
    st.rejected_events += n;
    gap.add(otlp_http::kGapRejected, n, unix_now_ns());
    gap_dirty = true;
  }

  // 400 or 413: the receiver cannot take this request as it is, and sending it again will not help.
  void refused(Outgoing& out, unsigned status) {
    const std::string what = "HTTP " + std::to_string(status);
    if (status == 413 && out.events.size() > 1) {
      too_big = std::min(too_big, out.events.size());
      too_big_at = Clock::now();
    }
    {
      std::lock_guard lock(mu);
      ++st.requests_failed;
      st.last_error = what;
    }
    if (!out.events.empty() && out.has_extras()) {
      // Leave the extras out until the batch has gone through: one of the events may be the cause.
      extras_suspended = true;
      limit_events = std::max<std::size_t>(1, out.events.size() / 2);
      return;
    }
    if (out.events.size() > 1) {
      limit_events = out.events.size() / 2;  // the first half goes alone next
      return;
    }
    if (out.events.size() == 1) {
      const std::string id = event_id_of(out.events.front());
      reject_log.write(log::Level::error, "collector export: the collector refused event " + id +
                                              " for good (" + what + "); dropped and reported as a gap");
      {
        std::lock_guard lock(spool_mu);
        spool.ack(out.batch);
      }
      std::lock_guard lock(mu);
      ++st.rejected_events;
      st.invalid_records += out.invalid;
      gap.add(otlp_http::kGapRejected, 1, unix_now_ns());
      gap_dirty = true;
      return;
    }
    // Only gap records and a heartbeat, and the collector will not take them: drop this heartbeat
    // (a fresh one comes at the next interval), keep the gap counts, and back off.
    reject_log.write(log::Level::error,
                     "collector export: the collector refused our gap/heartbeat records (" + what + ")");
    if (out.heartbeat) next_heartbeat = Clock::now() + opt.heartbeat_interval;
    retry_at = Clock::now() + backoff.next();
  }
};

Exporter::Exporter(ExporterOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Exporter::~Exporter() = default;

bool Exporter::enqueue(const nlohmann::json& event) { return impl_->enqueue(event); }
void Exporter::set_heartbeat(nlohmann::json attributes) { impl_->set_heartbeat(std::move(attributes)); }
void Exporter::flush() { impl_->flush(); }
void Exporter::stop(std::chrono::milliseconds grace) { impl_->stop(grace); }
ExporterStats Exporter::stats() const { return impl_->stats(); }

}  // namespace shadowmeter::exporting
