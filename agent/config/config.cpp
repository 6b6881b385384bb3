// Command line and YAML file share one table of settings, so a setting has the same checks and the
// same error wording wherever it comes from. The YAML layout is documented in agent.example.yaml:
//
//   output:  {stdout: false, collector: "", collector_token_file: ""}
//   export:  {ca_file, client_cert_file, client_key_file, server_name, spool_dir, spool_max_bytes,
//             spool_fsync, batch_max_events, batch_max_delay_ms, request_timeout_ms, backoff_min_ms,
//             backoff_max_ms, heartbeat_seconds, gzip, allow_insecure_http}
//   listen: ""
//   host_name: ""
//   catalog: ""
//   capture: {ringbuf_bytes: 16777216, max_body_bytes: 8388608, max_decoded_bytes: 67108864,
//             max_total_buffer_bytes: 268435456, max_connections: 65536, connection_idle_seconds: 300}
//   attach:  {rescan_seconds: 30, detach_grace_seconds: 60, go_tls: true}
//   log:     {level: info}
//   providers: [{provider: NAME, format: openai, hosts: [HOST, "HOST:PORT"]}]
//   pricing: {file: "", azure_deployments: {DEPLOYMENT: MODEL}}
//   credentials: {fingerprint_secret_file: /var/lib/shadowmeter/fingerprint.key}
//   attribution: {command_line: redacted}
//   kubernetes: {enabled: auto, kubeconfig: "", node_name: ""}
//   unit_economics: [{name: feature, header: x-feature | field: metadata.feature,
//                     kind: dimension | tag, sensitive: false}]
//   owner: {...}, policy: {...}  (see agent/policy/policy.example.yaml)
#include "config/config.h"

#include <yaml-cpp/yaml.h>

#include "common/yaml_file.h"

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <stdexcept>
#include <string_view>

#ifndef SHADOWMETER_VERSION
#define SHADOWMETER_VERSION "0.0.0"
#endif

