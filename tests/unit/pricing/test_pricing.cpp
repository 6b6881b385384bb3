// Pricing: the cost formula's branches, the LiteLLM-format loader (good, odd and bad input), the
// lookup normalisations, aliases, layering, and the shipped default_prices.json.
#include <catch2/catch.hpp>
#include <filesystem>
#include <chrono>
#include <cstdio>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "pricing/call_pricing.h"
#include "pricing/model_names.h"
#include "pricing/price.h"
#include "pricing/price_table.h"
#include "pricing/pricer.h"
#include "temp_file.h"

using Catch::Matchers::Contains;
using shadowmeter::pricing::Cost;
using shadowmeter::pricing::cost_usd;
using shadowmeter::pricing::kMaxTableBytes;
using shadowmeter::pricing::model_variants;
using shadowmeter::pricing::Price;
using shadowmeter::pricing::Pricer;
using shadowmeter::pricing::PriceTable;
using shadowmeter::providers::Usage;
using shadowmeter::testing::TempFile;

namespace {

// Counts are (input incl. cache, output incl. reasoning, cache read, cache creation, reasoning);
// -1 leaves a count absent.
Usage usage(std::int64_t in, std::int64_t out, std::int64_t cache_read = -1, std::int64_t cache_creation = -1,
            std::int64_t reasoning = -1) {
  Usage u;
  auto set = [](std::optional<std::int64_t>& f, std::int64_t v) {
    if (v >= 0) f = v;
  };
  set(u.input_tokens, in);
  set(u.output_tokens, out);
  set(u.cache_read_input_tokens, cache_read);
  set(u.cache_write_input_tokens, cache_creation);
  set(u.reasoning_output_tokens, reasoning);
  return u;
}

// The figures are sums of a few products, so they may differ from the decimal value in the last bit.
Approx usd(double v) { return Approx(v).epsilon(1e-12).margin(0); }

std::string parse_error(std::string_view text) {
  try {
    PriceTable::parse(text, "test");
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "no error";
}

std::string found_key(const PriceTable& t, std::string_view provider, std::string_view model) {
  auto m = t.find(provider, model);
  return m ? m->key : std::string("-");
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The formula

TEST_CASE("cost: input and output at their prices") {
  const Price p{.input = 2e-6, .output = 8e-6};
  CHECK(*cost_usd(p, usage(1000, 500)) == usd(0.006));
  // Embeddings report no output count; the input alone is priced.
  const Price embed{.input = 2e-8, .output = 0.0};
  CHECK(*cost_usd(embed, usage(1000, -1)) == usd(2e-5));
}

TEST_CASE("cost: cache reads at the cache read price, else at the input price") {
  Price p{.input = 2e-6, .output = 8e-6, .cache_read = 5e-7};
  // 600 uncached * 2e-6 + 400 read * 5e-7
  CHECK(*cost_usd(p, usage(1000, 0, 400)) == usd(0.0014));
  p.cache_read.reset();
  CHECK(*cost_usd(p, usage(1000, 0, 400)) == usd(0.002));
}

TEST_CASE("cost: cache creation at its price, else at the input price") {
  Price p{.input = 2e-6, .output = 8e-6, .cache_read = 5e-7, .cache_creation = 2.5e-6};
  // 500 uncached * 2e-6 + 200 read * 5e-7 + 300 written * 2.5e-6 + 100 out * 8e-6
  CHECK(*cost_usd(p, usage(1000, 100, 200, 300)) == usd(0.00265));
  p.cache_creation.reset();
  CHECK(*cost_usd(p, usage(1000, 100, 200, 300)) == usd(0.0025));
}

TEST_CASE("cost: OpenAI cache writes (cache_write_tokens) at LiteLLM's cache-creation price") {
  Pricer p(PriceTable::parse(R"({
    "gpt-5.1": {"litellm_provider": "openai", "input_cost_per_token": 1.25e-06, "output_cost_per_token": 1e-05,
                "cache_read_input_token_cost": 1.25e-07, "cache_creation_input_token_cost": 1.5625e-06}
  })",
                             "test"));
  // The chat fixture chat_non_stream_cache_write.yaml: 4096 in (1024 read, 2560 written), 64 out.
  const auto c = p.cost("openai", "gpt-5.1-2025-11-13", usage(4096, 64, 1024, 2560));
  REQUIRE(c);
  // 512 uncached * 1.25e-6 + 1024 * 1.25e-7 + 2560 * 1.5625e-6 + 64 * 1e-5
  CHECK(c->usd == usd(0.005408));
}

TEST_CASE("cost: cache parts above the input count clamp the uncached part at zero") {
  const Price p{.input = 2e-6, .output = 8e-6, .cache_read = 5e-7, .cache_creation = 2.5e-6};
  // 80 read * 5e-7 + 50 written * 2.5e-6, nothing uncached
  CHECK(*cost_usd(p, usage(100, 0, 80, 50)) == usd(0.000165));
}

TEST_CASE("cost: reasoning tokens at the reasoning price only when the table has one") {
  Price p{.input = 2e-6, .output = 8e-6, .reasoning = 1.2e-5};
  // 400 visible * 8e-6 + 600 reasoning * 1.2e-5
  CHECK(*cost_usd(p, usage(0, 1000, -1, -1, 600)) == usd(0.0104));
  // More reasoning than output is not trusted beyond the output count.
  CHECK(*cost_usd(p, usage(0, 100, -1, -1, 500)) == usd(0.0012));
  p.reasoning.reset();
  CHECK(*cost_usd(p, usage(0, 1000, -1, -1, 600)) == usd(0.008));
}

TEST_CASE("cost: prompts above 200k tokens use the above-200k prices that exist") {
  const Price full{.input = 2e-6,
                   .output = 8e-6,
                   .cache_read = 5e-7,
                   .cache_creation = 2.5e-6,
                   .input_above_200k = 4e-6,
                   .output_above_200k = 1.6e-5,
                   .cache_read_above_200k = 1e-6,
                   .cache_creation_above_200k = 5e-6};
  // 190000 uncached * 4e-6 + 50000 read * 1e-6 + 10000 written * 5e-6 + 2000 out * 1.6e-5
  CHECK(*cost_usd(full, usage(250000, 2000, 50000, 10000)) == usd(0.892));
  // Exactly 200k is not above it.
  CHECK(*cost_usd(full, usage(200000, 1000)) == usd(0.408));
  CHECK(*cost_usd(full, usage(200001, 1000)) == usd(0.800004 + 0.016));

  // Only the input has a long-context price: cache reads keep their own price, output its own.
  const Price partial{.input = 2e-6, .output = 8e-6, .cache_read = 5e-7, .input_above_200k = 4e-6};
  CHECK(*cost_usd(partial, usage(300000, 1000, 100000)) == usd(0.8 + 0.05 + 0.008));
  // No cache read price at all: reads fall back to the (long-context) input price.
  const Price no_read{.input = 2e-6, .output = 8e-6, .input_above_200k = 4e-6};
  CHECK(*cost_usd(no_read, usage(300000, 0, 100000)) == usd(1.2));
}

TEST_CASE("cost: no figure without counts, with negative counts, or without a needed price") {
  const Price p{.input = 2e-6, .output = 8e-6};
  CHECK_FALSE(cost_usd(p, Usage{}));
  CHECK_FALSE(cost_usd(p, usage(-1, -1, 10, 10, 10)));  // parts without the totals
  Usage negative = usage(10, 10);
  negative.output_tokens = -5;
  CHECK_FALSE(cost_usd(p, negative));
  const Price input_only{.input = 2e-6};
  CHECK_FALSE(cost_usd(input_only, usage(10, 5)));
  CHECK(*cost_usd(input_only, usage(10, 0)) == usd(2e-5));
  const Price output_only{.output = 8e-6};
  CHECK_FALSE(cost_usd(output_only, usage(10, 5)));
  // A count so large the figure is not finite gives no figure.
  const Price huge{.input = 1e300, .output = 1e300};
  CHECK_FALSE(cost_usd(huge, usage(std::numeric_limits<std::int64_t>::max(), 0)));
}

// ---------------------------------------------------------------------------------------------
// Loading

TEST_CASE("loader: keeps token prices, skips unpriced and metadata entries, ignores unknown fields") {
  const PriceTable t = PriceTable::parse(R"({
    "sample_spec": {"input_cost_per_token": 0.0, "output_cost_per_token": 0.0, "litellm_provider": "one of"},
    "last_updated": "2026-07-24T18:23:43",
    "shadowmeter_table_info": {"source": "x", "as_of": "2026-07-24", "note": "y"},
    "model-a": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 1e-06,
                "output_cost_per_token": "2e-06", "supports_vision": true, "max_tokens": 4096,
                "supported_regions": ["us", "eu"],
                "search_context_cost_per_query": {"search_context_size_low": 0.03, "input_cost_per_token": -1}},
    "model-b": {"input_cost_per_token": 3, "output_cost_per_token": null, "cache_read_input_token_cost": null},
    "image-model": {"litellm_provider": "openai", "mode": "image_generation", "output_cost_per_image": 0.04},
    "model-c": {"litellm_provider": "x", "input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06,
                "cache_read_input_token_cost": 1e-07, "cache_creation_input_token_cost": 1.25e-06,
                "cache_creation_input_token_cost_above_1hr": 2e-06, "output_cost_per_reasoning_token": 3e-06,
                "input_cost_per_token_above_200k_tokens": 4e-06, "output_cost_per_token_above_200k_tokens": 5e-06,
                "cache_read_input_token_cost_above_200k_tokens": 6e-07,
                "cache_creation_input_token_cost_above_200k_tokens": 7e-06}
  })",
                                         "test");
  CHECK(t.size() == 3);
  CHECK(t.stats().entries == 3);
  CHECK(t.stats().skipped_no_price == 1);
  CHECK(t.stats().skipped_invalid == 0);
  CHECK(t.as_of() == "2026-07-24");
  CHECK_FALSE(t.exact("sample_spec"));
  CHECK_FALSE(t.exact("shadowmeter_table_info"));
  CHECK_FALSE(t.exact("image-model"));

  auto a = t.exact("model-a");
  REQUIRE(a);
  CHECK(*a->price->input == 1e-06);
  CHECK(*a->price->output == 2e-06);  // from the string "2e-06"
  CHECK_FALSE(a->price->cache_read);
  CHECK(a->litellm_provider == "openai");
  CHECK(a->source == "test:model-a");

  auto b = t.exact("model-b");
  REQUIRE(b);
  CHECK(*b->price->input == 3.0);
  CHECK_FALSE(b->price->output);
  CHECK_FALSE(b->price->cache_read);
  CHECK(b->litellm_provider.empty());

  auto c = t.exact("MODEL-C");
  REQUIRE(c);
  const Price& p = *c->price;
  CHECK(*p.cache_read == 1e-07);
  CHECK(*p.cache_creation == 1.25e-06);
  CHECK(*p.reasoning == 3e-06);
  CHECK(*p.input_above_200k == 4e-06);
  CHECK(*p.output_above_200k == 5e-06);
  CHECK(*p.cache_read_above_200k == 6e-07);
  CHECK(*p.cache_creation_above_200k == 7e-06);
}

