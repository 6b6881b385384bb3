// Command line and YAML file share one table of settings, so a setting has the same checks and the
// same error wording wherever it comes from. The YAML layout is documented in collector.example.yaml:
//
//   listen: ":4318"
//   db: "sqlite:/var/lib/shadowmeter/collector.db"
//   auth:      {token_file: "", insecure_no_auth: false}
//   tls:       {cert_file: "", key_file: "", client_ca_file: "", require_client_cert: false}
//   limits:    {max_body_bytes, max_spans_per_request, max_connections, max_header_bytes,
//               max_inflight_body_bytes, read_timeout_seconds, header_timeout_seconds,
//               write_timeout_seconds, max_json_depth, max_decoded_body_bytes}
//   ingest:    {queue_high_water_events, retry_after_seconds}
//   server:    {io_threads, query_threads}
//   retention: {raw_days, rollup_days, heartbeat_days}
//   log:       {level: info}
#include "config/collector_config.h"

#include <yaml-cpp/yaml.h>

#include "common/yaml_file.h"

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>
#include <string_view>
#include <vector>

#ifndef SHADOWMETER_VERSION
#define SHADOWMETER_VERSION "0.0.0"
#endif

namespace shadowmeter::collector::config {
namespace {

enum class Key {
  listen,
  db,
  auth_token_file,
  insecure_no_auth,
  tls_cert,
  tls_key,
  tls_client_ca,
  require_client_cert,
  max_body_bytes,
  max_spans,
  max_connections,
  max_header_bytes,
  max_inflight_body_bytes,
  read_timeout,
  header_timeout,
  max_json_depth,
  max_decoded_body_bytes,
  write_timeout,
  queue_high_water,
  retry_after,
  io_threads,
  query_threads,
  retention_days,
  rollup_retention_days,
  heartbeat_retention_days,
  log_level,
};

enum class Kind { text, flag_bool, number };

struct Setting {
  Key key;
  const char* section;  // "" = top level of the YAML file
  const char* yaml_name;
  const char* flag;  // nullptr = YAML only
  Kind kind;
};

constexpr Setting kSettings[] = {
    {Key::listen, "", "listen", "listen", Kind::text},
    {Key::db, "", "db", "db", Kind::text},
    {Key::auth_token_file, "auth", "token_file", "auth-token-file", Kind::text},
    {Key::insecure_no_auth, "auth", "insecure_no_auth", "insecure-no-auth", Kind::flag_bool},
    {Key::tls_cert, "tls", "cert_file", "tls-cert", Kind::text},
    {Key::tls_key, "tls", "key_file", "tls-key", Kind::text},
    {Key::tls_client_ca, "tls", "client_ca_file", "tls-client-ca", Kind::text},
    {Key::require_client_cert, "tls", "require_client_cert", "require-client-cert", Kind::flag_bool},
    {Key::max_body_bytes, "limits", "max_body_bytes", "max-body-bytes", Kind::number},
    {Key::max_spans, "limits", "max_spans_per_request", nullptr, Kind::number},
    {Key::max_connections, "limits", "max_connections", "max-connections", Kind::number},
    {Key::max_header_bytes, "limits", "max_header_bytes", nullptr, Kind::number},
    {Key::max_inflight_body_bytes, "limits", "max_inflight_body_bytes", nullptr, Kind::number},
    {Key::read_timeout, "limits", "read_timeout_seconds", nullptr, Kind::number},
    {Key::header_timeout, "limits", "header_timeout_seconds", nullptr, Kind::number},
    {Key::max_json_depth, "limits", "max_json_depth", nullptr, Kind::number},
    {Key::max_decoded_body_bytes, "limits", "max_decoded_body_bytes", nullptr, Kind::number},
    {Key::write_timeout, "limits", "write_timeout_seconds", nullptr, Kind::number},
    {Key::queue_high_water, "ingest", "queue_high_water_events", "queue-high-water", Kind::number},
    {Key::retry_after, "ingest", "retry_after_seconds", nullptr, Kind::number},
    {Key::io_threads, "server", "io_threads", "io-threads", Kind::number},
    {Key::query_threads, "server", "query_threads", nullptr, Kind::number},
    {Key::retention_days, "retention", "raw_days", "retention-days", Kind::number},
    {Key::rollup_retention_days, "retention", "rollup_days", "rollup-retention-days", Kind::number},
    {Key::heartbeat_retention_days, "retention", "heartbeat_days", nullptr, Kind::number},
    {Key::log_level, "log", "level", "log-level", Kind::text},
};

constexpr const char* kSections[] = {"auth", "tls", "limits", "ingest", "server", "retention", "log"};

constexpr std::uint32_t kMaxDays = 36500;

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw ConfigError(where + ": " + what);
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

std::uint32_t in_range(const std::string& where, std::string_view v, std::uint64_t lo, std::uint64_t hi) {
  const std::uint64_t n = parse_u64(where, v);
  if (n < lo || n > hi)
    fail(where,
         "must be from " + std::to_string(lo) + " to " + std::to_string(hi) + ", got " + std::string(v));
  return static_cast<std::uint32_t>(n);
}

std::uint64_t at_least(const std::string& where, std::string_view v, std::uint64_t lo) {
  const std::uint64_t n = parse_u64(where, v);
  if (n < lo) fail(where, "must be at least " + std::to_string(lo) + ", got " + std::string(v));
  return n;
}

bool parse_bool(const std::string& where, std::string_view v) {
  if (v == "true" || v == "True" || v == "TRUE") return true;
  if (v == "false" || v == "False" || v == "FALSE") return false;
  fail(where, "must be true or false, got '" + std::string(v) + "'");
}

// A light check so that a typo is refused before anything binds; the server does the full parse.
void check_listen(const std::string& where, const std::string& v) {
  if (v.empty()) fail(where, "needs ADDR:PORT (':4318' for all addresses)");
  const auto colon = v.rfind(':');
  if (colon == std::string::npos) fail(where, "'" + v + "' is not ADDR:PORT (':PORT' for all addresses)");
  const std::string_view port = std::string_view(v).substr(colon + 1);
  unsigned n = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
  if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || n > 65535)
    fail(where, "'" + v + "' has no port from 0 to 65535 after the last ':'");
  if (v.find(':') != colon && v.front() != '[')
    fail(where, "'" + v + "': IPv6 addresses need brackets, as in [::1]:4318");
}

// The URL itself may hold a password: messages name the scheme only.
void check_db(const std::string& where, const std::string& v) {
  if (v.rfind("sqlite:", 0) == 0) {
    if (v.size() == 7) fail(where, "sqlite: needs a path, as in sqlite:/var/lib/shadowmeter/collector.db");
    return;
  }
  if (v.rfind("postgresql://", 0) == 0 || v.rfind("postgres://", 0) == 0) return;
  fail(where, "must be sqlite:PATH or a postgresql:// URL");
}

std::string parse_log_level(const std::string& where, const std::string& v) {
  if (v == "debug" || v == "info" || v == "warn" || v == "error") return v;
  if (v == "warning") return "warn";
  fail(where, "unknown log level '" + v + "' (debug, info, warn or error)");
}

void apply(CollectorConfig& c, Key key, const std::string& where, const std::string& v) {
  switch (key) {
    case Key::listen:
      check_listen(where, v);
      c.listen = v;
      break;
    case Key::db:
      check_db(where, v);
      c.db = v;
      break;
    case Key::auth_token_file:
      c.auth_token_file = v;
      break;
    case Key::insecure_no_auth:
      c.insecure_no_auth = parse_bool(where, v);
      break;
    case Key::tls_cert:
      c.tls_cert_file = v;
      break;
    case Key::tls_key:
      c.tls_key_file = v;
      break;
    case Key::tls_client_ca:
      c.tls_client_ca_file = v;
      break;
    case Key::require_client_cert:
      c.require_client_cert = parse_bool(where, v);
      break;
    case Key::max_body_bytes:
      // At least 1 KiB (a useful request), at most 1 GiB (one request must stay affordable).
      c.max_body_bytes = at_least(where, v, 1024);
      if (c.max_body_bytes > (1ull << 30)) fail(where, "must be at most 1073741824 (1 GiB), got " + v);
      break;
    case Key::max_spans:
      c.max_spans_per_request = in_range(where, v, 1, 10000000);
      break;
    case Key::max_connections:
      c.max_connections = in_range(where, v, 1, 1000000);
      break;
    case Key::max_header_bytes:
      c.max_header_bytes = in_range(where, v, 1024, 1u << 20);
      break;
    case Key::max_inflight_body_bytes:
      c.max_inflight_body_bytes = at_least(where, v, 1024);
      break;
    case Key::read_timeout:
      c.read_timeout_seconds = in_range(where, v, 1, 3600);
      break;
    case Key::header_timeout:
      c.header_timeout_seconds = in_range(where, v, 1, 3600);
      break;
    case Key::max_json_depth:
      c.max_json_depth = in_range(where, v, 16, 1000);
      break;
    case Key::max_decoded_body_bytes:
      c.max_decoded_body_bytes = at_least(where, v, 1u << 20);
      break;
    case Key::write_timeout:
      c.write_timeout_seconds = in_range(where, v, 1, 3600);
      break;
    case Key::queue_high_water:
      c.queue_high_water_events = in_range(where, v, 1, 100000000);
      break;
    case Key::retry_after:
      c.retry_after_seconds = in_range(where, v, 1, 3600);
      break;
    case Key::io_threads:
      c.io_threads = in_range(where, v, 1, 256);
      break;
    case Key::query_threads:
      c.query_threads = in_range(where, v, 1, 256);
      break;
    case Key::retention_days:
      c.retention_days = in_range(where, v, 1, kMaxDays);
      break;
    case Key::rollup_retention_days:
      c.rollup_retention_days = in_range(where, v, 1, kMaxDays);
      break;
    case Key::heartbeat_retention_days:
      c.heartbeat_retention_days = in_range(where, v, 1, kMaxDays);
      break;
    case Key::log_level:
      c.log_level = parse_log_level(where, v);
      break;
  }
}

std::string at(const std::string& file, const YAML::Node& n) {
  return file + ":" + std::to_string(n.Mark().line + 1);
}

void apply_yaml_map(CollectorConfig& c, const std::string& file, const YAML::Node& map,
                    const std::string& section) {
  std::set<std::string> seen;
  for (const auto& kv : map) {
    const std::string key = kv.first.Scalar();
    const std::string path = section.empty() ? key : section + "." + key;
    const std::string where = at(file, kv.first) + ": " + path;
    if (!seen.insert(key).second) fail(where, "duplicate key");
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
    const YAML::Node& v = kv.second;
    if (v.IsNull()) {
      // An empty value leaves a text setting empty, which each documents as "not set".
      if (found->kind == Kind::text && found->key != Key::listen && found->key != Key::db &&
          found->key != Key::log_level)
        apply(c, found->key, where, "");
      else
        fail(where, "needs a value");
      continue;
    }
    if (!v.IsScalar()) fail(where, "expected a single value, not a list or mapping");
    apply(c, found->key, where, v.Scalar());
  }
}

bool starts_with_dashes(const char* arg) { return std::strncmp(arg, "--", 2) == 0; }

}  // namespace