namespace shadowmeter::config {
namespace {

enum class Key {
  stdout_events,
  collector,
  collector_token_file,
  export_ca_file,
  export_client_cert_file,
  export_client_key_file,
  export_server_name,
  export_spool_dir,
  export_spool_max_bytes,
  export_spool_fsync,
  export_batch_max_events,
  export_batch_max_delay_ms,
  export_request_timeout_ms,
  export_backoff_min_ms,
  export_backoff_max_ms,
  export_heartbeat_seconds,
  export_gzip,
  export_allow_insecure_http,
  listen,
  host_name,
  catalog,
  ringbuf_bytes,
  max_body_bytes,
  max_decoded_bytes,
  max_total_buffer_bytes,
  max_connections,
  connection_idle_seconds,
  rescan_seconds,
  detach_grace_seconds,
  go_tls,
  log_level,
  prices,
  fingerprint_secret_file,
  command_line,
  kubernetes,
  kubeconfig,
  node_name,
};

struct Setting {
  Key key;
  const char* section;  // "" = top level of the YAML file
  const char* yaml_name;
  const char* flag;  // nullptr = YAML only
};

constexpr Setting kSettings[] = {
    {Key::stdout_events, "output", "stdout", "stdout"},
    {Key::collector, "output", "collector", "collector"},
    {Key::collector_token_file, "output", "collector_token_file", "collector-token-file"},
    {Key::export_ca_file, "export", "ca_file", "collector-ca-file"},
    {Key::export_client_cert_file, "export", "client_cert_file", "collector-cert-file"},
    {Key::export_client_key_file, "export", "client_key_file", "collector-key-file"},
    {Key::export_server_name, "export", "server_name", nullptr},
    {Key::export_spool_dir, "export", "spool_dir", "spool-dir"},
    {Key::export_spool_max_bytes, "export", "spool_max_bytes", "spool-max-bytes"},
    {Key::export_spool_fsync, "export", "spool_fsync", nullptr},
    {Key::export_batch_max_events, "export", "batch_max_events", nullptr},
    {Key::export_batch_max_delay_ms, "export", "batch_max_delay_ms", nullptr},
    {Key::export_request_timeout_ms, "export", "request_timeout_ms", nullptr},
    {Key::export_backoff_min_ms, "export", "backoff_min_ms", nullptr},
    {Key::export_backoff_max_ms, "export", "backoff_max_ms", nullptr},
    {Key::export_heartbeat_seconds, "export", "heartbeat_seconds", "heartbeat-seconds"},
    {Key::export_gzip, "export", "gzip", nullptr},
    {Key::export_allow_insecure_http, "export", "allow_insecure_http", nullptr},
    {Key::listen, "", "listen", "listen"},
    {Key::host_name, "", "host_name", "host-name"},
    {Key::catalog, "", "catalog", "catalog"},
    {Key::ringbuf_bytes, "capture", "ringbuf_bytes", "ringbuf-bytes"},
    {Key::max_body_bytes, "capture", "max_body_bytes", "max-body-bytes"},
    {Key::max_decoded_bytes, "capture", "max_decoded_bytes", nullptr},
    {Key::max_total_buffer_bytes, "capture", "max_total_buffer_bytes", nullptr},
    {Key::max_connections, "capture", "max_connections", nullptr},
    {Key::connection_idle_seconds, "capture", "connection_idle_seconds", nullptr},
    {Key::rescan_seconds, "attach", "rescan_seconds", nullptr},
    {Key::detach_grace_seconds, "attach", "detach_grace_seconds", nullptr},
    {Key::go_tls, "attach", "go_tls", nullptr},
    {Key::log_level, "log", "level", "log-level"},
    {Key::prices, "pricing", "file", "prices"},
    {Key::fingerprint_secret_file, "credentials", "fingerprint_secret_file", "fingerprint-secret-file"},
    {Key::command_line, "attribution", "command_line", "command-line"},
    {Key::kubernetes, "kubernetes", "enabled", "kubernetes"},
    {Key::kubeconfig, "kubernetes", "kubeconfig", "kubeconfig"},
    {Key::node_name, "kubernetes", "node_name", "node-name"},
};

constexpr const char* kSections[] = {"output", "export", "capture", "attach", "log", "pricing", "credentials", "attribution", "kubernetes"};
constexpr const char* kFormats[] = {"openai", "anthropic", "gemini", "bedrock", "cohere", "ollama"};

// Smallest ring buffer that still holds a few maximum-size records (16 KiB payload each).
constexpr std::uint64_t kMinRingbufBytes = 65536;

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw std::runtime_error(where + ": " + what);
}

std::uint64_t parse_u64(const std::string& where, std::string_view v) {
  if (v.empty()) fail(where, "needs a number");
  if (v.front() == '-') fail(where, "must not be negative, got '" + std::string(v) + "'");
  std::uint64_t out = 0;
  const char* end = v.data() + v.size();
  auto [ptr, ec] = std::from_chars(v.data(), end, out);
  if (ec == std::errc::result_out_of_range) fail(where, "'" + std::string(v) + "' is too large");
  if (ec != std::errc() || ptr != end) fail(where, "'" + std::string(v) + "' is not a whole number");
  return out;
}

std::uint32_t parse_u32(const std::string& where, std::string_view v) {
  const std::uint64_t n = parse_u64(where, v);
  if (n > std::numeric_limits<std::uint32_t>::max())
    fail(where, "'" + std::string(v) + "' is too large (at most 4294967295)");
  return static_cast<std::uint32_t>(n);
}

template <typename T>
T positive(const std::string& where, T n) {
  if (n == 0) fail(where, "must be greater than 0");
  return n;
}

bool parse_bool(const std::string& where, std::string_view v) {
  if (v == "true" || v == "True" || v == "TRUE") return true;
  if (v == "false" || v == "False" || v == "FALSE") return false;
  fail(where, "must be true or false, got '" + std::string(v) + "'");
}

// A light check so that `check` and start-up reject a typo before anything binds; the HTTP server
// does the full parse.
void check_listen(const std::string& where, const std::string& v) {
  if (v.empty()) return;
  const auto colon = v.rfind(':');
  if (colon == std::string::npos) fail(where, "'" + v + "' is not ADDR:PORT (':PORT' for all addresses)");
  const std::string_view port = std::string_view(v).substr(colon + 1);
  unsigned n = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
  if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || n > 65535)
    fail(where, "'" + v + "' has no port from 0 to 65535 after the last ':'");
  if (v.find(':') != colon && v.front() != '[')
    fail(where, "'" + v + "': IPv6 addresses need brackets, as in [::1]:9464");
}