TEST_CASE("loader: an entry with a negative, NaN, infinite or non-numeric price is skipped whole") {
  const std::string long_key(300, 'k');
  const PriceTable t = PriceTable::parse(R"({
    "good": {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06},
    "negative": {"input_cost_per_token": -1e-06, "output_cost_per_token": 2e-06},
    "negative-int": {"input_cost_per_token": 1e-06, "output_cost_per_token": -2},
    "nan": {"input_cost_per_token": "nan", "output_cost_per_token": 2e-06},
    "inf": {"input_cost_per_token": 1e-06, "output_cost_per_token": "inf"},
    "word": {"input_cost_per_token": "cheap", "output_cost_per_token": 2e-06},
    "padded": {"input_cost_per_token": " 1e-06", "output_cost_per_token": 2e-06},
    "flag": {"input_cost_per_token": true, "output_cost_per_token": 2e-06},
    "object": {"input_cost_per_token": {"usd": 1}, "output_cost_per_token": 2e-06},
    "array": {"input_cost_per_token": [1e-06], "output_cost_per_token": 2e-06},
    "bad-cache": {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06, "cache_read_input_token_cost": -1e-07},
    ")" + long_key + R"(": {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06},
    "": {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06}
  })",
                                         "test");
  CHECK(t.size() == 1);
  CHECK(t.stats().entries == 1);
  CHECK(t.stats().skipped_invalid == 12);
  CHECK(t.exact("good"));
  CHECK_FALSE(t.exact("negative"));
  CHECK_FALSE(t.exact("bad-cache"));
}

