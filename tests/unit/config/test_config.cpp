// Agent configuration: defaults, every flag in both forms, YAML loading, precedence, and errors.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "temp_file.h"
#include "config/config.h"

using Catch::Matchers::Contains;
using Catch::Matchers::Equals;
using shadowmeter::config::AgentConfig;
using shadowmeter::config::load_yaml_file;
using shadowmeter::config::parse_command_line;
using shadowmeter::config::usage_text;

namespace {

std::optional<AgentConfig> parse(std::initializer_list<const char*> flags) {
  std::vector<const char*> argv{"shadowmeter-agent"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  return parse_command_line(static_cast<int>(argv.size()), argv.data());
}

AgentConfig parse_ok(std::initializer_list<const char*> flags) {
  auto c = parse(flags);
  REQUIRE(c.has_value());
  return *c;
}

using shadowmeter::testing::TempFile;

std::string capture_stdout(const std::function<void()>& fn) {
  TempFile out("");
  std::fflush(stdout);
  const int saved = dup(STDOUT_FILENO);
  REQUIRE(saved >= 0);
  FILE* f = std::fopen(out.c_str(), "w");
  REQUIRE(f != nullptr);
  dup2(fileno(f), STDOUT_FILENO);
  fn();
  std::fflush(stdout);
  dup2(saved, STDOUT_FILENO);
  close(saved);
  std::fclose(f);
  std::ifstream in(out.path());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void check_defaults(const AgentConfig& c) {
  CHECK(c.stdout_events == false);
  CHECK(c.collector_url.empty());
  CHECK(c.collector_token_file.empty());
  CHECK(c.listen.empty());
  CHECK(c.host_name.empty());
  CHECK(c.catalog_path.empty());
  CHECK(c.ringbuf_bytes == 16777216u);
  CHECK(c.chunk_bytes == 16384u);
  CHECK(c.max_body_bytes == 8388608u);
  CHECK(c.max_decoded_bytes == 67108864u);
  CHECK(c.max_total_buffer_bytes == 268435456u);
  CHECK(c.max_connections == 65536u);
  CHECK(c.connection_idle_seconds == 300u);
  CHECK(c.rescan_seconds == 30u);
  CHECK(c.detach_grace_seconds == 60u);
  CHECK(c.go_tls);
  CHECK(c.log_level == "info");
}

const char* const kFullYaml = R"(# every key, none at its default
output:
  stdout: true
  collector: "https://collector.example:4318/v1/traces"
  collector_token_file: /etc/shadowmeter/token
listen: "127.0.0.1:9464"
host_name: node-7
catalog: /opt/catalog.yaml
capture:
  ringbuf_bytes: 1048576
  max_body_bytes: 1000000
  max_decoded_bytes: 5000000
  max_total_buffer_bytes: 90000000
  max_connections: 1000
  connection_idle_seconds: 42
attach:
  rescan_seconds: 5
  detach_grace_seconds: 0
  go_tls: false
log:
  level: debug
)";

std::string yaml_error(const std::string& content) {
  TempFile f(content);
  try {
    load_yaml_file(f.path());
  } catch (const std::runtime_error& e) {
    const std::string msg = e.what();
    // Strip the temporary file name so tests can compare whole messages.
    return msg.rfind(f.path(), 0) == 0 ? "FILE" + msg.substr(f.path().size()) : msg;
  }
  return "no error";
}

std::string flag_error(std::initializer_list<const char*> flags) {
  try {
    parse(flags);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("no flags give the documented defaults") {
  check_defaults(parse_ok({}));
  check_defaults(AgentConfig{});
}

TEST_CASE("argv[0] is the program name and is skipped") {
  const char* argv[] = {"--stdout"};
  // Were argv[0] read as a flag, this would turn stdout on.
  auto c = parse_command_line(1, argv);
  REQUIRE(c);
  CHECK_FALSE(c->stdout_events);
  CHECK(parse_command_line(0, nullptr).has_value());
}

TEST_CASE("every flag, as '--flag value'") {
  const AgentConfig c =
      parse_ok({"--stdout", "--collector", "http://127.0.0.1:4318", "--collector-token-file", "/run/token",
                "--listen", "[::1]:9464", "--catalog", "/x/catalog.yaml", "--host-name", "web-1",
                "--log-level", "warn", "--ringbuf-bytes", "65536", "--max-body-bytes", "4096"});
  CHECK(c.stdout_events);
  CHECK(c.collector_url == "http://127.0.0.1:4318");
  CHECK(c.collector_token_file == "/run/token");
  CHECK(c.listen == "[::1]:9464");
  CHECK(c.catalog_path == "/x/catalog.yaml");
  CHECK(c.host_name == "web-1");
  CHECK(c.log_level == "warn");
  CHECK(c.ringbuf_bytes == 65536u);
  CHECK(c.max_body_bytes == 4096u);
  // Settings without a flag keep their defaults.
  CHECK(c.max_decoded_bytes == 67108864u);
  CHECK(c.rescan_seconds == 30u);
}

TEST_CASE("every flag, as '--flag=value'") {
  const AgentConfig c =
      parse_ok({"--stdout=true", "--collector=https://c.example/v1/traces", "--collector-token-file=/run/t",
                "--listen=:9464", "--catalog=/c.yaml", "--host-name=h=1", "--log-level=debug",
                "--ringbuf-bytes=2147483648", "--max-body-bytes=268435456"});
  CHECK(c.stdout_events);
  CHECK(c.collector_url == "https://c.example/v1/traces");
  CHECK(c.collector_token_file == "/run/t");
  CHECK(c.listen == ":9464");
  CHECK(c.catalog_path == "/c.yaml");
  CHECK(c.host_name == "h=1");  // only the first '=' separates
  CHECK(c.log_level == "debug");
  CHECK(c.ringbuf_bytes == 2147483648u);
  CHECK(c.max_body_bytes == 268435456u);
}

TEST_CASE("flag details") {
  CHECK(parse_ok({"--log-level", "warning"}).log_level == "warn");
  CHECK(parse_ok({"--log-level=error"}).log_level == "error");
  CHECK(parse_ok({"--listen", "localhost:9464"}).listen == "localhost:9464");
  CHECK(parse_ok({"--listen=127.0.0.1:9464", "--listen="}).listen.empty());  // later flag wins; "" = off
  CHECK_FALSE(parse_ok({"--stdout", "--stdout=false"}).stdout_events);
  CHECK(parse_ok({"--host-name", ""}).host_name.empty());
}

TEST_CASE("attribution.command_line: full, redacted (default) or executable, from the file or the flag") {
  CHECK(AgentConfig{}.command_line == "redacted");
  CHECK(parse_ok({"--command-line", "executable"}).command_line == "executable");
  CHECK(parse_ok({"--command-line=full"}).command_line == "full");
  TempFile f("attribution:\n  command_line: full\n");
  CHECK(load_yaml_file(f.path()).command_line == "full");
  CHECK(flag_error({"--command-line", "none"}).find("must be full, redacted or executable, got 'none'") !=
        std::string::npos);
}

TEST_CASE("the YAML file sets every key") {
  TempFile f(kFullYaml);
  const AgentConfig c = load_yaml_file(f.path());
  CHECK(c.stdout_events);
  CHECK(c.collector_url == "https://collector.example:4318/v1/traces");
  CHECK(c.collector_token_file == "/etc/shadowmeter/token");
  CHECK(c.listen == "127.0.0.1:9464");
  CHECK(c.host_name == "node-7");
  CHECK(c.catalog_path == "/opt/catalog.yaml");
  CHECK(c.ringbuf_bytes == 1048576u);
  CHECK(c.max_body_bytes == 1000000u);
  CHECK(c.max_decoded_bytes == 5000000u);
  CHECK(c.max_total_buffer_bytes == 90000000u);
  CHECK(c.max_connections == 1000u);
  CHECK(c.connection_idle_seconds == 42u);
  CHECK(c.rescan_seconds == 5u);
  CHECK(c.detach_grace_seconds == 0u);
  CHECK_FALSE(c.go_tls);
  CHECK(c.log_level == "debug");
  CHECK(c.chunk_bytes == 16384u);
}

TEST_CASE("a partial YAML file changes only what it names") {
  TempFile f("capture:\n  max_connections: 7\nlog: {level: error}\noutput:\n");
  AgentConfig base;
  base.host_name = "from-base";
  const AgentConfig c = load_yaml_file(f.path(), base);
  CHECK(c.max_connections == 7u);
  CHECK(c.log_level == "error");
  CHECK(c.host_name == "from-base");
  CHECK(c.ringbuf_bytes == 16777216u);
  CHECK_FALSE(c.stdout_events);
}

TEST_CASE("an empty YAML file or one with only comments keeps the defaults") {
  TempFile empty("");
  check_defaults(load_yaml_file(empty.path()));
  TempFile comments("# nothing set\n");
  check_defaults(load_yaml_file(comments.path()));
}

TEST_CASE("the shipped example parses to the defaults") {
  check_defaults(load_yaml_file(SM_EXAMPLE_CONFIG));
  check_defaults(parse_ok({"--config", SM_EXAMPLE_CONFIG}));
}

TEST_CASE("flags override the YAML file whatever their order") {
  TempFile f(kFullYaml);
  for (bool config_first : {true, false}) {
    INFO("config first: " << config_first);
    const AgentConfig c =
        config_first
            ? parse_ok({"--config", f.c_str(), "--listen", ":1", "--log-level=info", "--stdout=false",
                        "--ringbuf-bytes", "65536", "--max-body-bytes", "2000000", "--host-name",
                        "flag-host"})
            : parse_ok({"--listen", ":1", "--log-level=info", "--stdout=false", "--ringbuf-bytes", "65536",
                        "--max-body-bytes", "2000000", "--host-name", "flag-host", "--config", f.c_str()});
    CHECK(c.listen == ":1");
    CHECK(c.log_level == "info");
    CHECK_FALSE(c.stdout_events);
    CHECK(c.ringbuf_bytes == 65536u);
    CHECK(c.max_body_bytes == 2000000u);
    CHECK(c.host_name == "flag-host");
    // Keys without a flag on the command line come from the file.
    CHECK(c.collector_url == "https://collector.example:4318/v1/traces");
    CHECK(c.collector_token_file == "/etc/shadowmeter/token");
    CHECK(c.catalog_path == "/opt/catalog.yaml");
    CHECK(c.max_decoded_bytes == 5000000u);
    CHECK(c.max_total_buffer_bytes == 90000000u);
    CHECK(c.max_connections == 1000u);
    CHECK(c.connection_idle_seconds == 42u);
    CHECK(c.rescan_seconds == 5u);
    CHECK(c.detach_grace_seconds == 0u);
  }
}

TEST_CASE("--config=FILE works and the last --config wins") {
  TempFile a("host_name: from-a\n");
  TempFile b("host_name: from-b\n");
  const std::string eq = "--config=" + a.path();
  CHECK(parse_ok({eq.c_str()}).host_name == "from-a");
  CHECK(parse_ok({"--config", a.c_str(), "--config", b.c_str()}).host_name == "from-b");
}

TEST_CASE("--help and --version print and return nothing") {
  std::optional<AgentConfig> r = AgentConfig{};
  std::string out = capture_stdout([&] { r = parse({"--help"}); });
  CHECK_FALSE(r.has_value());
  CHECK(out == usage_text());
  for (const char* flag :
       {"--stdout", "--config", "--collector", "--collector-token-file", "--listen", "--catalog",
        "--host-name", "--log-level", "--ringbuf-bytes", "--max-body-bytes", "--help", "--version"}) {
    INFO(flag);
    CHECK_THAT(out, Contains(std::string("  ") + flag + " "));
  }

  r = AgentConfig{};
  out = capture_stdout([&] { r = parse({"--version"}); });
  CHECK_FALSE(r.has_value());
  CHECK(out == "shadowmeter-agent " SHADOWMETER_VERSION "\n");

  // They win over anything else on the line, even a mistake.
  r = AgentConfig{};
  out = capture_stdout([&] { r = parse({"--bogus", "--ringbuf-bytes", "3", "--help"}); });
  CHECK_FALSE(r.has_value());
  CHECK(out == usage_text());
}

TEST_CASE("command-line errors name the flag and the problem") {
  CHECK_THAT(flag_error({"--bogus"}), Equals("unknown flag '--bogus' (see --help)"));
  CHECK_THAT(flag_error({"--bogus=1"}), Equals("unknown flag '--bogus' (see --help)"));
  CHECK_THAT(flag_error({"check"}), Equals("unexpected argument 'check' (see --help)"));
  CHECK_THAT(flag_error({"-v"}), Equals("unexpected argument '-v' (see --help)"));
  CHECK_THAT(flag_error({"--"}), Equals("unexpected argument '--' (see --help)"));
  CHECK_THAT(flag_error({"--listen"}), Equals("--listen needs a value"));
  CHECK_THAT(flag_error({"--listen", "--stdout"}), Equals("--listen needs a value"));
  CHECK_THAT(flag_error({"--config"}), Equals("--config needs a value"));
  CHECK_THAT(flag_error({"--config="}), Equals("--config needs a file name"));
  CHECK_THAT(flag_error({"--help=yes"}), Equals("--help takes no value"));
  CHECK_THAT(flag_error({"--stdout=maybe"}), Equals("--stdout: must be true or false, got 'maybe'"));
  CHECK_THAT(flag_error({"--ringbuf-bytes", "-65536"}),
             Equals("--ringbuf-bytes: must not be negative, got '-65536'"));
  CHECK_THAT(flag_error({"--ringbuf-bytes", "lots"}),
             Equals("--ringbuf-bytes: 'lots' is not a whole number"));
  CHECK_THAT(flag_error({"--ringbuf-bytes=16M"}), Equals("--ringbuf-bytes: '16M' is not a whole number"));
  CHECK_THAT(flag_error({"--ringbuf-bytes=1.5"}), Equals("--ringbuf-bytes: '1.5' is not a whole number"));
  CHECK_THAT(flag_error({"--ringbuf-bytes="}), Equals("--ringbuf-bytes: needs a number"));
  CHECK_THAT(flag_error({"--ringbuf-bytes", "100000"}),
             Equals("--ringbuf-bytes: must be a power of two of at least 65536, got 100000"));
  CHECK_THAT(flag_error({"--ringbuf-bytes", "32768"}),
             Equals("--ringbuf-bytes: must be a power of two of at least 65536, got 32768"));
  CHECK_THAT(flag_error({"--ringbuf-bytes", "4294967296"}),
             Equals("--ringbuf-bytes: '4294967296' is too large (at most 4294967295)"));
  CHECK_THAT(flag_error({"--max-body-bytes", "0"}), Equals("--max-body-bytes: must be greater than 0"));
  CHECK_THAT(flag_error({"--max-body-bytes", "18446744073709551616"}),
             Equals("--max-body-bytes: '18446744073709551616' is too large"));
  CHECK_THAT(
      flag_error({"--max-body-bytes", "300000000"}),
      Equals("capture.max_total_buffer_bytes (268435456) must be at least max_body_bytes (300000000): one "
             "message must fit in the total budget"));
  CHECK_THAT(flag_error({"--log-level", "verbose"}),
             Equals("--log-level: unknown log level 'verbose' (debug, info, warn or error)"));
  CHECK_THAT(flag_error({"--log-level", "INFO"}),
             Equals("--log-level: unknown log level 'INFO' (debug, info, warn or error)"));
  CHECK_THAT(flag_error({"--listen", "9464"}),
             Equals("--listen: '9464' is not ADDR:PORT (':PORT' for all addresses)"));
  CHECK_THAT(flag_error({"--listen", "127.0.0.1:99999"}),
             Equals("--listen: '127.0.0.1:99999' has no port from 0 to 65535 after the last ':'"));
  CHECK_THAT(flag_error({"--listen", "::1:9464"}),
             Equals("--listen: '::1:9464': IPv6 addresses need brackets, as in [::1]:9464"));
  CHECK_THAT(flag_error({"--collector", "collector:4318"}),
             Equals("--collector: 'collector:4318' is not an http:// or https:// URL"));
  CHECK_THAT(flag_error({"--config", "/nonexistent/agent.yaml"}),
             Equals("cannot read config file '/nonexistent/agent.yaml': No such file or directory"));
  CHECK_THAT(flag_error({"--config", "/tmp"}), Equals("cannot read config file '/tmp': it is a directory, not a file"));
}

TEST_CASE("YAML errors name the file, line, key and problem") {
  CHECK_THAT(yaml_error("listen: ':1'\nbogus: 1\n"), Equals("FILE:2: bogus: unknown key"));
  CHECK_THAT(yaml_error("capture:\n  ringbuf: 65536\n"), Equals("FILE:2: capture.ringbuf: unknown key"));
  CHECK_THAT(yaml_error("output:\n  listen: ':1'\n"), Equals("FILE:2: output.listen: unknown key"));
  CHECK_THAT(yaml_error("level: info\n"), Equals("FILE:1: level: unknown key"));
  CHECK_THAT(yaml_error("capture:\n  ringbuf_bytes: -65536\n"),
             Equals("FILE:2: capture.ringbuf_bytes: must not be negative, got '-65536'"));
  CHECK_THAT(yaml_error("capture:\n  ringbuf_bytes: big\n"),
             Equals("FILE:2: capture.ringbuf_bytes: 'big' is not a whole number"));
  CHECK_THAT(yaml_error("capture:\n  ringbuf_bytes: 65537\n"),
             Equals("FILE:2: capture.ringbuf_bytes: must be a power of two of at least 65536, got 65537"));
  CHECK_THAT(yaml_error("capture:\n  ringbuf_bytes: 4096\n"),
             Equals("FILE:2: capture.ringbuf_bytes: must be a power of two of at least 65536, got 4096"));
  CHECK_THAT(yaml_error("capture:\n  max_connections: 0\n"),
             Equals("FILE:2: capture.max_connections: must be greater than 0"));
  CHECK_THAT(yaml_error("capture:\n  max_connections: 5000000000\n"),
             Equals("FILE:2: capture.max_connections: '5000000000' is too large (at most 4294967295)"));
  CHECK_THAT(yaml_error("capture: {connection_idle_seconds: 0}\n"),
             Equals("FILE:1: capture.connection_idle_seconds: must be greater than 0"));
  CHECK_THAT(yaml_error("capture: {max_decoded_bytes: -1}\n"),
             Equals("FILE:1: capture.max_decoded_bytes: must not be negative, got '-1'"));
  CHECK_THAT(yaml_error("capture: {max_total_buffer_bytes: 1e9}\n"),
             Equals("FILE:1: capture.max_total_buffer_bytes: '1e9' is not a whole number"));
  CHECK_THAT(yaml_error("capture:\n  max_body_bytes:\n"),
             Equals("FILE:2: capture.max_body_bytes: needs a value"));
  CHECK_THAT(yaml_error("attach: {rescan_seconds: 0}\n"),
             Equals("FILE:1: attach.rescan_seconds: must be greater than 0"));
  CHECK_THAT(yaml_error("attach: {detach_grace_seconds: -5}\n"),
             Equals("FILE:1: attach.detach_grace_seconds: must not be negative, got '-5'"));
  CHECK_THAT(yaml_error("log: {level: loud}\n"),
             Equals("FILE:1: log.level: unknown log level 'loud' (debug, info, warn or error)"));
  CHECK_THAT(yaml_error("output: {stdout: yes please}\n"),
             Equals("FILE:1: output.stdout: must be true or false, got 'yes please'"));
  CHECK_THAT(yaml_error("output: {collector: [a, b]}\n"),
             Equals("FILE:1: output.collector: expected a single value, not a list or mapping"));
  CHECK_THAT(yaml_error("capture: 5\n"), Equals("FILE:1: capture: expected a mapping of settings"));
  CHECK_THAT(yaml_error("- a\n- b\n"), Equals("FILE:1: expected a mapping of settings at the top level"));
  CHECK_THAT(yaml_error("listen: ':1'\nlisten: ':2'\n"), Equals("FILE:2: listen: duplicate key"));
  CHECK_THAT(yaml_error("listen: 9464\n"),
             Equals("FILE:1: listen: '9464' is not ADDR:PORT (':PORT' for all addresses)"));
  CHECK_THAT(yaml_error("capture: {ringbuf_bytes: 1\n"), Contains("FILE:") && Contains(": not valid YAML: "));
}

TEST_CASE("YAML details") {
  TempFile f(
      "output:\n  collector:\n  stdout: TRUE\nlog:\n  level: warning\ncapture:\n  ringbuf_bytes: "
      "\"131072\"\n");
  const AgentConfig c = load_yaml_file(f.path());
  CHECK(c.collector_url.empty());  // an empty text value means "not set"
  CHECK(c.stdout_events);
  CHECK(c.log_level == "warn");
  CHECK(c.ringbuf_bytes == 131072u);
}

TEST_CASE("a flag can fix what only the combination with the file got wrong") {
  TempFile f("capture: {max_total_buffer_bytes: 1048576}\n");
  CHECK_THAT(
      flag_error({"--config", f.c_str()}),
      Equals(
          "capture.max_total_buffer_bytes (1048576) must be at least max_body_bytes (8388608): one message "
          "must fit in the total budget"));
  const AgentConfig c = parse_ok({"--config", f.c_str(), "--max-body-bytes", "65536"});
  CHECK(c.max_total_buffer_bytes == 1048576u);
  CHECK(c.max_body_bytes == 65536u);
}

TEST_CASE("providers and pricing from the YAML file") {
  TempFile f(
      "providers:\n"
      "  - {provider: company_gateway, format: openai, hosts: [llm-gw.corp.example]}\n"
      "  - provider: vllm\n"
      "    format: openai\n"
      "    hosts: [\"10.0.4.17:8000\", vllm.ml.svc:8000]\n"
      "pricing:\n"
      "  file: /etc/shadowmeter/prices.json\n"
      "  azure_deployments: {chat-prod-4o: gpt-4o, embed: text-embedding-3-small}\n");
  const AgentConfig c = load_yaml_file(f.path());
  REQUIRE(c.extra_providers.size() == 2);
  CHECK(c.extra_providers[0].provider == "company_gateway");
  CHECK(c.extra_providers[0].format == "openai");
  CHECK(c.extra_providers[0].hosts == std::vector<std::string>{"llm-gw.corp.example"});
  CHECK(c.extra_providers[1].hosts == std::vector<std::string>{"10.0.4.17:8000", "vllm.ml.svc:8000"});
  CHECK(c.prices_path == "/etc/shadowmeter/prices.json");
  REQUIRE(c.azure_deployments.size() == 2);
  CHECK(c.azure_deployments[0] == std::pair<std::string, std::string>{"chat-prod-4o", "gpt-4o"});
  CHECK(parse_ok({"--prices", "/p.json"}).prices_path == "/p.json");

  CHECK_THAT(yaml_error("providers:\n  - {provider: x, format: soap, hosts: [a.example]}\n"),
             Contains("providers.format: 'soap' is not one of"));
  CHECK_THAT(yaml_error("providers:\n  - {provider: x, format: openai}\n"), Contains("needs at least one host"));
  CHECK_THAT(yaml_error("providers:\n  - {format: openai, hosts: [a]}\n"), Contains("needs a provider name"));
  CHECK_THAT(yaml_error("providers: {a: b}\n"), Contains("expected a list"));
  CHECK_THAT(yaml_error("pricing: {azure_deployments: [a]}\n"), Contains("expected a mapping of deployment"));
  CHECK_THAT(yaml_error("pricing: {currency: eur}\n"), Equals("FILE:1: pricing.currency: unknown key"));
}

TEST_CASE("unit_economics: dimensions and tags from headers and body fields") {
  using shadowmeter::dimensions::Kind;
  TempFile f(
      "unit_economics:\n"
      "  - {name: feature, header: X-Feature}\n"
      "  - {name: customer, field: metadata.user_id, sensitive: true}\n"
      "  - {name: request_id, header: x-request-id, kind: tag}\n");
  const AgentConfig c = load_yaml_file(f.path());
  REQUIRE(c.unit_economics.size() == 3);
  CHECK(c.unit_economics[0].name == "feature");
  CHECK(c.unit_economics[0].header == "x-feature");  // matched lower-cased
  CHECK(c.unit_economics[0].kind == Kind::dimension);
  CHECK_FALSE(c.unit_economics[0].sensitive);
  CHECK(c.unit_economics[1].field == "metadata.user_id");
  CHECK(c.unit_economics[1].sensitive);
  CHECK(c.unit_economics[2].kind == Kind::tag);
  CHECK(c.unit_economics[2].attribute() == "shadowmeter.tag.request_id");
  CHECK(c.unit_economics[0].attribute() == "shadowmeter.dimension.feature");
  CHECK(AgentConfig{}.unit_economics.empty());  // opt-in: nothing by default

  // Prompt-carrying body paths are refused by their root, naming the path.
  CHECK_THAT(yaml_error("unit_economics:\n  - {name: p, field: messages}\n"),
             Contains("field 'messages' is under 'messages'"));
  CHECK_THAT(yaml_error("unit_economics:\n  - {name: p, field: input.0.text}\n"),
             Contains("field 'input.0.text' is under 'input'"));
  for (const char* root : {"prompt", "contents", "system", "instructions", "tools"})
    CHECK_THAT(yaml_error(std::string("unit_economics:\n  - {name: p, field: ") + root + ".x}\n"),
               Contains("carries prompts"));
  CHECK_THAT(yaml_error("unit_economics:\n  - {name: p, field: \"tags.[]\"}\n"), Contains("arrays cannot be named"));
  // Credential headers are refused whatever their case.
  for (const char* h : {"Authorization", "x-api-key", "api-key", "Cookie", "x-goog-api-key", "proxy-authorization"})
    CHECK_THAT(yaml_error(std::string("unit_economics:\n  - {name: k, header: ") + h + "}\n"),
               Contains("carries credentials"));
  CHECK_THAT(yaml_error("unit_economics:\n  - {name: Feature, header: x-f}\n"), Contains("may only hold a-z"));
  CHECK_THAT(yaml_error("unit_economics:\n  - {name: " + std::string(33, 'a') + ", header: x-f}\n"),
             Contains("1 to 32 characters"));
  CHECK_THAT(yaml_error("unit_economics:\n  - {name: f, header: x-f, field: user}\n"),
             Contains("needs exactly one of header or field"));
  CHECK_THAT(yaml_error("unit_economics:\n  - {name: f}\n"), Contains("needs exactly one of header or field"));
  CHECK_THAT(yaml_error("unit_economics:\n  - {name: f, header: x-a}\n  - {name: f, header: x-b}\n"),
             Contains("the name is used twice"));
  CHECK_THAT(yaml_error("unit_economics:\n  - {name: f, header: x-a, kind: label}\n"),
             Contains("must be dimension or tag"));
  CHECK_THAT(yaml_error("unit_economics:\n  - {name: f, header: x-a, colour: red}\n"), Contains("unknown key"));
  CHECK_THAT(yaml_error("unit_economics: {name: f}\n"), Contains("expected a list"));
  // At most 8 dimensions and 4 tags.
  std::string nine = "unit_economics:\n";
  for (int i = 0; i < 9; ++i) nine += "  - {name: d" + std::to_string(i) + ", header: x-d" + std::to_string(i) + "}\n";
  CHECK_THAT(yaml_error(nine), Contains("9 dimensions, at most 8"));
  std::string five = "unit_economics:\n";
  for (int i = 0; i < 5; ++i)
    five += "  - {name: t" + std::to_string(i) + ", header: x-t" + std::to_string(i) + ", kind: tag}\n";
  CHECK_THAT(yaml_error(five), Contains("5 tags, at most 4"));
  CHECK(load_yaml_file(TempFile(nine.substr(0, nine.rfind("  - "))).path()).unit_economics.size() == 8);
}

TEST_CASE("export settings: flags, YAML section and the checks across them") {
  const AgentConfig f = parse_ok({"--collector", "https://c.example/v1/traces", "--collector-ca-file", "/ca.pem",
                                  "--collector-cert-file", "/c.pem", "--collector-key-file", "/c.key",
                                  "--spool-dir", "/s", "--spool-max-bytes", "65536", "--heartbeat-seconds", "5"});
  CHECK(f.exporting.ca_file == "/ca.pem");
  CHECK(f.exporting.client_cert_file == "/c.pem");
  CHECK(f.exporting.client_key_file == "/c.key");
  CHECK(f.exporting.spool_dir == "/s");
  CHECK(f.exporting.spool_max_bytes == 65536u);
  CHECK(f.exporting.heartbeat_seconds == 5u);
  // defaults
  const AgentConfig d = parse_ok({});
  CHECK(d.exporting.spool_dir == "/var/lib/shadowmeter/spool");
  CHECK(d.exporting.spool_fsync == "on_flush");
  CHECK(d.exporting.backoff_max_ms == 60000u);
  CHECK(d.exporting.gzip);

  TempFile y(R"(
export:
  server_name: collector.internal
  spool_fsync: every_append
  batch_max_events: 100
  batch_max_delay_ms: 50
  request_timeout_ms: 2000
  backoff_min_ms: 10
  backoff_max_ms: 500
  gzip: false
  allow_insecure_http: true
)");
  const AgentConfig c = load_yaml_file(y.path());
  CHECK(c.exporting.server_name == "collector.internal");
  CHECK(c.exporting.spool_fsync == "every_append");
  CHECK(c.exporting.batch_max_events == 100u);
  CHECK(c.exporting.batch_max_delay_ms == 50u);
  CHECK(c.exporting.request_timeout_ms == 2000u);
  CHECK(c.exporting.backoff_min_ms == 10u);
  CHECK(c.exporting.backoff_max_ms == 500u);
  CHECK_FALSE(c.exporting.gzip);
  CHECK(c.exporting.allow_insecure_http);

  CHECK(yaml_error("export:\n  spool_fsync: sometimes\n").find("every_append, on_flush or never") != std::string::npos);
  CHECK(yaml_error("export:\n  spool_max_bytes: 100\n").find("at least 65536") != std::string::npos);
  CHECK(yaml_error("export:\n  backoff_min_ms: 0\n").find("greater than 0") != std::string::npos);
  CHECK(yaml_error("export:\n  nope: 1\n").find("unknown key") != std::string::npos);
  // Plain http only to loopback unless allowed: the token would cross the network in clear text.
  CHECK(flag_error({"--collector", "http://10.0.0.1:4318"}).find("allow_insecure_http") != std::string::npos);
  CHECK(flag_error({"--collector", "http://collector:4318/v1/traces"}).find("clear text") != std::string::npos);
  CHECK(parse_ok({"--collector", "http://localhost:4318"}).collector_url == "http://localhost:4318");
  CHECK(parse_ok({"--collector", "http://[::1]:4318"}).collector_url == "http://[::1]:4318");
  CHECK(flag_error({"--collector-cert-file", "/c.pem"}).find("go together") != std::string::npos);
  CHECK(flag_error({"--config", y.path().c_str(), "--collector", "http://10.0.0.1:4318"}) == "no error");
  TempFile backoff("export:\n  backoff_min_ms: 900\n  backoff_max_ms: 100\n");
  CHECK(flag_error({"--config", backoff.path().c_str()}).find("must not exceed") != std::string::npos);
}
