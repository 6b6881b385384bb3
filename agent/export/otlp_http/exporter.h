// Ships usage events to the collector (or any OTLP/HTTP JSON receiver): every event is first appended
// to the on-disk spool (export/spool), then a sender thread sends the oldest unacknowledged events in
// batches (POST {url}, gzip, bearer token, TLS with a pinned CA and optional client certificate,
// keep-alive) and releases them from the spool only after a 2xx. It retries forever with jittered
// exponential backoff, honouring Retry-After on 429/503. Events the spool had to refuse are counted
// and reported to the collector as gap records once it is reachable; a heartbeat record carries the
// agent's health counters.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "export/otlp_json.h"
#include "export/spool/spool.h"

namespace shadowmeter::exporting {

struct ExporterOptions {
  std::string url;                 // "https://collector:4318/v1/traces" or "http://..." (http only when allowed);
                                   // without a path, "/v1/traces". The config decides whether http is allowed.
  std::string bearer_token;        // "" = no Authorization header
  std::string ca_file;             // PEM CA(s) the collector's certificate must chain to; "" = system store
  std::string client_cert_file;    // PEM client certificate for mTLS ("" = none); needs client_key_file
  std::string client_key_file;
  std::string server_name;         // TLS SNI / certificate name to verify; "" = the URL's host
  bool gzip = true;
  std::size_t batch_max_events = 512;
  std::size_t batch_max_bytes = 4u << 20;            // uncompressed OTLP body, before gzip
  std::chrono::milliseconds batch_max_delay{1000};   // an event waits at most this long for a fuller batch
  std::chrono::milliseconds request_timeout{10000};  // connect + TLS + write + read of one request
  std::chrono::milliseconds backoff_min{1000};
  std::chrono::milliseconds backoff_max{60000};
  std::chrono::milliseconds heartbeat_interval{60000};  // <= 0: no heartbeats
  SpoolOptions spool;              // spool.dir is required
  OtlpResource resource;           // host.name, service.version
};

struct ExporterStats {
  std::uint64_t events_sent = 0;         // events acknowledged by the collector
  std::uint64_t batches_sent = 0;        // requests acknowledged (one with only gap/heartbeat records too)
  std::uint64_t requests_failed = 0;     // any failed attempt (network, TLS, timeout, non-2xx)
  std::uint64_t retries_after_hint = 0;  // waits that followed a Retry-After
  std::uint64_t rejected_events = 0;     // events the collector refused for good (400 for a lone
                                         // event, or 413 for a lone event, or rejectedSpans in an OTLP
                                         // partialSuccess): dropped, counted, gap-reported
  std::uint64_t dropped_spool_full = 0;  // events not spooled (full or too long): counted, gap-reported
  std::uint64_t gap_records_sent = 0;
  std::uint64_t heartbeats_sent = 0;
  std::uint64_t last_batch_latency_us = 0;
  std::uint64_t pending_gap_events = 0;  // dropped events not yet reported to the collector
  std::uint64_t invalid_records = 0;     // spooled records that were not a JSON object: skipped, released
  SpoolStats spool;
  std::string last_error;                // "" after a success
};

class Exporter {
 public:
  // Opens the spool (recovering what an earlier run left: those events are sent first) and starts the
  // sender thread. Throws std::runtime_error when the URL, certificates or spool directory are unusable.
  explicit Exporter(ExporterOptions options);
  // Stops the sender: an in-flight request is given up to `stop()`'s grace, events stay in the spool.
  ~Exporter();
  Exporter(const Exporter&) = delete;
  Exporter& operator=(const Exporter&) = delete;

  // Appends one flat event (exporting::to_json) to the spool. False when the spool refused it (the
  // drop is counted and later reported as a gap record). Thread-safe; never blocks on the network.
  bool enqueue(const nlohmann::json& event);

  // The attributes of the next heartbeat record (the agent's counters); the exporter adds the record
  // type, event id, times and its own spool/export counters. Thread-safe.
  void set_heartbeat(nlohmann::json attributes);

  // Makes spooled events durable (fsync policy) and wakes the sender. Thread-safe.
  void flush();

  // Gives the sender up to `grace` to send what is spooled, then stops it. Idempotent.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));

  ExporterStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace shadowmeter::exporting
