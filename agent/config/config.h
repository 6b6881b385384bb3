// Agent configuration: YAML file (--config) with command-line flags taking precedence.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace shadowmeter::config {

struct AgentConfig {
  // output
  bool stdout_events = false;               // --stdout
  std::string collector_url;                // --collector (export comes in a later issue)
  std::string collector_token_file;         // --collector-token-file
  std::string listen;                       // --listen ADDR:PORT ("" = no HTTP endpoint)
  std::string host_name;                    // host.name; default: gethostname()

  // catalog
  std::string catalog_path;                 // default: installed share dir, else the source tree copy

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

  // logging
  std::string log_level = "info";            // debug|info|warn|error
};

// Parses argv (after the program name and an optional sub-command) and the YAML file named by
// --config. Throws std::runtime_error with a clear message for unknown flags/keys or bad values.
// Returns nullopt when --help or --version was printed.
std::optional<AgentConfig> parse_command_line(int argc, const char* const* argv);

AgentConfig load_yaml_file(const std::string& path, AgentConfig base = {});

std::string usage_text();

}  // namespace shadowmeter::config
