// Collector configuration: a YAML file (--config, layout in collector.example.yaml) with command-line
// flags taking precedence.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace shadowmeter::collector::config {

// A configuration mistake (unknown flag or key, bad value, contradicting settings): the collector
// prints it and exits with status 2.
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct CollectorConfig {
  std::string listen = ":4318";                                 // --listen ADDR:PORT
  std::string db = "sqlite:/var/lib/shadowmeter/collector.db";  // --db sqlite:PATH | postgresql://...

  // auth
  std::string auth_token_file;    // --auth-token-file: accepted bearer tokens, one per line
  bool insecure_no_auth = false;  // --insecure-no-auth: start without tokens or required client certs

  // tls
  std::string tls_cert_file;         // --tls-cert ("" = plain HTTP)
  std::string tls_key_file;          // --tls-key
  std::string tls_client_ca_file;    // --tls-client-ca: verify client certificates against these CAs
  bool require_client_cert = false;  // --require-client-cert

  // limits
  std::uint64_t max_body_bytes = 20ull << 20;  // --max-body-bytes (received and decompressed)
  std::uint32_t max_spans_per_request = 50000;
  std::uint32_t max_connections = 1024;
  std::uint32_t max_header_bytes = 16384;
  std::uint64_t max_inflight_body_bytes = 256ull << 20;
  std::uint32_t read_timeout_seconds = 30;
  std::uint32_t header_timeout_seconds = 10;
  std::uint32_t max_json_depth = 64;
  std::uint64_t max_decoded_body_bytes = 160ull << 20;
  std::uint32_t write_timeout_seconds = 30;

  // ingest
  std::uint32_t queue_high_water_events = 50000;  // --queue-high-water
  std::uint32_t retry_after_seconds = 2;

  // server threads
  std::uint32_t io_threads = 2;  // --io-threads
  std::uint32_t query_threads = 2;

  // retention
  std::uint32_t retention_days = 30;          // --retention-days: raw call rows
  std::uint32_t rollup_retention_days = 400;  // --rollup-retention-days: daily rollups
  std::uint32_t heartbeat_retention_days = 30;

  // logging
  std::string log_level = "info";  // --log-level debug|info|warn|error
};

// Parses argv (argv[0] is the program name) and the YAML file named by --config; flags override the
// file whatever their order. Throws ConfigError with a clear message for unknown flags or keys, bad
// values and contradicting settings (validate()). Returns nullopt when --help or --version was printed.
std::optional<CollectorConfig> parse_command_line(int argc, const char* const* argv);

// Applies the YAML file at `path` over `base`. Checks each key on its own; validate() checks across keys.
CollectorConfig load_yaml_file(const std::string& path, CollectorConfig base = {});

// Checks across settings: TLS files in pairs, client CA only with TLS, required client certs only with
// a client CA, authentication present unless insecure_no_auth, rollups kept at least as long as raw rows.
void validate(const CollectorConfig& config);

std::string usage_text();

}  // namespace shadowmeter::collector::config