void check_url(const std::string& where, const std::string& v) {
  if (v.empty() || v.rfind("http://", 0) == 0 || v.rfind("https://", 0) == 0) return;
  fail(where, "'" + v + "' is not an http:// or https:// URL");
}

std::string parse_log_level(const std::string& where, const std::string& v) {
  if (v == "debug" || v == "info" || v == "warn" || v == "error") return v;
  if (v == "warning") return "warn";
  fail(where, "unknown log level '" + v + "' (debug, info, warn or error)");
}

void apply(AgentConfig& c, Key key, const std::string& where, const std::string& v) {
  switch (key) {
    case Key::stdout_events:
      c.stdout_events = parse_bool(where, v);
      break;
    case Key::collector:
      check_url(where, v);
      c.collector_url = v;
      break;
    case Key::collector_token_file:
      c.collector_token_file = v;
      break;
    case Key::export_ca_file:
      c.exporting.ca_file = v;
      break;
    case Key::export_client_cert_file:
      c.exporting.client_cert_file = v;
      break;
    case Key::export_client_key_file:
      c.exporting.client_key_file = v;
      break;
    case Key::export_server_name:
      c.exporting.server_name = v;
      break;
    case Key::export_spool_dir:
      if (v.empty()) fail(where, "needs a directory");
      c.exporting.spool_dir = v;
      break;
    case Key::export_spool_max_bytes: {
      const std::uint64_t n = parse_u64(where, v);
      if (n < (1u << 16)) fail(where, "must be at least 65536, got " + v);
      c.exporting.spool_max_bytes = n;
      break;
    }
    case Key::export_spool_fsync:
      if (v != "every_append" && v != "on_flush" && v != "never")
        fail(where, "must be every_append, on_flush or never, got '" + v + "'");
      c.exporting.spool_fsync = v;
      break;
    case Key::export_batch_max_events:
      c.exporting.batch_max_events = positive(where, parse_u32(where, v));
      break;
    case Key::export_batch_max_delay_ms:
      c.exporting.batch_max_delay_ms = parse_u32(where, v);
      break;
    case Key::export_request_timeout_ms:
      c.exporting.request_timeout_ms = positive(where, parse_u32(where, v));
      break;
    case Key::export_backoff_min_ms:
      c.exporting.backoff_min_ms = positive(where, parse_u32(where, v));
      break;
    case Key::export_backoff_max_ms:
      c.exporting.backoff_max_ms = positive(where, parse_u32(where, v));
      break;
    case Key::export_heartbeat_seconds:
      c.exporting.heartbeat_seconds = positive(where, parse_u32(where, v));
      break;
    case Key::export_gzip:
      c.exporting.gzip = parse_bool(where, v);
      break;
    case Key::export_allow_insecure_http:
      c.exporting.allow_insecure_http = parse_bool(where, v);
      break;
    case Key::listen:
      check_listen(where, v);
      c.listen = v;
      break;
    case Key::host_name:
      c.host_name = v;
      break;
    case Key::catalog:
      c.catalog_path = v;
      break;
    case Key::ringbuf_bytes: {
      const std::uint32_t n = parse_u32(where, v);
      // The kernel wants a power-of-two, page-aligned size.
      if (n < kMinRingbufBytes || (n & (n - 1)) != 0)
        fail(where, "must be a power of two of at least 65536, got " + v);
      c.ringbuf_bytes = n;
      break;
    }
    case Key::max_body_bytes:
      c.max_body_bytes = positive(where, parse_u64(where, v));
      break;
    case Key::max_decoded_bytes:
      c.max_decoded_bytes = positive(where, parse_u64(where, v));
      break;
    case Key::max_total_buffer_bytes:
      c.max_total_buffer_bytes = positive(where, parse_u64(where, v));
      break;
    case Key::max_connections:
      c.max_connections = positive(where, parse_u32(where, v));
      break;
    case Key::connection_idle_seconds:
      c.connection_idle_seconds = positive(where, parse_u32(where, v));
      break;
    case Key::rescan_seconds:
      c.rescan_seconds = positive(where, parse_u32(where, v));
      break;
    case Key::detach_grace_seconds:
      c.detach_grace_seconds = parse_u32(where, v);
      break;
    case Key::go_tls:
      c.go_tls = parse_bool(where, v);
      break;
    case Key::log_level:
      c.log_level = parse_log_level(where, v);
      break;
    case Key::prices:
      c.prices_path = v;
      break;
    case Key::fingerprint_secret_file:
      if (v.empty()) fail(where, "needs a file path");
      c.fingerprint_secret_file = v;
      break;
    case Key::command_line:
      if (v != "full" && v != "redacted" && v != "executable")
        fail(where, "must be full, redacted or executable, got '" + v + "'");
      c.command_line = v;
      break;
    case Key::kubernetes:
      if (v != "auto" && v != "true" && v != "false") fail(where, "must be auto, true or false, got '" + v + "'");
      c.kubernetes = v;
      break;
    case Key::kubeconfig:
      c.kubeconfig = v;
      break;
    case Key::node_name:
      c.node_name = v;
      break;
  }
}