TEST_CASE("loader: a key repeated (in any case) keeps the later entry") {
  const PriceTable t = PriceTable::parse(R"({
    "gpt-x": {"litellm_provider": "openai", "input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06},
    "GPT-X": {"litellm_provider": "azure", "input_cost_per_token": 3e-06, "output_cost_per_token": 4e-06}
  })",
                                         "t");
  CHECK(t.size() == 1);
  auto m = t.exact("gpt-x");
  REQUIRE(m);
  CHECK(m->key == "GPT-X");
  CHECK(*m->price->input == 3e-06);
  CHECK(m->litellm_provider == "azure");
}

TEST_CASE("loader: text that is not a JSON object is an error naming the label and the reason") {
  CHECK_THAT(parse_error("not json"), Contains("price table test: not valid JSON"));
  CHECK_THAT(parse_error(""), Contains("not valid JSON"));
  CHECK_THAT(parse_error(R"({"a": {"input_cost_per_token": 1e-06)"), Contains("not valid JSON"));  // cut
  CHECK_THAT(parse_error("{} trailing"), Contains("not valid JSON"));
  CHECK_THAT(parse_error("[1, 2]"), Contains("price table test: the top level is not a JSON object"));
  CHECK_THAT(parse_error("42"), Contains("the top level is not a JSON object"));
  CHECK_THAT(parse_error(R"("text")"), Contains("the top level is not a JSON object"));
  // nlohmann/json refuses number literals beyond double range: the file is rejected.
  CHECK_THAT(parse_error(R"({"a": {"input_cost_per_token": 1e400}})"), Contains("not valid JSON"));
  CHECK_THAT(parse_error(std::string(kMaxTableBytes + 1, ' ')), Contains("larger than 64 MiB"));
  CHECK(parse_error("{}") == "no error");
}

TEST_CASE("loader: load_file names the file in its errors") {
  try {
    PriceTable::load_file("/nonexistent/prices.json");
    FAIL("no exception");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()) ==
          "price table /nonexistent/prices.json: cannot open the file: No such file or directory");
  }
  const TempFile bad("{\"a\": ");
  try {
    PriceTable::load_file(bad.path());
    FAIL("no exception");
  } catch (const std::runtime_error& e) {
    CHECK_THAT(e.what(), Contains("price table " + bad.path() + ": not valid JSON"));
  }
  try {
    PriceTable::builtin_from_file(bad.path());
    FAIL("no exception");
  } catch (const std::runtime_error& e) {
    CHECK_THAT(e.what(), Contains("price table " + bad.path() + ": not valid JSON"));
  }
}

TEST_CASE("loader: a generated 3000-entry LiteLLM-style file loads quickly") {
  std::string text = "{\n";
  text += R"(  "sample_spec": {"input_cost_per_token": 0.0, "litellm_provider": "one of", "mode": "chat"},)";
  text += "\n";
  for (int i = 0; i < 3000; ++i) {
    const std::string n = std::to_string(i);
    text += "  \"vendor/model-" + n + "\": {\n";
    text += "    \"cache_read_input_token_cost\": 1." + n + "e-07,\n";
    text += "    \"input_cost_per_token\": 1." + n + "e-06,\n";
    text += "    \"litellm_provider\": \"provider_" + std::to_string(i % 40) + "\",\n";
    text +=
        "    \"max_input_tokens\": 128000,\n    \"max_output_tokens\": 16384,\n    \"max_tokens\": 16384,\n";
    text += "    \"mode\": \"chat\",\n";
    text += "    \"output_cost_per_token\": \"4e-06\",\n";
    text += "    \"supported_regions\": [\"global\", \"us-west-2\"],\n";
    text += "    \"supports_function_calling\": true,\n    \"supports_prompt_caching\": true,\n";
    text += "    \"supports_response_schema\": true,\n    \"supports_vision\": true\n";
    text += i == 2999 ? "  }\n" : "  },\n";
  }
  text += "}\n";
  const TempFile file(text);

  const auto start = std::chrono::steady_clock::now();
  const PriceTable t = PriceTable::load_file(file.path());
  const auto elapsed = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start);
  std::printf("pricing: loaded a generated %zu-byte, 3000-entry table in %.2f ms\n", text.size(),
              elapsed.count());

  CHECK(t.size() == 3000);
  CHECK(t.stats().skipped_no_price == 0);
  auto m = t.exact("vendor/model-1234");
  REQUIRE(m);
  CHECK(*m->price->input == 1.1234e-06);
  CHECK(*m->price->output == 4e-06);
  CHECK(m->litellm_provider == "provider_34");
  CHECK(m->source == "file:" + file.path() + ":vendor/model-1234");
}

