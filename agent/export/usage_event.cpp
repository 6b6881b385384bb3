#include "export/usage_event.h"

#include <cstdio>
#include <ctime>

#include <openssl/rand.h>

#include <array>
#include <atomic>
#include <chrono>
#include <random>

#include "redaction/secrets.h"

namespace shadowmeter::exporting {
namespace {

std::string hex(const unsigned char* p, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s(n * 2, '0');
  for (std::size_t i = 0; i < n; ++i) {
    s[2 * i] = kDigits[p[i] >> 4];
    s[2 * i + 1] = kDigits[p[i] & 0x0F];
  }
  return s;
}

// Only if OpenSSL's generator fails (it can, e.g. before the kernel pool is ready): ids must still
// be unique, since the collector dedupes on them, but need not be unguessable.
void fallback_bytes(std::array<unsigned char, 16>& b) {
  static std::atomic<std::uint64_t> counter{0};
  std::random_device rd;
  std::uint64_t words[2] = {
      (static_cast<std::uint64_t>(rd()) << 32) ^ rd() ^
          static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()),
      (static_cast<std::uint64_t>(rd()) << 32) ^ counter.fetch_add(1, std::memory_order_relaxed)};
  for (std::size_t i = 0; i < 16; ++i) b[i] = static_cast<unsigned char>(words[i / 8] >> (8 * (i % 8)));
}

// "2026-11-23T10:15:30.123Z" (UTC, milliseconds), as OTel's process.creation.time.
std::string rfc3339(std::uint64_t unix_ns) {
  const std::time_t secs = static_cast<std::time_t>(unix_ns / 1000000000ull);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  const std::size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof(buf) - n, ".%03uZ", static_cast<unsigned>((unix_ns / 1000000ull) % 1000));
  return buf;
}

void put_string(nlohmann::json& j, const std::string& key, const std::string& v) {
  if (!v.empty()) j[key] = v;
}

template <typename T>
void put_optional(nlohmann::json& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = *v;
}

}  // namespace

std::string new_event_id() {
  std::array<unsigned char, 16> b{};
  if (RAND_bytes(b.data(), static_cast<int>(b.size())) != 1) fallback_bytes(b);
  return hex(b.data(), b.size());
}

