// Collector configuration: flags, the YAML file, flags overriding the file, the checks across settings,
// and clear errors for unknown or bad flags and keys. The shipped example must equal the defaults.
#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <string>
#include <vector>

#include "config/collector_config.h"

using namespace shadowmeter::collector::config;

namespace {

class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    char name[] = "/tmp/smc_config_XXXXXX";
    const int fd = mkstemp(name);
    REQUIRE(fd >= 0);
    close(fd);
    path_ = name;
    std::ofstream(path_) << content;
  }
  ~TempFile() { unlink(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

CollectorConfig parse(std::vector<std::string> args) {
  args.insert(args.begin(), "shadowmeter-collector");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  auto cfg = parse_command_line(static_cast<int>(argv.size()), argv.data());
  REQUIRE(cfg);
  return *cfg;
}

}  // namespace

TEST_CASE("flags set the settings") {
  const CollectorConfig c = parse({"--listen",
                                   "127.0.0.1:9000",
                                   "--db=postgresql://u:pw@db/shadow",
                                   "--auth-token-file",
                                   "/etc/t",
                                   "--tls-cert",
                                   "c.pem",
                                   "--tls-key",
                                   "k.pem",
                                   "--tls-client-ca",
                                   "ca.pem",
                                   "--require-client-cert",
                                   "--max-body-bytes",
                                   "1048576",
                                   "--queue-high-water",
                                   "1000",
                                   "--retention-days",
                                   "7",
                                   "--rollup-retention-days",
                                   "90",
                                   "--log-level",
                                   "warning",
                                   "--io-threads",
                                   "4"});
  CHECK(c.listen == "127.0.0.1:9000");
  CHECK(c.db == "postgresql://u:pw@db/shadow");
  CHECK(c.auth_token_file == "/etc/t");
  CHECK(c.tls_cert_file == "c.pem");
  CHECK(c.tls_key_file == "k.pem");
  CHECK(c.tls_client_ca_file == "ca.pem");
  CHECK(c.require_client_cert);
  CHECK(c.max_body_bytes == 1048576);
  CHECK(c.queue_high_water_events == 1000);
  CHECK(c.retention_days == 7);
  CHECK(c.rollup_retention_days == 90);
  CHECK(c.log_level == "warn");
  CHECK(c.io_threads == 4);
}

TEST_CASE("the YAML file sets the settings and flags override it whatever their order") {
  TempFile f(
      "listen: \"[::1]:4444\"\n"
      "db: sqlite:/tmp/a.db\n"
      "auth:\n  token_file: /etc/tokens\n"
      "limits:\n  max_body_bytes: 2048\n  max_connections: 10\n  max_spans_per_request: 99\n"
      "ingest: {queue_high_water_events: 123, retry_after_seconds: 5}\n"
      "server: {io_threads: 3, query_threads: 1}\n"
      "retention: {raw_days: 10, rollup_days: 20, heartbeat_days: 3}\n"
      "log: {level: debug}\n");
  const CollectorConfig file_only = parse({"--config", f.path()});
  CHECK(file_only.listen == "[::1]:4444");
  CHECK(file_only.db == "sqlite:/tmp/a.db");
  CHECK(file_only.auth_token_file == "/etc/tokens");
  CHECK(file_only.max_body_bytes == 2048);
  CHECK(file_only.max_connections == 10);
  CHECK(file_only.max_spans_per_request == 99);
  CHECK(file_only.queue_high_water_events == 123);
  CHECK(file_only.retry_after_seconds == 5);
  CHECK(file_only.io_threads == 3);
  CHECK(file_only.query_threads == 1);
  CHECK(file_only.retention_days == 10);
  CHECK(file_only.rollup_retention_days == 20);
  CHECK(file_only.heartbeat_retention_days == 3);
  CHECK(file_only.log_level == "debug");

  const CollectorConfig before = parse({"--listen", ":1", "--retention-days=15", "--config", f.path()});
  const CollectorConfig after = parse({"--config", f.path(), "--listen", ":1", "--retention-days=15"});
  for (const CollectorConfig& c : {before, after}) {
    CHECK(c.listen == ":1");
    CHECK(c.retention_days == 15);
    CHECK(c.max_body_bytes == 2048);  // untouched by flags
  }
}

TEST_CASE("boolean flags take =false to undo the file") {
  TempFile f("auth: {insecure_no_auth: true}\n");
  CHECK(parse({"--config", f.path()}).insecure_no_auth);
  CHECK_THROWS_WITH(parse({"--config", f.path(), "--insecure-no-auth=false"}),
                    Catch::Contains("no authentication configured"));
}

TEST_CASE("unknown flags and keys are errors") {
  CHECK_THROWS_AS(parse({"--auth-token-file", "t", "--bogus"}), ConfigError);
  CHECK_THROWS_WITH(parse({"--bogus", "1"}), Catch::Contains("unknown flag '--bogus'"));
  CHECK_THROWS_WITH(parse({"stray"}), Catch::Contains("unexpected argument"));
  CHECK_THROWS_WITH(parse({"--listen"}), Catch::Contains("--listen needs a value"));
  CHECK_THROWS_WITH(parse({"--listen", "--db", "sqlite:/x"}), Catch::Contains("--listen needs a value"));
  TempFile unknown_top("auth: {token_file: t}\nlisten_addr: \":1\"\n");
  CHECK_THROWS_WITH(parse({"--config", unknown_top.path()}), Catch::Contains(":2: listen_addr: unknown key"));
  TempFile unknown_nested("auth:\n  token_file: t\n  tokens: x\n");
  CHECK_THROWS_WITH(parse({"--config", unknown_nested.path()}),
                    Catch::Contains(":3: auth.tokens: unknown key"));
  TempFile duplicate("auth: {token_file: t}\nlisten: \":1\"\nlisten: \":2\"\n");
  CHECK_THROWS_WITH(parse({"--config", duplicate.path()}), Catch::Contains("duplicate key"));
  TempFile not_yaml("auth: [unclosed\n");
  CHECK_THROWS_WITH(parse({"--config", not_yaml.path()}), Catch::Contains("not valid YAML"));
  CHECK_THROWS_WITH(parse({"--config", "/nonexistent/collector.yaml"}),
                    Catch::Contains("cannot read config file"));
}

TEST_CASE("bad values are errors naming the setting") {
  const std::string t = "--auth-token-file=t";
  CHECK_THROWS_WITH(parse({t, "--listen", "4318"}), Catch::Contains("--listen"));
  CHECK_THROWS_WITH(parse({t, "--listen", "::1:4318"}), Catch::Contains("brackets"));
  CHECK_THROWS_WITH(parse({t, "--db", "mysql://x"}), Catch::Contains("sqlite:PATH or a postgresql:// URL"));
  CHECK_THROWS_WITH(parse({t, "--db", "sqlite:"}), Catch::Contains("needs a path"));
  CHECK_THROWS_WITH(parse({t, "--max-body-bytes", "-1"}), Catch::Contains("negative"));
  CHECK_THROWS_WITH(parse({t, "--max-body-bytes", "12k"}), Catch::Contains("not a whole number"));
  CHECK_THROWS_WITH(parse({t, "--max-body-bytes", "2000000000"}), Catch::Contains("at most"));
  CHECK_THROWS_WITH(parse({t, "--queue-high-water", "0"}), Catch::Contains("--queue-high-water"));
  CHECK_THROWS_WITH(parse({t, "--retention-days", "0"}), Catch::Contains("--retention-days"));
  CHECK_THROWS_WITH(parse({t, "--log-level", "loud"}), Catch::Contains("unknown log level"));
  CHECK_THROWS_WITH(parse({t, "--require-client-cert=maybe"}), Catch::Contains("true or false"));
  TempFile list_value("auth: {token_file: t}\nlimits: {max_connections: [1, 2]}\n");
  CHECK_THROWS_WITH(parse({"--config", list_value.path()}), Catch::Contains("limits.max_connections"));
}

TEST_CASE("checks across settings") {
  CHECK_THROWS_WITH(parse({}), Catch::Contains("no authentication configured"));
  CHECK(parse({"--insecure-no-auth"}).insecure_no_auth);
  const std::string t = "--auth-token-file=t";
  CHECK_THROWS_WITH(parse({t, "--tls-cert", "c.pem"}), Catch::Contains("go together"));
  CHECK_THROWS_WITH(parse({t, "--tls-key", "k.pem"}), Catch::Contains("go together"));
  CHECK_THROWS_WITH(parse({t, "--tls-client-ca", "ca.pem"}), Catch::Contains("needs TLS"));
  CHECK_THROWS_WITH(parse({"--tls-cert", "c", "--tls-key", "k", "--require-client-cert"}),
                    Catch::Contains("needs --tls-client-ca"));
  // Client certificates alone are authentication enough.
  CHECK(parse({"--tls-cert", "c", "--tls-key", "k", "--tls-client-ca", "ca", "--require-client-cert"})
            .require_client_cert);
  // Optional client certificates are not.
  CHECK_THROWS_WITH(parse({"--tls-cert", "c", "--tls-key", "k", "--tls-client-ca", "ca"}),
                    Catch::Contains("no authentication configured"));
  CHECK_THROWS_WITH(parse({t, "--retention-days", "100", "--rollup-retention-days", "50"}),
                    Catch::Contains("rollup_days"));
}

TEST_CASE("--help and --version print and return nothing") {
  const char* help[] = {"shadowmeter-collector", "--bogus", "--help"};
  CHECK_FALSE(parse_command_line(3, help));
  const char* version[] = {"shadowmeter-collector", "--version"};
  CHECK_FALSE(parse_command_line(2, version));
  CHECK(usage_text().find("--auth-token-file") != std::string::npos);
}

TEST_CASE("the example file documents the defaults") {
  const CollectorConfig d;
  const CollectorConfig e = load_yaml_file(SMC_EXAMPLE_CONFIG);
  CHECK(e.listen == d.listen);
  CHECK(e.db == d.db);
  CHECK(e.auth_token_file == d.auth_token_file);
  CHECK(e.insecure_no_auth == d.insecure_no_auth);
  CHECK(e.tls_cert_file == d.tls_cert_file);
  CHECK(e.tls_key_file == d.tls_key_file);
  CHECK(e.tls_client_ca_file == d.tls_client_ca_file);
  CHECK(e.require_client_cert == d.require_client_cert);
  CHECK(e.max_body_bytes == d.max_body_bytes);
  CHECK(e.max_spans_per_request == d.max_spans_per_request);
  CHECK(e.max_connections == d.max_connections);
  CHECK(e.max_header_bytes == d.max_header_bytes);
  CHECK(e.max_inflight_body_bytes == d.max_inflight_body_bytes);
  CHECK(e.read_timeout_seconds == d.read_timeout_seconds);
  CHECK(e.write_timeout_seconds == d.write_timeout_seconds);
  CHECK(e.queue_high_water_events == d.queue_high_water_events);
  CHECK(e.retry_after_seconds == d.retry_after_seconds);
  CHECK(e.io_threads == d.io_threads);
  CHECK(e.query_threads == d.query_threads);
  CHECK(e.retention_days == d.retention_days);
  CHECK(e.rollup_retention_days == d.rollup_retention_days);
  CHECK(e.heartbeat_retention_days == d.heartbeat_retention_days);
  CHECK(e.log_level == d.log_level);
}
