// Flat records as the receiver hands them to the store: usage events shaped like the agent's
// exporting::to_json(), heartbeats and gaps.
#pragma once

#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "storage/store.h"

namespace shadowmeter::testing {

// A 32-hex event id, distinct per (series, n).
inline std::string event_id(unsigned series, unsigned n) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%08x%024x", series, n);
  return buf;
}

inline constexpr std::uint64_t kSecond = 1000000000ull;
inline constexpr std::uint64_t kDay = 86400ull * kSecond;
inline constexpr std::uint64_t kT0 = 1767225600ull * kSecond;  // 2026-01-01T00:00:00Z

inline nlohmann::json call_event(const std::string& id, std::uint64_t time,
                                 const nlohmann::json& overrides = {}) {
  nlohmann::json e = {
      {"shadowmeter.event_id", id},
      {"time_unix_nano", time},
      {"end_time_unix_nano", time + 2 * kSecond},
      {"host.name", "node-1"},
      {"gen_ai.provider.name", "openai"},
      {"gen_ai.operation.name", "chat"},
      {"gen_ai.request.model", "gpt-4o"},
      {"gen_ai.response.model", "gpt-4o-2024-08-06"},
      {"gen_ai.usage.input_tokens", 100},
      {"gen_ai.usage.output_tokens", 20},
      {"shadowmeter.usage.source", "response"},
      {"shadowmeter.stream", false},
      {"server.address", "api.openai.com"},
      {"server.port", 443},
      {"http.response.status_code", 200},
      {"process.pid", 4242},
      {"process.executable.name", "python3"},
      {"shadowmeter.tls.library", "openssl"},
      {"shadowmeter.visibility", "plaintext"},
      {"k8s.namespace.name", "team-a"},
      {"k8s.pod.name", "checkout-7d9f-abcde"},
      {"k8s.deployment.name", "checkout"},
      {"shadowmeter.owner", "payments"},
      {"shadowmeter.shadow", false},
      {"shadowmeter.api_key.fingerprint", "fp-aaaa"},
      {"shadowmeter.cost.usd", 0.5},
      {"shadowmeter.cost.pricing_source", "builtin:openai/gpt-4o"},
  };
  if (overrides.is_object()) {
    for (const auto& [k, v] : overrides.items()) {
      if (v.is_null()) {
        e.erase(k);  // null in overrides: the attribute is absent
      } else {
        e[k] = v;
      }
    }
  }
  return e;
}

inline nlohmann::json heartbeat(const std::string& id, std::uint64_t time, const std::string& host,
                                const std::string& version, std::uint64_t events_sent = 0) {
  return {{"shadowmeter.event_id", id},
          {"shadowmeter.record.type", "heartbeat"},
          {"time_unix_nano", time},
          {"end_time_unix_nano", time},
          {"host.name", host},
          {"shadowmeter.agent.version", version},
          {"shadowmeter.export.events_sent", events_sent}};
}

inline nlohmann::json gap(const std::string& id, std::uint64_t time, const std::string& host,
                          std::uint64_t dropped, const std::string& reason) {
  return {{"shadowmeter.event_id", id},
          {"shadowmeter.record.type", "gap"},
          {"time_unix_nano", time},
          {"end_time_unix_nano", time + kSecond},
          {"host.name", host},
          {"shadowmeter.gap.dropped_events", dropped},
          {"shadowmeter.gap.reason", reason}};
}

inline collector::IngestBatch batch_of(std::vector<nlohmann::json> calls, std::uint64_t received = kT0,
                                       std::string principal = "token:agents") {
  collector::IngestBatch b;
  b.calls = std::move(calls);
  b.received_unix_nano = received;
  b.principal = std::move(principal);
  return b;
}

}  // namespace shadowmeter::testing