std::string at(const std::string& file, const YAML::Node& n);

void apply_providers(AgentConfig& c, const std::string& file, const YAML::Node& list) {
  if (list.IsNull()) return;
  if (!list.IsSequence()) fail(at(file, list) + ": providers", "expected a list of {provider, format, hosts}");
  for (const YAML::Node& n : list) {
    const std::string where = at(file, n) + ": providers";
    if (!n.IsMap()) fail(where, "each entry is a mapping {provider, format, hosts}");
    ExtraProvider p;
    for (const auto& kv : n) {
      const std::string k = kv.first.Scalar();
      if (k == "provider" && kv.second.IsScalar()) {
        p.provider = kv.second.Scalar();
      } else if (k == "format" && kv.second.IsScalar()) {
        p.format = kv.second.Scalar();
      } else if (k == "hosts" && kv.second.IsSequence()) {
        for (const auto& h : kv.second) {
          if (!h.IsScalar() || h.Scalar().empty()) fail(where + ".hosts", "expected host names");
          p.hosts.push_back(h.Scalar());
        }
      } else {
        fail(where + "." + k, "unknown key or wrong type (provider: text, format: text, hosts: list)");
      }
    }
    if (p.provider.empty()) fail(where, "needs a provider name");
    if (p.hosts.empty()) fail(where, "needs at least one host");
    bool known = false;
    for (const char* f : kFormats) known = known || p.format == f;
    if (!known) fail(where + ".format", "'" + p.format + "' is not one of openai, anthropic, gemini, bedrock, cohere, ollama");
    c.extra_providers.push_back(std::move(p));
  }
}

void apply_azure_deployments(AgentConfig& c, const std::string& where, const YAML::Node& map) {
  if (map.IsNull()) return;
  if (!map.IsMap()) fail(where, "expected a mapping of deployment name to model name");
  for (const auto& kv : map) {
    if (!kv.second.IsScalar() || kv.second.Scalar().empty())
      fail(where + "." + kv.first.Scalar(), "expected a model name");
    c.azure_deployments.emplace_back(kv.first.Scalar(), kv.second.Scalar());
  }
}

