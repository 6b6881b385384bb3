// One usage event per AI API call, keyed by the attribute names of docs/events.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "attribution/process_info.h"
#include "providers/usage.h"

namespace shadowmeter::exporting {

struct UsageEvent {
  std::string event_id;                 // 32 hex chars, random
  std::uint64_t time_unix_nano = 0;
  std::uint64_t end_time_unix_nano = 0;
  std::string host_name;
  providers::CallInfo call;
  std::string server_address;
  std::uint16_t server_port = 0;
  std::string url_path;                 // path without query (query strings can carry keys)
  std::string http_method;
  int http_status = 0;                  // 0 when no response was seen
  std::string protocol_version;         // "1.1", "2"
  attribution::ProcessInfo process;
  std::string tls_library;              // "openssl", ...
  std::string visibility = "plaintext";
  // Connection-level events (visibility connection_only): why no usage, what the hello said, the
  // socket's peer, bytes and duration.
  std::string visibility_reason;        // shadowmeter.visibility.reason
  std::string tls_server_name;          // tls.client.server_name (SNI)
  std::string alpn;                     // shadowmeter.tls.alpn: offered protocols, comma-separated
  std::string server_name_source;       // shadowmeter.server.address.source: sni, dns, address
  std::string peer_address;             // network.peer.address
  std::uint16_t peer_port = 0;          // network.peer.port
  std::optional<std::uint64_t> conn_bytes_sent, conn_bytes_received, conn_duration_ns;
  std::string error_type;               // "" when none
  std::uint64_t process_start_unix_ns = 0;  // process.creation.time (0: unknown)
  // Where the caller runs and who owns it (empty when unknown).
  std::string container_id, container_runtime;
  std::string k8s_pod_uid, k8s_pod_name, k8s_namespace, k8s_container_name;
  std::string k8s_workload_kind, k8s_workload_name;  // e.g. Deployment / checkout
  std::string k8s_qos_class;            // guaranteed, burstable, besteffort (from the cgroup)
  std::string systemd_unit;
  std::string owner;                    // shadowmeter.owner: never empty once attributed
  std::string environment;              // deployment.environment
  std::optional<bool> shadow;           // shadowmeter.shadow
  std::string shadow_reason;
  std::string api_key_fingerprint;      // keyed fingerprint of the credential ("" when none was sent)
  std::string api_key_hint;             // its public prefix type, e.g. "sk-proj" ("" when unknown)
  std::optional<double> cost_usd;       // estimated list price; absent when the model is not priced
  std::string pricing_source;           // which price table entry produced cost_usd
};

// 128-bit random id as 32 lower-case hex chars (OpenSSL RAND_bytes).
std::string new_event_id();

// Replaces every occurrence of `secret` (the credential the call was seen to send) in every string
// field of the event by "***".
void scrub_strings(UsageEvent& e, std::string_view secret);

// Flat JSON object as printed by --stdout; absent optional fields are omitted. A connection_only
// event carries shadowmeter.connection.count = 1 and no usage source or stream flag.
nlohmann::json to_json(const UsageEvent& e);

}  // namespace shadowmeter::exporting
