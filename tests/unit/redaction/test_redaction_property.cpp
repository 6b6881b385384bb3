// Property: whatever argv shape a key is planted in (its own argument, --flag=value, JSON or YAML
// text, NAME=value, a header line, a URL query), in whatever mode, it never reaches the command line
// of an event. The generator is seeded: every run checks the same shapes.
#include <catch2/catch.hpp>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "redaction/command_line.h"

using shadowmeter::redaction::CommandLineMode;
using shadowmeter::redaction::format_command_line;

namespace {

struct Gen {
  std::mt19937 rng{17};
  std::size_t below(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); }
  std::string chars(std::string_view alphabet, std::size_t n) {
    std::string s;
    for (std::size_t i = 0; i < n; ++i) s += alphabet[below(alphabet.size())];
    return s;
  }
  template <typename T>
  const T& pick(const std::vector<T>& v) {
    return v[below(v.size())];
  }
};

constexpr std::string_view kAlnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
constexpr std::string_view kUpperDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
constexpr std::string_view kAwsSecret = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/+";

// A key of a known shape: found by its shape alone.
std::string shaped_key(Gen& g) {
  switch (g.below(9)) {
    case 0:
      return "sk-proj-" + g.chars(kAlnum, 48);
    case 1:
      return "sk-ant-api03-" + g.chars(kAlnum, 80) + "-" + g.chars(kAlnum, 6) + "AA";
    case 2:
      return "AIza" + g.chars(kAlnum, 35);
    case 3:
      return "xai-" + g.chars(kAlnum, 60);
    case 4:
      return "gsk_" + g.chars(kAlnum, 52);
    case 5:
      return "hf_" + g.chars(kAlnum, 34);
    case 6:
      return "sk-or-v1-" + g.chars("0123456789abcdef", 64);
    case 7:
      return "eyJ" + g.chars(kAlnum, 20) + "." + "eyJ" + g.chars(kAlnum, 30) + "." + g.chars(kAlnum, 43);
    default:
      return "AKIA" + g.chars(kUpperDigits, 16);
  }
}

// Any secret (no recognisable shape): found by the name it is given.
// (Never starting with '-': "--token -v" is a flag without a value.)
std::string plain_secret(Gen& g) {
  return g.chars(kAlnum, 1) + g.chars("abcdefghijklmnopqrstuvwxyz0123456789-_", 7 + g.below(30));
}

using Shape = std::function<std::vector<std::string>(const std::string&)>;

// Shapes where the name says the value is secret: any value is redacted.
const std::vector<Shape>& named_shapes() {
  static const std::vector<Shape> shapes = {
      [](const std::string& k) {
        return std::vector<std::string>{"--api-key", k};
      },
      [](const std::string& k) {
        return std::vector<std::string>{"--token", k};
      },
      [](const std::string& k) { return std::vector<std::string>{"--api-key=" + k}; },
      [](const std::string& k) { return std::vector<std::string>{"--openai-api-key=" + k}; },
      [](const std::string& k) { return std::vector<std::string>{"OPENAI_API_KEY=" + k}; },
      [](const std::string& k) { return std::vector<std::string>{"HF_TOKEN=" + k}; },
      [](const std::string& k) {
        return std::vector<std::string>{"-H", "x-api-key: " + k};
      },
      [](const std::string& k) {
        return std::vector<std::string>{"-H", "api-key:" + k};
      },
      [](const std::string& k) {
        return std::vector<std::string>{"-H", "Authorization: Bearer " + k};
      },
      [](const std::string& k) { return std::vector<std::string>{"--header=X-Goog-Api-Key: " + k}; },
      [](const std::string& k) {
        return std::vector<std::string>{R"({"anthropic-version": "2023-06-01", "x-api-key": ")" + k + "\"}"};
      },
      [](const std::string& k) {
        return std::vector<std::string>{R"({\"api_key\":\")" + k + R"(\",\"n\":1})"};
      },
      [](const std::string& k) { return std::vector<std::string>{"{'api-key': '" + k + "'}"}; },
      [](const std::string& k) { return std::vector<std::string>{"api_key: " + k + "\nmodel: gpt-4o"}; },
      [](const std::string& k) { return std::vector<std::string>{"model: x\ntoken: \"" + k + "\"\n"}; },
      [](const std::string& k) {
        return std::vector<std::string>{"https://generativelanguage.googleapis.com/v1beta/models?key=" + k +
                                        "&alt=sse"};
      },
      [](const std::string& k) { return std::vector<std::string>{"wss://h/socket?v=1&token=" + k}; },
      [](const std::string& k) { return std::vector<std::string>{"postgresql://app:" + k + "@db:5432/x"}; },
      [](const std::string& k) {
        return std::vector<std::string>{"-c", "OPENAI_API_KEY=" + k + " python3 client.py --verbose"};
      },
  };
  return shapes;
}