nlohmann::json to_json(const UsageEvent& e) {
  nlohmann::json j = nlohmann::json::object();
  const providers::CallInfo& c = e.call;
  const attribution::ProcessInfo& p = e.process;
  const bool connection_only = e.visibility == "connection_only";

  j["shadowmeter.event_id"] = e.event_id;
  j["time_unix_nano"] = e.time_unix_nano;
  j["end_time_unix_nano"] = e.end_time_unix_nano;
  j["host.name"] = e.host_name;
  j["gen_ai.provider.name"] = c.provider;
  put_string(j, "gen_ai.operation.name", c.operation);
  put_string(j, "gen_ai.request.model", c.request_model);
  put_string(j, "gen_ai.response.model", c.response_model);
  put_string(j, "gen_ai.response.id", c.response_id);
  put_optional(j, "gen_ai.usage.input_tokens", c.usage.input_tokens);
  put_optional(j, "gen_ai.usage.output_tokens", c.usage.output_tokens);
  put_optional(j, "gen_ai.usage.cache_read.input_tokens", c.usage.cache_read_input_tokens);
  put_optional(j, "gen_ai.usage.cache_write.input_tokens", c.usage.cache_write_input_tokens);
  put_optional(j, "gen_ai.usage.reasoning.output_tokens", c.usage.reasoning_output_tokens);
  if (connection_only) {
    // One connection whose bytes could not be read: nothing is known of its calls (how many, streamed
    // or not, their usage), so nothing is said about them.
    j["shadowmeter.connection.count"] = 1;
  } else {
    j["shadowmeter.usage.source"] = providers::to_string(c.usage.source);
    j["shadowmeter.stream"] = c.stream;
  }
  put_string(j, "server.address", e.server_address);
  if (e.server_port != 0) j["server.port"] = e.server_port;
  put_string(j, "url.path", e.url_path);
  put_string(j, "http.request.method", e.http_method);
  if (e.http_status != 0) j["http.response.status_code"] = e.http_status;
  put_string(j, "network.protocol.version", e.protocol_version);
  j["process.pid"] = p.pid;
  if (p.ppid > 0) j["process.parent_pid"] = p.ppid;
  if (e.process_start_unix_ns) j["process.creation.time"] = rfc3339(e.process_start_unix_ns);
  put_string(j, "process.executable.name", p.executable_name);
  put_string(j, "process.executable.path", p.executable_path);
  put_string(j, "process.command_line", p.command_line);
  put_string(j, "process.owner", p.owner);
  put_string(j, "shadowmeter.tls.library", e.tls_library);
  j["shadowmeter.visibility"] = e.visibility;
  put_string(j, "shadowmeter.visibility.reason", e.visibility_reason);
  put_string(j, "tls.client.server_name", e.tls_server_name);
  put_string(j, "shadowmeter.tls.alpn", e.alpn);
  put_string(j, "shadowmeter.server.address.source", e.server_name_source);
  put_string(j, "network.peer.address", e.peer_address);
  if (e.peer_port != 0) j["network.peer.port"] = e.peer_port;
  put_optional(j, "shadowmeter.connection.bytes_sent", e.conn_bytes_sent);
  put_optional(j, "shadowmeter.connection.bytes_received", e.conn_bytes_received);
  put_optional(j, "shadowmeter.connection.duration_ns", e.conn_duration_ns);
  put_string(j, "container.id", e.container_id);
  put_string(j, "container.runtime", e.container_runtime);
  put_string(j, "k8s.pod.uid", e.k8s_pod_uid);
  put_string(j, "k8s.pod.name", e.k8s_pod_name);
  put_string(j, "k8s.namespace.name", e.k8s_namespace);
  put_string(j, "k8s.container.name", e.k8s_container_name);
  put_string(j, "shadowmeter.k8s.qos_class", e.k8s_qos_class);
  if (!e.k8s_workload_kind.empty() && !e.k8s_workload_name.empty()) {
    // OTel names the workload by kind: k8s.deployment.name, k8s.statefulset.name, k8s.cronjob.name, ...
    std::string kind = e.k8s_workload_kind;
    for (char& ch : kind) ch = static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
    put_string(j, "k8s." + kind + ".name", e.k8s_workload_name);
  }
  put_string(j, "shadowmeter.systemd.unit", e.systemd_unit);
  put_string(j, "shadowmeter.owner", e.owner);
  put_string(j, "deployment.environment", e.environment);
  if (e.shadow) {
    j["shadowmeter.shadow"] = *e.shadow;
    put_string(j, "shadowmeter.shadow.reason", e.shadow_reason);
  }
  put_string(j, "shadowmeter.api_key.fingerprint", e.api_key_fingerprint);
  put_string(j, "shadowmeter.api_key.hint", e.api_key_hint);
  put_string(j, "error.type", e.error_type.empty() ? c.error_type : e.error_type);
  if (e.cost_usd) {
    j["shadowmeter.cost.usd"] = *e.cost_usd;
    put_string(j, "shadowmeter.cost.pricing_source", e.pricing_source);
  }
  // Provider attributes never replace the schema's own keys.
  for (const auto& [k, v] : c.attributes) {
    if (!k.empty() && !v.empty() && !j.contains(k)) j[k] = v;
  }
  return j;
}

void scrub_strings(UsageEvent& e, std::string_view secret) {
  attribution::ProcessInfo& p = e.process;
  providers::CallInfo& c = e.call;
  for (std::string* s : {&e.host_name, &c.provider, &c.operation, &c.request_model, &c.response_model,
                         &c.response_id, &c.error_type, &e.server_address, &e.url_path, &e.http_method,
                         &e.protocol_version, &p.executable_name, &p.executable_path, &p.command_line, &p.owner,
                         &e.tls_library, &e.visibility_reason, &e.tls_server_name, &e.alpn, &e.error_type,
                         &e.container_id, &e.k8s_pod_uid, &e.k8s_pod_name, &e.k8s_namespace, &e.k8s_container_name,
                         &e.k8s_workload_kind, &e.k8s_workload_name, &e.systemd_unit, &e.owner, &e.environment,
                         &e.shadow_reason, &e.pricing_source})
    redaction::scrub_exact(*s, secret);
  for (auto& [k, v] : c.attributes) redaction::scrub_exact(v, secret);
}

}  // namespace shadowmeter::exporting