void apply_unit_economics(AgentConfig& c, const std::string& file, const YAML::Node& list) {
  const std::string section = at(file, list) + ": unit_economics";
  if (list.IsNull()) return;
  if (!list.IsSequence()) fail(section, "expected a list of {name, header | field, kind, sensitive}");
  std::vector<dimensions::Rule> rules;
  for (const YAML::Node& n : list) {
    const std::string where = at(file, n) + ": unit_economics";
    if (!n.IsMap()) fail(where, "each entry is a mapping {name, header | field, kind, sensitive}");
    dimensions::Rule r;
    std::set<std::string> seen;
    for (const auto& kv : n) {
      const std::string k = kv.first.Scalar();
      if (!seen.insert(k).second) fail(where + "." + k, "duplicate key");
      if (!kv.second.IsScalar()) fail(where + "." + k, "expected a single value");
      const std::string v = kv.second.Scalar();
      if (k == "name") {
        r.name = v;
      } else if (k == "header") {
        if (v.empty()) fail(where + ".header", "needs a header name");
        r.header = v;
        for (char& ch : r.header) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      } else if (k == "field") {
        if (v.empty()) fail(where + ".field", "needs a body field path");
        r.field = v;
      } else if (k == "kind") {
        if (v != "dimension" && v != "tag") fail(where + ".kind", "must be dimension or tag, got '" + v + "'");
        r.kind = v == "tag" ? dimensions::Kind::tag : dimensions::Kind::dimension;
      } else if (k == "sensitive") {
        r.sensitive = parse_bool(where + ".sensitive", v);
      } else {
        fail(where + "." + k, "unknown key (name, header, field, kind, sensitive)");
      }
    }
    rules.push_back(std::move(r));
  }
  dimensions::check_rules(rules, section);
  c.unit_economics = std::move(rules);
}

bool is_string_key(Key k) {
  return k == Key::collector || k == Key::collector_token_file || k == Key::export_ca_file ||
         k == Key::export_client_cert_file || k == Key::export_client_key_file || k == Key::export_server_name ||
         k == Key::listen || k == Key::host_name ||
         k == Key::catalog || k == Key::prices || k == Key::kubeconfig || k == Key::node_name;
}

std::string at(const std::string& file, const YAML::Node& n) {
  return file + ":" + std::to_string(n.Mark().line + 1);
}

void apply_yaml_value(AgentConfig& c, const Setting& s, const std::string& where, const YAML::Node& v) {
  if (v.IsNull()) {
    // An empty value leaves a text setting empty, which each documents as "not set".
    if (is_string_key(s.key)) return apply(c, s.key, where, "");
    fail(where, "needs a value");
  }
  if (!v.IsScalar()) fail(where, "expected a single value, not a list or mapping");
  apply(c, s.key, where, v.Scalar());
}

void apply_yaml_map(AgentConfig& c, const std::string& file, const YAML::Node& map,
                    const std::string& section) {
  std::set<std::string> seen;
  for (const auto& kv : map) {
    const std::string key = kv.first.Scalar();
    const std::string path = section.empty() ? key : section + "." + key;
    const std::string where = at(file, kv.first) + ": " + path;
    if (!seen.insert(key).second) fail(where, "duplicate key");
    if (section.empty() && key == "providers") {
      apply_providers(c, file, kv.second);
      continue;
    }
    if (section.empty() && key == "unit_economics") {
      apply_unit_economics(c, file, kv.second);
      continue;
    }
    if (section.empty() && key == "owner") {
      c.owner = policy::parse_owner_config(kv.second, at(file, kv.first) + ": owner");
      continue;
    }
    if (section.empty() && key == "policy") {
      c.policy = policy::parse_policy_config(kv.second, at(file, kv.first) + ": policy");
      continue;
    }
    if (section == "pricing" && key == "azure_deployments") {
      apply_azure_deployments(c, where, kv.second);
      continue;
    }
    if (section.empty()) {
      bool is_section = false;
      for (const char* sec : kSections) is_section = is_section || key == sec;
      if (is_section) {
        if (kv.second.IsNull()) continue;
        if (!kv.second.IsMap()) fail(where, "expected a mapping of settings");
        apply_yaml_map(c, file, kv.second, key);
        continue;
      }
    }
    const Setting* found = nullptr;
    for (const Setting& s : kSettings)
      if (section == s.section && key == s.yaml_name) found = &s;
    if (!found) fail(where, "unknown key");
    apply_yaml_value(c, *found, where, kv.second);
  }
}