CollectorConfig load_yaml_file(const std::string& path, CollectorConfig base) {
  const YAML::Node root = read_yaml_file<ConfigError>(path);
  if (root.IsNull()) return base;  // an empty file (or only comments) keeps the defaults
  if (!root.IsMap()) fail(at(path, root), "expected a mapping of settings at the top level");
  apply_yaml_map(base, path, root, "");
  return base;
}

void validate(const CollectorConfig& c) {
  if (c.tls_cert_file.empty() != c.tls_key_file.empty())
    throw ConfigError("--tls-cert and --tls-key (tls.cert_file, tls.key_file) go together");
  if (!c.tls_client_ca_file.empty() && c.tls_cert_file.empty())
    throw ConfigError("--tls-client-ca needs TLS: give --tls-cert and --tls-key too");
  if (c.require_client_cert && c.tls_client_ca_file.empty())
    throw ConfigError(
        "--require-client-cert needs --tls-client-ca (the CA client certificates must chain to)");
  if (c.auth_token_file.empty() && !c.require_client_cert && !c.insecure_no_auth)
    throw ConfigError(
        "no authentication configured: give --auth-token-file and/or --tls-client-ca with "
        "--require-client-cert, or start with --insecure-no-auth to accept anyone");
  if (c.rollup_retention_days < c.retention_days)
    throw ConfigError("retention.rollup_days (" + std::to_string(c.rollup_retention_days) +
                      ") must be at least retention.raw_days (" + std::to_string(c.retention_days) +
                      "): the reports read the rollups, which must outlive the raw rows");
  if (c.max_inflight_body_bytes < c.max_body_bytes)
    throw ConfigError("limits.max_inflight_body_bytes (" + std::to_string(c.max_inflight_body_bytes) +
                      ") must be at least max_body_bytes (" + std::to_string(c.max_body_bytes) + ")");
}