// Shapes that give no hint: only a key's shape gives it away.
const std::vector<Shape>& bare_shapes() {
  static const std::vector<Shape> shapes = {
      [](const std::string& k) { return std::vector<std::string>{k}; },
      [](const std::string& k) { return std::vector<std::string>{"--x=" + k}; },
      [](const std::string& k) { return std::vector<std::string>{"use " + k + " please"}; },
      [](const std::string& k) { return std::vector<std::string>{"[\"" + k + "\"]"}; },
      [](const std::string& k) { return std::vector<std::string>{"{\"k\": \"" + k + "\"}"}; },
      [](const std::string& k) {
        return std::vector<std::string>{"-o", "/tmp/" + k + "/out"};
      },
  };
  return shapes;
}

const std::vector<std::string> kFiller = {
    "--model", "gpt-4o",   "-v",           "--max-tokens",   "512",
    "-o",      "out.json", "/v1/messages", "api.openai.com", "--stream"};

}  // namespace

TEST_CASE("property: a planted key never survives, in any argv shape and mode") {
  Gen g;
  const CommandLineMode modes[] = {CommandLineMode::full, CommandLineMode::redacted,
                                   CommandLineMode::executable};
  const std::vector<std::string> programs = {"python3", "curl", "/usr/bin/node", "claude", "env", "app"};
  std::size_t checked = 0, flags_kept = 0;
  for (int round = 0; round < 6000; ++round) {
    const bool named = g.below(2) == 0;
    std::string key = named && g.below(2) == 0 ? plain_secret(g) : shaped_key(g);
    std::vector<std::string> argv{g.pick(programs)};
    for (std::size_t n = g.below(4); n > 0; --n) argv.push_back(g.pick(kFiller));
    const Shape& shape = named ? g.pick(named_shapes()) : g.pick(bare_shapes());
    for (auto& a : shape(key)) argv.push_back(a);
    if (key.starts_with("AKIA") && g.below(2) == 0) {
      // An AWS secret access key after its key id, with no name to give it away.
      const std::string secret = g.chars(kAwsSecret, 40);
      argv.push_back(secret);
      key = secret;  // the harder one to catch
    }
    argv.push_back("--model");
    for (std::size_t n = g.below(3); n > 0; --n) argv.push_back(g.pick(kFiller));
    std::string raw;
    for (const auto& a : argv) raw += a + '\0';
    for (CommandLineMode m : modes) {
      const std::string out = format_command_line(raw, m);
      INFO("mode " << to_string(m) << " argv " << raw << " -> " << out);
      REQUIRE(out.find(key) == std::string::npos);
      REQUIRE(out.size() <= 4096);
      if (m != CommandLineMode::executable) {
        REQUIRE(out.find(" --model") != std::string::npos);  // flag names stay
        ++flags_kept;
      }
      ++checked;
    }
  }
  CHECK(checked == 18000);
  CHECK(flags_kept == 12000);
}