bool starts_with_dashes(const char* arg) { return std::strncmp(arg, "--", 2) == 0; }

}  // namespace

AgentConfig load_yaml_file(const std::string& path, AgentConfig base) {
  const YAML::Node root = read_yaml_file<std::runtime_error>(path);
  if (root.IsNull()) return base;  // an empty file (or only comments) keeps the defaults
  if (!root.IsMap()) fail(at(path, root), "expected a mapping of settings at the top level");
  apply_yaml_map(base, path, root, "");
  return base;
}

namespace {

// Loopback hosts of an http(s):// URL: a token sent to them in clear text stays on this machine.
bool is_loopback_url(const std::string& url) {
  const auto scheme_end = url.find("://");
  std::string rest = url.substr(scheme_end == std::string::npos ? 0 : scheme_end + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  std::string host;
  if (!rest.empty() && rest.front() == '[') {
    host = rest.substr(1, rest.find(']') == std::string::npos ? std::string::npos : rest.find(']') - 1);
  } else {
    host = rest.substr(0, rest.find(':'));
  }
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

}  // namespace

void validate(const AgentConfig& c) {
  const AgentConfig::Export& x = c.exporting;
  if (x.client_cert_file.empty() != x.client_key_file.empty())
    throw std::runtime_error("export.client_cert_file and export.client_key_file go together (mTLS)");
  if (x.backoff_min_ms > x.backoff_max_ms)
    throw std::runtime_error("export.backoff_min_ms must not exceed export.backoff_max_ms");
  if (c.collector_url.rfind("http://", 0) == 0 && !x.allow_insecure_http && !is_loopback_url(c.collector_url))
    throw std::runtime_error("--collector " + c.collector_url +
                             ": plain http:// to another host would send events and the token in clear text; "
                             "use https:// or set export.allow_insecure_http: true");
  if (c.max_total_buffer_bytes < c.max_body_bytes)
    throw std::runtime_error("capture.max_total_buffer_bytes (" + std::to_string(c.max_total_buffer_bytes) +
                             ") must be at least max_body_bytes (" + std::to_string(c.max_body_bytes) +
                             "): one message must fit in the total budget");
}

std::optional<AgentConfig> parse_command_line(int argc, const char* const* argv) {
  // --help and --version win wherever they appear, so they work on any half-typed command line.
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0) {
      std::fputs(usage_text().c_str(), stdout);
      return std::nullopt;
    }
  }
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--version") == 0) {
      std::fputs("shadowmeter-agent " SHADOWMETER_VERSION "\n", stdout);
      return std::nullopt;
    }
  }

  struct Given {
    const Setting* setting;
    std::string flag;
    std::string value;
  };
  std::vector<Given> given;
  std::optional<std::string> config_file;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (!starts_with_dashes(argv[i]) || arg.size() == 2)
      throw std::runtime_error("unexpected argument '" + arg + "' (see --help)");
    const auto eq = arg.find('=');
    const std::string name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    const std::string flag = "--" + name;
    std::optional<std::string> value;
    if (eq != std::string::npos) value = arg.substr(eq + 1);

    const Setting* setting = nullptr;
    for (const Setting& s : kSettings)
      if (s.flag && name == s.flag) setting = &s;
    const bool is_config = name == "config";
    if (!setting && !is_config) {
      if (name == "help" || name == "version") throw std::runtime_error(flag + " takes no value");
      throw std::runtime_error("unknown flag '" + flag + "' (see --help)");
    }

    if (setting && setting->key == Key::stdout_events) {
      given.push_back({setting, flag, value.value_or("true")});
      continue;
    }
    if (!value) {
      // A following flag is more likely a forgotten value than a value that starts with "--".
      if (i + 1 >= argc || starts_with_dashes(argv[i + 1])) throw std::runtime_error(flag + " needs a value");
      value = argv[++i];
    }
    if (is_config) {
      if (value->empty()) throw std::runtime_error("--config needs a file name");
      config_file = *value;
    } else {
      given.push_back({setting, flag, *value});
    }
  }

  AgentConfig cfg = config_file ? load_yaml_file(*config_file) : AgentConfig{};
  for (const Given& g : given) apply(cfg, g.setting->key, g.flag, g.value);
  validate(cfg);
  return cfg;
}