std::optional<CollectorConfig> parse_command_line(int argc, const char* const* argv) {
  // --help and --version win wherever they appear, so they work on any half-typed command line.
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0) {
      std::fputs(usage_text().c_str(), stdout);
      return std::nullopt;
    }
  }
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--version") == 0) {
      std::fputs("shadowmeter-collector " SHADOWMETER_VERSION "\n", stdout);
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
      throw ConfigError("unexpected argument '" + arg + "' (see --help)");
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
      if (name == "help" || name == "version") throw ConfigError(flag + " takes no value");
      throw ConfigError("unknown flag '" + flag + "' (see --help)");
    }
    if (setting && setting->kind == Kind::flag_bool) {
      given.push_back({setting, flag, value.value_or("true")});
      continue;
    }
    if (!value) {
      // A following flag is more likely a forgotten value than a value that starts with "--".
      if (i + 1 >= argc || starts_with_dashes(argv[i + 1])) throw ConfigError(flag + " needs a value");
      value = argv[++i];
    }
    if (is_config) {
      if (value->empty()) throw ConfigError("--config needs a file name");
      config_file = *value;
    } else {
      given.push_back({setting, flag, *value});
    }
  }

  CollectorConfig cfg = config_file ? load_yaml_file(*config_file) : CollectorConfig{};
  for (const Given& g : given) apply(cfg, g.setting->key, g.flag, g.value);
  validate(cfg);
  return cfg;
}

