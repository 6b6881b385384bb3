// AI host catalog: pattern semantics, precedence, the shipped catalog.yaml, and file errors.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>

#include "temp_file.h"
#include "providers/catalog.h"

using Catch::Matchers::Contains;
using shadowmeter::providers::Catalog;
using shadowmeter::providers::CatalogEntry;

namespace {

std::string provider_of(const Catalog& c, std::string_view host) {
  auto e = c.match(host);
  return e ? e->provider : std::string("-");
}

std::string parse_error(std::string_view yaml) {
  try {
    Catalog::parse(yaml);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "no error";
}

using shadowmeter::testing::TempFile;

}  // namespace

TEST_CASE("shipped catalog loads and names every provider") {
  const Catalog c = Catalog::load_file(SM_CATALOG_FILE);
  CHECK(c.size() == 24);

  auto e = c.match("api.openai.com");
  REQUIRE(e);
  CHECK(e->provider == "openai");
  CHECK(e->format == "openai");
  CHECK(e->pattern == "api.openai.com");

  CHECK(provider_of(c, "myres.openai.azure.com") == "azure.ai.openai");
  CHECK(provider_of(c, "myres.cognitiveservices.azure.com") == "azure.ai.openai");
  CHECK(provider_of(c, "proj.services.ai.azure.com") == "azure.ai.openai");
  CHECK(provider_of(c, "api.anthropic.com") == "anthropic");
  CHECK(provider_of(c, "generativelanguage.googleapis.com") == "gcp.gemini");
  CHECK(provider_of(c, "aiplatform.googleapis.com") == "gcp.vertex_ai");
  CHECK(provider_of(c, "us-central1-aiplatform.googleapis.com") == "gcp.vertex_ai");
  CHECK(provider_of(c, "bedrock-runtime.us-east-1.amazonaws.com") == "aws.bedrock");
  CHECK(provider_of(c, "bedrock-runtime-fips.us-gov-west-1.amazonaws.com") == "aws.bedrock");
  CHECK(provider_of(c, "api.mistral.ai") == "mistral_ai");
  CHECK(provider_of(c, "api.groq.com") == "groq");
  CHECK(provider_of(c, "api.deepseek.com") == "deepseek");
  CHECK(provider_of(c, "api.x.ai") == "x_ai");
  CHECK(provider_of(c, "openrouter.ai") == "openrouter");
  CHECK(provider_of(c, "api.together.xyz") == "together");
  CHECK(provider_of(c, "api.together.ai") == "together");
  CHECK(provider_of(c, "api.fireworks.ai") == "fireworks");
  CHECK(provider_of(c, "api.perplexity.ai") == "perplexity");
  CHECK(provider_of(c, "api.cerebras.ai") == "cerebras");
  CHECK(provider_of(c, "api.cohere.com") == "cohere");
  CHECK(provider_of(c, "api.cohere.ai") == "cohere");

  CHECK(c.match("api.groq.com")->format == "openai");
  CHECK(c.match("myres.openai.azure.com")->format == "openai");
  CHECK(c.match("api.anthropic.com")->format == "anthropic");
  CHECK(c.match("aiplatform.googleapis.com")->format == "gemini");
  CHECK(c.match("bedrock-runtime.eu-west-1.amazonaws.com")->format == "bedrock");
  CHECK(c.match("api.cohere.ai")->format == "cohere");
  REQUIRE(c.find("localhost", 11434));
  CHECK(c.find("localhost", 11434)->provider == "ollama");
  CHECK(c.find("127.0.0.1", 11434)->format == "ollama");
  CHECK_FALSE(c.find("localhost", 8080));
}

TEST_CASE("catalog matching is case-insensitive and ignores a trailing dot") {
  const Catalog c = Catalog::load_file(SM_CATALOG_FILE);
  CHECK(provider_of(c, "API.OpenAI.COM") == "openai");
  CHECK(provider_of(c, "api.openai.com.") == "openai");
  CHECK(provider_of(c, "MyRes.OpenAI.Azure.Com") == "azure.ai.openai");
  CHECK(provider_of(c, "US-EAST5-AIPLATFORM.googleapis.com") == "gcp.vertex_ai");
}

TEST_CASE("catalog has no false positives") {
  const Catalog c = Catalog::load_file(SM_CATALOG_FILE);
  for (const char* host : {"api.openai.com.evil.net",
                           "notapi.openai.com",
                           "openai.com",
                           "api.openai.co",
                           "xapi.openai.com",
                           "openai.azure.com",
                           ".openai.azure.com",
                           "evilopenai.azure.com",
                           "a..openai.azure.com",
                           "myres.openai.azure.com.attacker.net",
                           "-aiplatform.googleapis.com",
                           "a.b-aiplatform.googleapis.com",
                           "googleapis.com",
                           "bedrock-runtime.amazonaws.com",
                           "bedrock-runtime.a.b.amazonaws.com",
                           "bedrock.us-east-1.amazonaws.com",
                           "bedrock-runtimex.us-east-1.amazonaws.com",
                           "x.ai",
                           "ai",
                           "",
                           "."}) {
    INFO(host);
    CHECK_FALSE(c.match(host));
  }
  // Longer than any DNS name.
  CHECK_FALSE(c.match(std::string(300, 'a') + ".openai.azure.com"));
}

TEST_CASE("leading *. spans one or more whole labels, inner * stays inside one label") {
  Catalog c;
  c.add({"multi", "*.example.com", ""});
  c.add({"one", "svc.*.example.org", ""});
  c.add({"part", "*-api.example.net", ""});
  c.add({"mid", "a*z.example.io", ""});
  CHECK(provider_of(c, "x.example.com") == "multi");
  CHECK(provider_of(c, "x.y.z.example.com") == "multi");
  CHECK(provider_of(c, "example.com") == "-");
  CHECK(provider_of(c, "svc.eu.example.org") == "one");
  CHECK(provider_of(c, "svc.eu.west.example.org") == "-");
  CHECK(provider_of(c, "svc..example.org") == "-");
  CHECK(provider_of(c, "eu-api.example.net") == "part");
  CHECK(provider_of(c, "x.eu-api.example.net") == "-");
  CHECK(provider_of(c, "-api.example.net") == "-");
  CHECK(provider_of(c, "abz.example.io") == "mid");
  CHECK(provider_of(c, "az.example.io") == "-");
  CHECK(provider_of(c, "a.z.example.io") == "-");
}

TEST_CASE("exact patterns beat wildcards, the longest wildcard wins, ties go to the first") {
  Catalog c;
  c.add({"wide", "*.example.com", ""});
  c.add({"exact", "api.example.com", ""});
  c.add({"narrow", "*.eu.example.com", ""});
  c.add({"first", "*.b.example.org", ""});
  c.add({"second", "a.*.example.org", ""});  // same length as the one before
  CHECK(provider_of(c, "api.example.com") == "exact");
  CHECK(provider_of(c, "www.example.com") == "wide");
  CHECK(provider_of(c, "x.eu.example.com") == "narrow");
  CHECK(provider_of(c, "x.us.example.com") == "wide");
  CHECK(provider_of(c, "a.b.example.org") == "first");
  CHECK(c.size() == 5);
}

TEST_CASE("add lower-cases patterns and replaces an existing one") {
  Catalog c;
  c.add({"old", "API.Example.COM", "openai"});
  c.add({"new", "api.example.com", "anthropic"});
  c.add({"w1", "*.example.net", ""});
  c.add({"w2", "*.EXAMPLE.net", "x"});
  CHECK(c.size() == 2);
  auto e = c.match("api.example.com");
  REQUIRE(e);
  CHECK(e->provider == "new");
  CHECK(e->format == "anthropic");
  CHECK(e->pattern == "api.example.com");
  CHECK(provider_of(c, "a.example.net") == "w2");
  const CatalogEntry* p = c.find("a.example.net");
  REQUIRE(p);
  CHECK(p->format == "x");
  CHECK_THROWS_WITH(c.add({"", "x.example.com", ""}), "empty provider name");
  CHECK_THROWS_WITH(c.add({"p", "api.*", ""}), Contains("literal last label"));
}

TEST_CASE("catalog YAML: formats optional, entries validated") {
  const Catalog c = Catalog::parse(R"(
- provider: ollama
  hosts: [ollama.internal]
- provider: vllm
  format: openai
  hosts:
    - "*.vllm.internal"
)");
  CHECK(c.size() == 2);
  CHECK(c.match("ollama.internal")->format.empty());
  CHECK(c.match("gpu1.vllm.internal")->provider == "vllm");
  CHECK(Catalog::parse("[]").size() == 0);
}

TEST_CASE("bad catalog YAML is a runtime_error saying what is wrong") {
  CHECK_THAT(parse_error("- provider: [unclosed"), Contains("not valid YAML"));
  CHECK(parse_error("") == "empty catalog");
  CHECK_THAT(parse_error("providers: {}"), Contains("expected a list"));
  CHECK_THAT(parse_error("- just-a-string"), Contains("line 1: entry must be a map"));
  CHECK(parse_error("- {hosts: [a.example.com]}") == "line 1: missing 'provider'");
  CHECK(parse_error("- {provider: x}") == "line 1: 'hosts' must be a non-empty list of host patterns");
  CHECK(parse_error("- {provider: x, hosts: []}") ==
        "line 1: 'hosts' must be a non-empty list of host patterns");
  CHECK(parse_error("- {provider: x, hosts: [a.example.com], fromat: openai}") ==
        "line 1: unknown key 'fromat'");
  CHECK(parse_error("- {provider: x, hosts: [[a]]}") == "line 1: 'hosts' must be a list of strings");
  CHECK(parse_error("- {provider: [x], hosts: [a.b]}") == "line 1: 'provider' must be a string");
  CHECK(parse_error("- {provider: x, hosts: [\"api.openai.com/v1\"]}") ==
        "line 1: host pattern has a character other than letters, digits, '-', '_', '.', '*': "
        "'api.openai.com/v1'");
  CHECK(parse_error("- {provider: x, hosts: [\"a..b.com\"]}") ==
        "line 1: host pattern has an empty label: 'a..b.com'");
  CHECK(parse_error("- {provider: x, hosts: [\"**.b.com\"]}") == "line 1: host pattern has '**': '**.b.com'");
  CHECK(parse_error("- {provider: x, hosts: [\"*\"]}") ==
        "line 1: wildcard host pattern needs a literal last label (like '*.example.com'): '*'");
  CHECK(parse_error("- {provider: x, hosts: [a.com]}\n- {provider: y, hosts: [A.com]}") ==
        "line 2: host pattern 'a.com' listed twice");
}

TEST_CASE("load_file names the file in its errors") {
  CHECK_THROWS_WITH(Catalog::load_file("/nonexistent/catalog.yaml"),
                    "AI catalog /nonexistent/catalog.yaml: cannot open file");
  TempFile bad("- provider: x\n  hosts: [ok.example.com]\n- provider: y\n  hosts: ['bad host']\n");
  CHECK_THROWS_WITH(
      Catalog::load_file(bad.path()),
      "AI catalog " + bad.path() +
          ": line 3: host pattern has a character other than letters, digits, '-', '_', '.', '*': "
          "'bad host'");
  TempFile good("- {provider: x, hosts: [ok.example.com], format: openai}\n");
  CHECK(Catalog::load_file(good.path()).size() == 1);
}

TEST_CASE("host:port patterns name one service and are tried before the host alone") {
  Catalog c;
  c.add({"vllm", "10.0.4.17:8000", "openai"});
  c.add({"ollama", "localhost:11434", "ollama"});
  c.add({"company_gateway", "gw.corp.example", "openai"});
  const CatalogEntry* e = c.find("10.0.4.17", 8000);
  REQUIRE(e);
  CHECK(e->provider == "vllm");
  CHECK_FALSE(c.find("10.0.4.17", 8001));
  CHECK_FALSE(c.find("10.0.4.17"));
  REQUIRE(c.find("LOCALHOST", 11434));
  CHECK(c.find("LOCALHOST", 11434)->provider == "ollama");
  REQUIRE(c.find("gw.corp.example", 443));
  CHECK(c.find("gw.corp.example", 443)->provider == "company_gateway");
  CHECK(c.find("gw.corp.example", 0)->provider == "company_gateway");
  c.add({"gw_port", "gw.corp.example:8443", "openai"});
  CHECK(c.find("gw.corp.example", 8443)->provider == "gw_port");
  CHECK(c.find("gw.corp.example", 443)->provider == "company_gateway");

  CHECK_THROWS_WITH(c.add({"x", "a.example:0", ""}), Catch::Contains("port must be a number from 1 to 65535"));
  CHECK_THROWS_WITH(c.add({"x", "a.example:70000", ""}), Catch::Contains("port must be a number"));
  CHECK_THROWS_WITH(c.add({"x", "a.example:", ""}), Catch::Contains("port must be a number"));
  CHECK_THROWS_WITH(c.add({"x", "*.a.example:443", ""}), Catch::Contains("cannot have a wildcard"));
  CHECK_THROWS_WITH(c.add({"x", ":443", ""}), Catch::Contains("empty host pattern"));
}