// ---------------------------------------------------------------------------------------------
// Lookup

namespace {

const char* const kLookupTable = R"({
  "gpt-4o": {"litellm_provider": "openai", "input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05},
  "gpt-4o-2024-05-13": {"litellm_provider": "openai", "input_cost_per_token": 5e-06, "output_cost_per_token": 1.5e-05},
  "gpt-4o-mini": {"litellm_provider": "openai", "input_cost_per_token": 1.5e-07, "output_cost_per_token": 6e-07},
  "azure/gpt-4o": {"litellm_provider": "azure", "input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05},
  "azure/gpt-4o-mini": {"litellm_provider": "azure", "input_cost_per_token": 1.65e-07, "output_cost_per_token": 6.6e-07},
  "claude-3-5-sonnet-20240620": {"litellm_provider": "anthropic", "input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05},
  "claude-3-7-sonnet-20250219": {"litellm_provider": "anthropic", "input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05},
  "claude-3-7-sonnet-latest": {"litellm_provider": "anthropic", "input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05},
  "claude-3-haiku": {"litellm_provider": "anthropic", "input_cost_per_token": 2.5e-07, "output_cost_per_token": 1.25e-06},
  "claude-opus-9-20270101": {"litellm_provider": "anthropic", "input_cost_per_token": 5e-06, "output_cost_per_token": 2.5e-05},
  "claude-opus-4": {"litellm_provider": "anthropic", "input_cost_per_token": 1.5e-05, "output_cost_per_token": 7.5e-05},
  "vertex_ai/claude-3-5-sonnet@20240620": {"litellm_provider": "vertex_ai-anthropic_models", "input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05},
  "gemini-2.5-pro": {"litellm_provider": "vertex_ai-language-models", "input_cost_per_token": 1.25e-06, "output_cost_per_token": 1e-05},
  "gemini/gemini-2.5-pro": {"litellm_provider": "gemini", "input_cost_per_token": 1.25e-06, "output_cost_per_token": 1e-05},
  "gemini-1.5-pro": {"litellm_provider": "vertex_ai-language-models", "input_cost_per_token": 1.25e-06, "output_cost_per_token": 5e-06},
  "gemini-2.0-flash-001": {"litellm_provider": "vertex_ai-language-models", "input_cost_per_token": 1.5e-07, "output_cost_per_token": 6e-07},
  "anthropic.claude-sonnet-4-5-20250929-v1:0": {"litellm_provider": "bedrock_converse", "input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05},
  "us.anthropic.claude-sonnet-4-5-20250929-v1:0": {"litellm_provider": "bedrock_converse", "input_cost_per_token": 3.3e-06, "output_cost_per_token": 1.65e-05},
  "anthropic.claude-sonnet-4-6": {"litellm_provider": "bedrock_converse", "input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05},
  "anthropic.claude-3-haiku-20240307-v1:0": {"litellm_provider": "bedrock", "input_cost_per_token": 2.5e-07, "output_cost_per_token": 1.25e-06},
  "amazon.nova-pro-v1:0": {"litellm_provider": "bedrock_converse", "input_cost_per_token": 8e-07, "output_cost_per_token": 3.2e-06},
  "openrouter/anthropic/claude-sonnet-4": {"litellm_provider": "openrouter", "input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05},
  "fireworks_ai/accounts/fireworks/models/llama-v3p1-8b-instruct": {"litellm_provider": "fireworks_ai", "input_cost_per_token": 2e-07, "output_cost_per_token": 2e-07},
  "groq/llama-3.3-70b-versatile": {"litellm_provider": "groq", "input_cost_per_token": 5.9e-07, "output_cost_per_token": 7.9e-07},
  "mistral/mistral-large-latest": {"litellm_provider": "mistral", "input_cost_per_token": 5e-07, "output_cost_per_token": 1.5e-06},
  "xai/grok-4": {"litellm_provider": "xai", "input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05},
  "deepseek-chat": {"litellm_provider": "deepseek", "input_cost_per_token": 2.8e-07, "output_cost_per_token": 4.2e-07},
  "command-r": {"litellm_provider": "cohere_chat", "input_cost_per_token": 1.5e-07, "output_cost_per_token": 6e-07},
  "perplexity/sonar": {"litellm_provider": "perplexity", "input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06}
})";

}  // namespace

TEST_CASE("model_variants: least normalised first, each step once") {
  CHECK(model_variants("arn:aws:bedrock:us-east-1:123456789012:inference-profile/"
                       "us.anthropic.claude-3-5-sonnet-20240620-v1:0") ==
        std::vector<std::string>{"arn:aws:bedrock:us-east-1:123456789012:inference-profile/"
                                 "us.anthropic.claude-3-5-sonnet-20240620-v1:0",
                                 "us.anthropic.claude-3-5-sonnet-20240620-v1:0",
                                 "anthropic.claude-3-5-sonnet-20240620-v1:0",
                                 "anthropic.claude-3-5-sonnet-20240620", "claude-3-5-sonnet-20240620",
                                 "claude-3-5-sonnet-latest", "claude-3-5-sonnet"});
  CHECK(model_variants(" Claude-3-5-Sonnet@20240620 ") ==
        std::vector<std::string>{"claude-3-5-sonnet@20240620", "claude-3-5-sonnet-20240620",
                                 "claude-3-5-sonnet-latest", "claude-3-5-sonnet"});
  CHECK(model_variants("publishers/google/models/gemini-1.5-pro@002") ==
        std::vector<std::string>{"publishers/google/models/gemini-1.5-pro@002", "gemini-1.5-pro@002",
                                 "gemini-1.5-pro-002", "gemini-1.5-pro"});
  CHECK(model_variants("gpt-4o-2024-08-06") ==
        std::vector<std::string>{"gpt-4o-2024-08-06", "gpt-4o-latest", "gpt-4o"});
  // Four-digit versions are not dates: mistral-large-2411 and gpt-4-0613 stay as they are.
  CHECK(model_variants("mistral-large-2411") == std::vector<std::string>{"mistral-large-2411"});
  CHECK(model_variants("gpt-4-0613") == std::vector<std::string>{"gpt-4-0613"});
  CHECK(model_variants("gpt-4.1") == std::vector<std::string>{"gpt-4.1"});
  CHECK(model_variants("").empty());
  CHECK(model_variants(std::string(257, 'a')).empty());
  CHECK(model_variants(std::string(256, 'a')).size() == 1);
}

TEST_CASE("find: exact ids, case-insensitive, and the provider's own entry first") {
  const PriceTable t = PriceTable::parse(kLookupTable, "t");
  CHECK(found_key(t, "openai", "gpt-4o") == "gpt-4o");
  CHECK(found_key(t, "openai", "GPT-4o") == "gpt-4o");
  CHECK(found_key(t, "openai", "gpt-4o-mini") == "gpt-4o-mini");
  // Azure's list price differs; its prefixed entry wins for Azure, the bare one otherwise.
  CHECK(found_key(t, "azure.ai.openai", "gpt-4o-mini") == "azure/gpt-4o-mini");
  CHECK(found_key(t, "gcp.gemini", "gemini-2.5-pro") == "gemini/gemini-2.5-pro");
  CHECK(found_key(t, "gcp.vertex_ai", "gemini-2.5-pro") == "gemini-2.5-pro");
  CHECK(found_key(t, "", "gemini-2.5-pro") == "gemini-2.5-pro");
  CHECK(found_key(t, "some.new.provider", "gemini-2.5-pro") == "gemini-2.5-pro");
  CHECK(found_key(t, "groq", "llama-3.3-70b-versatile") == "groq/llama-3.3-70b-versatile");
  CHECK(found_key(t, "mistral_ai", "mistral-large-latest") == "mistral/mistral-large-latest");
  CHECK(found_key(t, "x_ai", "grok-4") == "xai/grok-4");
  CHECK(found_key(t, "deepseek", "deepseek-chat") == "deepseek-chat");
  CHECK(found_key(t, "cohere", "command-r") == "command-r");
  CHECK(found_key(t, "perplexity", "sonar") == "perplexity/sonar");
  // The prefixed key only exists for its provider.
  CHECK(found_key(t, "openai", "llama-3.3-70b-versatile") == "-");

  auto m = t.find("azure.ai.openai", "gpt-4o-mini");
  REQUIRE(m);
  CHECK(m->source == "t:azure/gpt-4o-mini");
  CHECK(m->litellm_provider == "azure");
  CHECK(*m->price->input == 1.65e-07);
}

TEST_CASE("find: dated suffixes fall back to -latest, then to the base name") {
  const PriceTable t = PriceTable::parse(kLookupTable, "t");
  CHECK(found_key(t, "openai", "gpt-4o-2024-08-06") == "gpt-4o");
  CHECK(found_key(t, "openai", "gpt-4o-2024-05-13") == "gpt-4o-2024-05-13");  // its own price
  CHECK(found_key(t, "anthropic", "claude-3-5-sonnet-20240620") == "claude-3-5-sonnet-20240620");
  CHECK(found_key(t, "anthropic", "claude-3-7-sonnet-20991231") == "claude-3-7-sonnet-latest");
  CHECK(found_key(t, "anthropic", "claude-3-haiku-20240307") == "claude-3-haiku");
  // A less normalised form beats the provider's own entry for a more normalised one: Azure's
  // gpt-4o-2024-05-13 is priced as that model, not as azure/gpt-4o.
  CHECK(found_key(t, "azure.ai.openai", "gpt-4o-2024-05-13") == "gpt-4o-2024-05-13");
  CHECK(found_key(t, "azure.ai.openai", "gpt-4o-2024-11-20") == "azure/gpt-4o");
  // Four-digit versions are not dates: no fall back to mistral-large-latest's different price.
  CHECK(found_key(t, "mistral_ai", "mistral-large-2411") == "-");
}

TEST_CASE("find: Vertex AI versions and resource paths, Gemini models/ prefix") {
  const PriceTable t = PriceTable::parse(kLookupTable, "t");
  CHECK(found_key(t, "gcp.vertex_ai", "claude-3-5-sonnet@20240620") ==
        "vertex_ai/claude-3-5-sonnet@20240620");
  CHECK(found_key(t, "gcp.vertex_ai", "claude-3-7-sonnet@20250219") == "claude-3-7-sonnet-20250219");
  CHECK(found_key(t, "gcp.vertex_ai", "gemini-2.0-flash@001") == "gemini-2.0-flash-001");
  CHECK(found_key(t, "gcp.vertex_ai", "gemini-1.5-pro@002") == "gemini-1.5-pro");
  CHECK(found_key(t, "gcp.vertex_ai", "publishers/google/models/gemini-2.5-pro") == "gemini-2.5-pro");
  CHECK(found_key(t, "gcp.vertex_ai",
                  "projects/p1/locations/us-central1/publishers/google/models/gemini-2.5-pro") ==
        "gemini-2.5-pro");
  CHECK(found_key(t, "gcp.gemini", "models/gemini-2.5-pro") == "gemini/gemini-2.5-pro");
}

TEST_CASE("find: Bedrock cross-region prefixes, version suffixes, ARNs and vendor prefixes") {
  const PriceTable t = PriceTable::parse(kLookupTable, "t");
  // The regional profile has its own (higher) price when the table has it.
  CHECK(found_key(t, "aws.bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0") ==
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0");
  CHECK(found_key(t, "aws.bedrock", "eu.anthropic.claude-sonnet-4-5-20250929-v1:0") ==
        "anthropic.claude-sonnet-4-5-20250929-v1:0");
  CHECK(found_key(t, "aws.bedrock", "apac.anthropic.claude-3-haiku-20240307-v1:0") ==
        "anthropic.claude-3-haiku-20240307-v1:0");
  CHECK(found_key(t, "aws.bedrock", "global.anthropic.claude-sonnet-4-6") == "anthropic.claude-sonnet-4-6");
  CHECK(found_key(t, "aws.bedrock", "anthropic.claude-sonnet-4-6-v1:0") == "anthropic.claude-sonnet-4-6");
  CHECK(found_key(t, "aws.bedrock", "amazon.nova-pro-v1:0") == "amazon.nova-pro-v1:0");
  CHECK(found_key(t, "aws.bedrock", "us.amazon.nova-pro-v1:0") == "amazon.nova-pro-v1:0");
  CHECK(found_key(t, "aws.bedrock",
                  "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0") ==
        "anthropic.claude-3-haiku-20240307-v1:0");
  CHECK(found_key(t, "aws.bedrock",
                  "arn:aws:bedrock:us-east-1:123456789012:inference-profile/"
                  "us.anthropic.claude-sonnet-4-5-20250929-v1:0") ==
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0");
  // No Bedrock entry at all: the vendor's own list price is the last resort.
  CHECK(found_key(t, "aws.bedrock", "us.anthropic.claude-opus-9-20270101-v1:0") == "claude-opus-9-20270101");
  // An application inference profile is an opaque id (aliases can name it).
  CHECK(found_key(t, "aws.bedrock",
                  "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2") == "-");
}

TEST_CASE("find: gateway vendor/model ids, Fireworks account paths, unknown and odd ids") {
  const PriceTable t = PriceTable::parse(kLookupTable, "t");
  CHECK(found_key(t, "openrouter", "anthropic/claude-sonnet-4") == "openrouter/anthropic/claude-sonnet-4");
  CHECK(found_key(t, "openrouter", "openai/gpt-4o") == "gpt-4o");
  CHECK(found_key(t, "openrouter", "anthropic/claude-opus-4") == "claude-opus-4");
  CHECK(found_key(t, "together", "openai/gpt-4o-mini") == "gpt-4o-mini");
  CHECK(found_key(t, "fireworks", "accounts/fireworks/models/llama-v3p1-8b-instruct") ==
        "fireworks_ai/accounts/fireworks/models/llama-v3p1-8b-instruct");
  CHECK(found_key(t, "fireworks", "llama-v3p1-8b-instruct") ==
        "fireworks_ai/accounts/fireworks/models/llama-v3p1-8b-instruct");
  CHECK(found_key(t, "openai", "gpt-unknown") == "-");
  CHECK(found_key(t, "openai", "") == "-");
  CHECK(found_key(t, "openai", "   ") == "-");
  CHECK(found_key(t, "openai", std::string(300, 'g')) == "-");
}

// ---------------------------------------------------------------------------------------------
// Aliases, layering, the Pricer

TEST_CASE("aliases: a deployment name stands for a model, per provider or for all") {
  Pricer p(PriceTable::parse(kLookupTable, "t"));
  p.add_alias("azure.ai.openai", "Prod-Chat", "gpt-4o-mini");
  p.add_alias("", "shared", "gpt-4o");
  p.add_alias("azure.ai.openai", "shared", "gpt-4o-mini");
  // Applied before the table, even over a name the table knows.
  p.add_alias("azure.ai.openai", "gpt-4o", "gpt-4o-2024-05-13");

  auto key = [&](std::string_view provider, std::string_view model) {
    auto m = p.find(provider, model);
    return m ? m->key : std::string("-");
  };
  CHECK(key("azure.ai.openai", "prod-chat") == "azure/gpt-4o-mini");
  CHECK(key("azure.ai.openai", "PROD-CHAT") == "azure/gpt-4o-mini");
  CHECK(key("openai", "prod-chat") == "-");
  CHECK(key("anthropic", "shared") == "gpt-4o");
  CHECK(key("azure.ai.openai", "shared") == "azure/gpt-4o-mini");
  CHECK(key("azure.ai.openai", "gpt-4o") == "gpt-4o-2024-05-13");
  CHECK(key("openai", "gpt-4o") == "gpt-4o");

  auto c = p.cost("azure.ai.openai", "prod-chat", usage(1000, 1000));
  REQUIRE(c);
  CHECK(c->usd == usd(1.65e-4 + 6.6e-4));
  CHECK(c->source == "t:azure/gpt-4o-mini");
}

TEST_CASE("layering: a user file overrides the built-in table entry by entry") {
  const TempFile builtin_file(R"({
    "shadowmeter_table_info": {"source": "test", "as_of": "2026-01-01", "note": "n"},
    "gpt-4o": {"litellm_provider": "openai", "input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05},
    "gpt-4o-mini": {"litellm_provider": "openai", "input_cost_per_token": 1.5e-07, "output_cost_per_token": 6e-07}
  })");
  const TempFile user_file(R"({
    "GPT-4O": {"litellm_provider": "openai", "input_cost_per_token": "2e-06", "output_cost_per_token": "8e-06"},
    "in-house-llm": {"litellm_provider": "vllm", "input_cost_per_token": 0, "output_cost_per_token": 1e-07}
  })");
  PriceTable table = PriceTable::builtin_from_file(builtin_file.path());
  CHECK(table.as_of() == "2026-01-01");
  table.overlay(PriceTable::load_file(user_file.path()));
  CHECK(table.size() == 3);

  Pricer p(std::move(table));
  auto overridden = p.cost("openai", "gpt-4o", usage(1000, 100));
  REQUIRE(overridden);
  CHECK(overridden->usd == usd(0.002 + 0.0008));
  CHECK(overridden->source == "file:" + user_file.path() + ":GPT-4O");

  auto kept = p.cost("openai", "gpt-4o-mini", usage(1000, 100));
  REQUIRE(kept);
  CHECK(kept->usd == usd(1.5e-4 + 6e-5));
  CHECK(kept->source == "builtin:2026-01-01:gpt-4o-mini");

  auto added = p.cost("vllm", "in-house-llm", usage(1000, 100));
  REQUIRE(added);
  CHECK(added->usd == usd(1e-5));
  CHECK(added->source == "file:" + user_file.path() + ":in-house-llm");
}

TEST_CASE("builtin label: without an as_of date it is just 'builtin'") {
  const TempFile f(R"({"m": {"input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06},
                      "shadowmeter_table_info": {"as_of": "not a date: spaces"}})");
  Pricer p(PriceTable::builtin_from_file(f.path()));
  auto c = p.cost("", "m", usage(1, 1));
  REQUIRE(c);
  CHECK(c->source == "builtin:m");
}

TEST_CASE("pricer: calls with counts but no price are counted, calls without counts are not") {
  Pricer p(PriceTable::parse(R"({
    "gpt-4o": {"litellm_provider": "openai", "input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05,
               "cache_read_input_token_cost": 1.25e-06},
    "embed-only": {"litellm_provider": "openai", "input_cost_per_token": 1e-07}
  })",
                             "builtin:2026-07-24"));
  auto c = p.cost("openai", "gpt-4o", usage(1000, 500, 200));
  REQUIRE(c);
  // 800 * 2.5e-6 + 200 * 1.25e-6 + 500 * 1e-5
  CHECK(c->usd == usd(0.00725));
  CHECK(c->source == "builtin:2026-07-24:gpt-4o");
  CHECK(p.unpriced() == 0);

  CHECK_FALSE(p.cost("openai", "no-such-model", usage(10, 10)));
  CHECK(p.unpriced() == 1);
  CHECK_FALSE(p.cost("openai", "gpt-4o", Usage{}));
  CHECK_FALSE(p.cost("openai", "no-such-model", Usage{}));
  CHECK(p.unpriced() == 1);
  CHECK_FALSE(p.cost("openai", "embed-only", usage(10, 10)));  // output tokens, no output price
  CHECK(p.unpriced() == 2);
  CHECK(p.cost("openai", "embed-only", usage(10, -1)));
  CHECK(p.unpriced() == 2);
}

// ---------------------------------------------------------------------------------------------
// The shipped table

TEST_CASE("default_prices.json loads whole and prices the main models") {
  Pricer p(PriceTable::builtin_from_file(SM_DEFAULT_PRICES_FILE));
  const PriceTable& t = p.table();
  CHECK(t.as_of() == "2026-07-24");
  CHECK(t.size() == 140);
  CHECK(t.stats().skipped_no_price == 0);
  CHECK(t.stats().skipped_invalid == 0);

  SECTION("OpenAI gpt-4o, with cached input") {
    auto c = p.cost("openai", "gpt-4o-2024-08-06", usage(10000, 1000, 2000));
    REQUIRE(c);
    // 8000 * 2.5e-6 + 2000 * 1.25e-6 + 1000 * 1e-5
    CHECK(c->usd == usd(0.0325));
    CHECK(c->source == "builtin:2026-07-24:gpt-4o");
  }
  SECTION("Azure gpt-4o-mini has its own price") {
    auto c = p.cost("azure.ai.openai", "gpt-4o-mini", usage(1000000, 0));
    REQUIRE(c);
    CHECK(c->usd == usd(0.165));
    CHECK(c->source == "builtin:2026-07-24:azure/gpt-4o-mini");
  }
  SECTION("Anthropic claude-sonnet-4 with cache reads and writes") {
    auto c = p.cost("anthropic", "claude-sonnet-4-20250514", usage(12000, 1000, 8000, 2000));
    REQUIRE(c);
    // 2000 * 3e-6 + 8000 * 3e-7 + 2000 * 3.75e-6 + 1000 * 1.5e-5
    CHECK(c->usd == usd(0.0309));
    CHECK(c->source == "builtin:2026-07-24:claude-sonnet-4-20250514");
  }
  SECTION("Gemini 2.5 Pro below and above 200k prompt tokens") {
    auto short_prompt = p.cost("gcp.gemini", "models/gemini-2.5-pro", usage(1000, 1000));
    REQUIRE(short_prompt);
    CHECK(short_prompt->usd == usd(0.01125));
    CHECK(short_prompt->source == "builtin:2026-07-24:gemini/gemini-2.5-pro");
    // 200000 * 2.5e-6 + 50000 * 2.5e-7 + 10000 * 1.5e-5 (thoughts are output, no separate price)
    auto long_prompt = p.cost("gcp.gemini", "gemini-2.5-pro", usage(250000, 10000, 50000, -1, 4000));
    REQUIRE(long_prompt);
    CHECK(long_prompt->usd == usd(0.6625));
    auto vertex = p.cost("gcp.vertex_ai", "gemini-2.5-pro", usage(1000, 1000));
    REQUIRE(vertex);
    CHECK(vertex->source == "builtin:2026-07-24:gemini-2.5-pro");
  }
  SECTION("Bedrock Claude ids: regional profile, plain id, ARN") {
    auto us = p.cost("aws.bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", usage(1000, 1000));
    REQUIRE(us);
    CHECK(us->usd == usd(0.0033 + 0.0165));
    CHECK(us->source == "builtin:2026-07-24:us.anthropic.claude-sonnet-4-5-20250929-v1:0");
    auto plain = p.cost("aws.bedrock", "anthropic.claude-3-7-sonnet-20250219-v1:0", usage(1000, 1000));
    REQUIRE(plain);
    CHECK(plain->usd == usd(0.003 + 0.015));
    auto arn = p.find("aws.bedrock",
                      "arn:aws:bedrock:eu-west-1::foundation-model/anthropic.claude-sonnet-4-20250514-v1:0");
    REQUIRE(arn);
    CHECK(arn->key == "anthropic.claude-sonnet-4-20250514-v1:0");
  }
  SECTION("every main provider has at least one model") {
    CHECK(p.find("mistral_ai", "mistral-large-latest"));
    CHECK(p.find("groq", "llama-3.3-70b-versatile"));
    CHECK(p.find("deepseek", "deepseek-reasoner"));
    CHECK(p.find("x_ai", "grok-4"));
    CHECK(p.find("cohere", "command-a-03-2025"));
    CHECK(p.find("aws.bedrock", "amazon.nova-pro-v1:0"));
    CHECK(p.find("openai", "text-embedding-3-small"));
    CHECK(p.find("openai", "o4-mini"));
    CHECK(p.find("openai", "gpt-5-mini"));
    CHECK(p.find("gcp.gemini", "gemini-2.0-flash"));
    CHECK(p.find("anthropic", "claude-haiku-4-5"));
  }
}

TEST_CASE("price_call: answered model first, then the Azure deployment alias, then the requested model") {
  Pricer p(PriceTable::parse(R"({
    "gpt-4o": {"litellm_provider": "openai", "input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05},
    "azure/gpt-4o-mini": {"litellm_provider": "azure", "input_cost_per_token": 1.5e-07, "output_cost_per_token": 6e-07},
    "claude-sonnet-4-5": {"litellm_provider": "anthropic", "input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05}
  })", "t"));
  p.add_alias("azure.ai.openai", "chat-prod", "gpt-4o-mini");
  shadowmeter::providers::CallInfo c;
  c.provider = "openai";
  c.request_model = "gpt-4o";
  c.response_model = "gpt-4o-2024-08-06";
  c.usage = usage(1000, 100);
  auto cost = shadowmeter::pricing::price_call(p, c);
  REQUIRE(cost);
  CHECK(cost->usd == Approx(1000 * 2.5e-06 + 100 * 1e-05).epsilon(1e-12));
  CHECK(cost->source == "t:gpt-4o");

  // Azure: the response names a model with no price here, the deployment alias has one.
  c.provider = "azure.ai.openai";
  c.request_model.clear();
  c.response_model = "some-preview-model";
  c.attributes = {{"shadowmeter.azure.deployment", "chat-prod"}};
  cost = shadowmeter::pricing::price_call(p, c);
  REQUIRE(cost);
  CHECK(cost->usd == Approx(1000 * 1.5e-07 + 100 * 6e-07).epsilon(1e-12));
  CHECK(cost->source == "t:azure/gpt-4o-mini");
  CHECK(p.unpriced() == 0);

  // The requested model when nothing else is priced.
  c.provider = "anthropic";
  c.attributes.clear();
  c.request_model = "claude-sonnet-4-5";
  c.response_model = "claude-unknown-x";
  cost = shadowmeter::pricing::price_call(p, c);
  REQUIRE(cost);
  CHECK(cost->source == "t:claude-sonnet-4-5");

  // Nothing priced: no cost, counted once. No token counts: no cost, not counted.
  c.request_model = "mystery";
  CHECK_FALSE(shadowmeter::pricing::price_call(p, c));
  CHECK(p.unpriced() == 1);
  c.usage = {};
  CHECK_FALSE(shadowmeter::pricing::price_call(p, c));
  CHECK(p.unpriced() == 1);
}

TEST_CASE("loader: a price file's bad entry is an error naming the file, the model and the field") {
  const auto error_of = [](const std::string& text) {
    const TempFile f(text);
    try {
      PriceTable::load_file(f.path());
    } catch (const std::runtime_error& e) {
      const std::string what = e.what();
      const std::string prefix = "price table " + f.path() + ": ";
      CHECK(what.rfind(prefix, 0) == 0);
      return what.substr(prefix.size());
    }
    return std::string("loaded");
  };
  CHECK(error_of(R"({"m": {"input_cost_per_token": 1e-06}})") == "loaded");
  CHECK(error_of(R"({"gpt-x": {"input_cost_per_token": "cheap", "output_cost_per_token": 2e-06}})") ==
        R"(model "gpt-x", field input_cost_per_token: "cheap" is not a non-negative number of US dollars)");
  CHECK(error_of(R"({"a": {"input_cost_per_token": 1e-06}, "b": {"output_cost_per_token": -2e-06}})") ==
        R"(model "b", field output_cost_per_token: -2e-06 is not a non-negative number of US dollars)");
  CHECK(error_of(R"({"c": {"input_cost_per_token": true}, "d": {"input_cost_per_token": [1]}})") ==
        R"(model "c", field input_cost_per_token: a boolean is not a non-negative number of US dollars)"
        " (and 1 more invalid entries)");
  CHECK(error_of(R"({"e": {"cache_read_input_token_cost": {"x": 1}, "input_cost_per_token": 1e-06}})") ==
        R"(model "e", field cache_read_input_token_cost: an object is not a price)");
  CHECK(error_of(R"({"": {"input_cost_per_token": 1e-06}})") ==
        R"(model "": the model name is empty or longer than )" + std::to_string(shadowmeter::pricing::kMaxModelIdLen) + " bytes");
}

TEST_CASE("loader: a directory is named in the error") {
  const std::string dir = std::filesystem::temp_directory_path().string();
  try {
    PriceTable::load_file(dir);
    FAIL("no exception");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()) == "price table " + dir + ": it is a directory, not a file");
  }
}