std::string usage_text() {
  return "Usage: shadowmeter-collector [FLAGS]\n"
         "\n"
         "Receives usage events from shadowmeter agents (OTLP/HTTP JSON on POST /v1/traces), stores them\n"
         "(SQLite or PostgreSQL) and answers the query API under /api/v1/. Also serves /metrics (open, no\n"
         "token), /healthz and /readyz. Flags override the settings of the --config file, whatever their "
         "order.\n"
         "\n"
         "  --config FILE               YAML settings (see collector.example.yaml)\n"
         "  --listen ADDR:PORT          where to listen (\"0.0.0.0:4318\", \"[::1]:4318\", \":4318\" = all\n"
         "                              addresses); default: :4318\n"
         "  --db URL                    sqlite:PATH or postgresql://USER@HOST/DB;\n"
         "                              default: sqlite:/var/lib/shadowmeter/collector.db\n"
         "  --auth-token-file FILE      accepted bearer tokens, one per line ('#' comments); they guard\n"
         "                              /v1/traces and /api/v1/\n"
         "  --tls-cert FILE             serve HTTPS with this PEM certificate chain (with --tls-key)\n"
         "  --tls-key FILE              the certificate's PEM private key\n"
         "  --tls-client-ca FILE        verify client certificates against these PEM CAs (mTLS)\n"
         "  --require-client-cert       refuse TLS clients without a valid certificate\n"
         "  --insecure-no-auth          start without tokens or required client certificates: anyone who\n"
         "                              can connect may send and read data\n"
         "  --max-body-bytes N          request body limit, compressed and decompressed; default: 20971520\n"
         "  --max-connections N         connections at once; default: 1024\n"
         "  --queue-high-water N        events waiting for the store before 503 + Retry-After; default: "
         "50000\n"
         "  --io-threads N              threads serving connections; default: 2\n"
         "  --retention-days N          keep raw call rows this many days (the rollups keep their sums); default: 30\n"
         "  --rollup-retention-days N   keep hourly and daily rollups this many days; default: 400\n"
         "  --log-level LEVEL           debug, info, warn or error; default: info\n"
         "  --help                      print this text and exit\n"
         "  --version                   print the version and exit\n"
         "\n"
         "Flags take their value as '--flag VALUE' or '--flag=VALUE'; --insecure-no-auth and\n"
         "--require-client-cert also take '=false'. Configuration errors exit with status 2.\n";
}

}  // namespace shadowmeter::collector::config
