// Agent configuration: YAML file (--config) with command-line flags taking precedence.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dimensions/rules.h"
#include "policy/policy.h"

namespace shadowmeter::config {

// An AI endpoint added to the catalog from the config (a company gateway, a self-hosted vLLM).
struct ExtraProvider {
  std::string provider;            // gen_ai.provider.name
  std::string format;              // wire format module: openai, anthropic, gemini, bedrock, cohere, ollama
  std::vector<std::string> hosts;  // catalog host patterns; "host:port" for one service on a host
};

struct AgentConfig {
  // output
  bool stdout_events = false;               // --stdout
  std::string collector_url;                // --collector: OTLP/HTTP endpoint ("" = no export)
  std::string collector_token_file;         // --collector-token-file
  std::string listen;                       // --listen ADDR:PORT ("" = no HTTP endpoint)
  std::string host_name;                    // host.name; default: gethostname()

  // export to the collector (export: section)
  struct Export {
    std::string ca_file;                    // CA(s) the collector's certificate must chain to ("" = system)
    std::string client_cert_file;           // mTLS client certificate and key ("" = none)
    std::string client_key_file;
    std::string server_name;                // name to verify in the collector's certificate ("" = URL host)
    std::string spool_dir = "/var/lib/shadowmeter/spool";
    std::uint64_t spool_max_bytes = 256ull << 20;
    std::string spool_fsync = "on_flush";   // every_append | on_flush | never
    std::uint32_t batch_max_events = 512;
    std::uint32_t batch_max_delay_ms = 1000;
    std::uint32_t request_timeout_ms = 10000;
    std::uint32_t backoff_min_ms = 1000;
    std::uint32_t backoff_max_ms = 60000;
    std::uint32_t heartbeat_seconds = 60;
    bool gzip = true;
    bool allow_insecure_http = false;       // http:// to a host other than loopback (token in clear)
  } exporting;

  // catalog
  std::string catalog_path;                 // default: installed share dir, else the source tree copy
  std::vector<ExtraProvider> extra_providers;  // providers: [...], layered over the catalog

  // pricing
  std::string prices_path;                  // LiteLLM-format price table layered over the built-in one
  std::vector<std::pair<std::string, std::string>> azure_deployments;  // deployment -> model

  // capture
  std::uint32_t ringbuf_bytes = 16u << 20;  // BPF ring buffer size (power of two)
  std::uint32_t chunk_bytes = 16384;        // max payload bytes per ring-buffer record (fixed in BPF)
  std::uint64_t max_body_bytes = 8ull << 20;       // per HTTP message kept for providers
  std::uint64_t max_decoded_bytes = 64ull << 20;   // decompression bound per message
  std::uint64_t max_total_buffer_bytes = 256ull << 20;  // all connections together
  std::uint32_t max_connections = 65536;
  std::uint32_t connection_idle_seconds = 300;
  std::uint32_t rescan_seconds = 30;         // full /proc rescan for dlopen'ed libraries
  std::uint32_t detach_grace_seconds = 60;   // keep an unused file attached this long
  bool go_tls = true;                         // attach the Go tap to Go executables

  // credentials: the per-installation secret that keys API-key fingerprints (share it across the
  // fleet, e.g. as a mounted Secret, so fingerprints match on every node)
  std::string fingerprint_secret_file = "/var/lib/shadowmeter/fingerprint.key";

  // attribution: what process.command_line keeps (full | redacted | executable); credentials are
  // redacted in every mode, prompts and request bodies in all but full
  std::string command_line = "redacted";

  // unit economics: request headers and body fields recorded as shadowmeter.dimension.<name> /
  // shadowmeter.tag.<name> (unit_economics: section; none by default)
  std::vector<dimensions::Rule> unit_economics;

  // ownership and shadow-AI policy (owner:, policy: sections)
  policy::OwnerConfig owner;
  policy::PolicyConfig policy;

  // Kubernetes pod metadata
  std::string kubernetes = "auto";          // auto (in a cluster), true (required), false
  std::string kubeconfig;                   // path; "" = in-cluster service account
  std::string node_name;                    // this node; "" = $NODE_NAME, else the host name

  // logging
  std::string log_level = "info";            // debug|info|warn|error
};

// Parses argv and the YAML file named by --config; flags override the file whatever their order.
// argv is as main() received it, minus any sub-command: argv[0] is the program name and is skipped,
// the flags start at argv[1]. Throws std::runtime_error with a clear message for unknown flags/keys
// or bad values. Returns nullopt when --help or --version was printed to stdout.
std::optional<AgentConfig> parse_command_line(int argc, const char* const* argv);

// Applies the YAML file at `path` over `base` (layout: agent/config/agent.example.yaml). Checks each
// key on its own; the checks across keys are left to validate(), so flags can still fix them.
AgentConfig load_yaml_file(const std::string& path, AgentConfig base = {});

// Checks that involve several settings; parse_command_line() calls it on its result.
void validate(const AgentConfig& config);

std::string usage_text();

}  // namespace shadowmeter::config