std::string usage_text() {
  return "Usage: shadowmeter-agent [FLAGS]\n"
         "       shadowmeter-agent check [FLAGS]   preflight: this host's kernel features, capabilities,\n"
         "                                         PID namespace and the collector (OK/FAIL per line)\n"
         "\n"
         "Meters AI API calls on this host by reading TLS plaintext with eBPF uprobes.\n"
         "Flags override the settings of the --config file, whatever their order.\n"
         "\n"
         "  --config FILE                YAML settings (see agent.example.yaml)\n"
         "  --stdout                     print one JSON object per observed AI call to stdout\n"
         "                               (--stdout=false turns it off when the file turns it on)\n"
         "  --collector URL              OTLP/HTTP endpoint of the collector (http:// or https://)\n"
         "  --collector-token-file FILE  file holding the bearer token sent to the collector\n"
         "  --collector-ca-file FILE     CA certificate(s) the collector's certificate must chain to\n"
         "  --collector-cert-file FILE   client certificate for mTLS (with --collector-key-file FILE)\n"
         "  --spool-dir DIR              on-disk spool of events not yet acknowledged by the collector\n"
         "                               (default /var/lib/shadowmeter/spool)\n"
         "  --spool-max-bytes N          spool size bound; beyond it events are dropped and counted\n"
         "  --heartbeat-seconds N        agent heartbeat to the collector every N seconds (default 60)\n"
         "  --listen ADDR:PORT           serve /metrics, /healthz, /readyz (\"127.0.0.1:9464\", "
         "\"[::1]:9464\",\n"
         "                               \":9464\" = all addresses); default: no HTTP endpoint\n"
         "  --catalog FILE               AI provider catalog; default: the installed catalog.yaml\n"
         "  --prices FILE                LiteLLM-format price table layered over the built-in prices\n"
         "  --fingerprint-secret-file F  secret keying API-key fingerprints (created 0600 if absent)\n"
         "  --command-line full|redacted|executable  process.command_line of events: every argument,\n"
         "                               prompts and bodies as <N chars> (default), or argv[0] only;\n"
         "                               credentials are redacted in every mode\n"
         "  --kubernetes auto|true|false pod metadata from the Kubernetes API (auto: when in a cluster)\n"
         "  --kubeconfig FILE            use this kubeconfig instead of the in-cluster service account\n"
         "  --node-name NAME             this node's name (default: $NODE_NAME, else the host name)\n"
         "  --host-name NAME             host.name of every event; default: the system host name\n"
         "  --log-level LEVEL            debug, info, warn or error; default: info\n"
         "  --ringbuf-bytes N            BPF ring buffer size, a power of two >= 65536; default: 16777216\n"
         "  --max-body-bytes N           bytes kept per HTTP message; default: 8388608\n"
         "  --help                       print this text and exit\n"
         "  --version                    print the version and exit\n"
         "\n"
         "Flags take their value as '--flag VALUE' or '--flag=VALUE'.\n";
}

}  // namespace shadowmeter::config
