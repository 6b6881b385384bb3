// Shared by the exporter tests: a temporary spool directory, options with tiny delays, events with
// known ids, and views of what the test server received.
#pragma once

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "export/otlp_http/exporter.h"
#include "otlp_http/test_server.h"
#include "temp_file.h"

namespace shadowmeter::testing {


inline exporting::ExporterOptions fast_options(const std::string& url, const TempDir& dir) {
  exporting::ExporterOptions o;
  o.url = url;
  o.batch_max_events = 8;
  o.batch_max_delay = std::chrono::milliseconds(10);
  o.request_timeout = std::chrono::milliseconds(3000);
  o.backoff_min = std::chrono::milliseconds(5);
  o.backoff_max = std::chrono::milliseconds(40);
  o.heartbeat_interval = std::chrono::milliseconds(0);  // off unless a test wants them
  o.spool.dir = dir.file("spool");
  o.spool.fsync = exporting::FsyncPolicy::never;
  o.resource.host_name = "node-7";
  o.resource.service_version = "1.2.3";
  return o;
}

// 32 hex chars, distinct per n.
inline std::string test_id(int n) {
  char buf[33];
  std::snprintf(buf, sizeof(buf), "%032x", n + 1);
  return buf;
}

inline nlohmann::json test_event(int n) {
  return {{"shadowmeter.event_id", test_id(n)},
          {"time_unix_nano", 1700000000000000000ull + static_cast<unsigned long long>(n)},
          {"end_time_unix_nano", 1700000000000000100ull + static_cast<unsigned long long>(n)},
          {"host.name", "node-7"},
          {"gen_ai.provider.name", "openai"},
          {"gen_ai.operation.name", "chat"},
          {"gen_ai.request.model", "gpt-4o"},
          {"gen_ai.usage.input_tokens", n}};
}

inline std::string record_type(const nlohmann::json& e) {
  const auto it = e.find("shadowmeter.record.type");
  return it != e.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Accepted usage events (not gap or heartbeat records): how often each id arrived.
inline std::map<std::string, int> accepted_event_ids(const TestServer& s) {
  std::map<std::string, int> out;
  for (const auto& e : s.accepted())
    if (record_type(e).empty()) ++out[e.value("shadowmeter.event_id", std::string())];
  return out;
}

inline std::vector<nlohmann::json> accepted_of_type(const TestServer& s, const std::string& type) {
  std::vector<nlohmann::json> out;
  for (const auto& e : s.accepted())
    if (record_type(e) == type) out.push_back(e);
  return out;
}

// Every id in [from, to) arrived, and nothing else.
inline bool all_delivered(const TestServer& s, int from, int to) {
  const auto ids = accepted_event_ids(s);
  if (ids.size() != static_cast<std::size_t>(to - from)) return false;
  for (int i = from; i < to; ++i)
    if (ids.count(test_id(i)) == 0) return false;
  return true;
}

inline std::uint64_t spool_pending(const exporting::Exporter& e) { return e.stats().spool.pending_records; }

}  // namespace shadowmeter::testing
