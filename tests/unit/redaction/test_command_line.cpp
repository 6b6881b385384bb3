#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "redaction/command_line.h"

using namespace std::string_literals;
using shadowmeter::redaction::CommandLineMode;
using shadowmeter::redaction::format_command_line;
using shadowmeter::redaction::parse_command_line_mode;

namespace {
std::string redacted(const std::string& raw) { return format_command_line(raw, CommandLineMode::redacted); }
std::string full(const std::string& raw) { return format_command_line(raw, CommandLineMode::full); }
struct Case {
  std::string raw;  // NUL-separated argv
  std::string want;
};
}  // namespace

TEST_CASE("command line modes parse by name") {
  CHECK(parse_command_line_mode("full") == CommandLineMode::full);
  CHECK(parse_command_line_mode("redacted") == CommandLineMode::redacted);
  CHECK(parse_command_line_mode("executable") == CommandLineMode::executable);
  CHECK_FALSE(parse_command_line_mode("none"));
}

TEST_CASE("redacted: prompts and bodies become their length, flag names stay") {
  const std::vector<Case> cases = {
      {"claude\0-p\0Refactor the billing module to use the new API\0"s, "claude -p <46 chars>"},
      {"codex\0exec\0fix the failing test\0"s, "codex exec <20 chars>"},
      {"gemini\0--prompt=explain this repo\0"s, "gemini --prompt=<17 chars>"},
      {"node\0/usr/local/bin/claude\0hi there\0"s, "node /usr/local/bin/claude <8 chars>"},
      {"aider\0--message\0add tests\0src/main.py\0"s, "aider --message <9 chars> src/main.py"},
      {"curl\0-d\0{\"messages\":[]}\0https://api.openai.com/v1/chat/completions\0"s,
       "curl -d <15 chars> https://api.openai.com/v1/chat/completions"},
      {"curl\0--data-raw\0x\0--json\0{}\0"s, "curl --data-raw <1 chars> --json <2 chars>"},
      {"curl\0-d{\"model\":\"gpt-4o\"}\0"s, "curl -d<18 chars>"},
      {"python3\0-c\0import sys; print(sys.argv)\0api.anthropic.com\0/v1/messages\0"s,
       "python3 -c <27 chars> api.anthropic.com /v1/messages"},
      {"python3\0app.py\0{\"model\": \"claude-sonnet-4-5\", \"max_tokens\": 5}\0"s,
       "python3 app.py <47 chars>"},
      {"app\0PROMPT=write me a poem about the sea\0"s, "app PROMPT=<29 chars>"},
      // Header lines keep their name; a short value stays, a long free-text one goes.
      {"curl\0-H\0X-Note: a long note about the call at hand\0"s, "curl -H X-Note: <34 chars>"},
      {"curl\0-H\0Content-Type: application/json\0-H\0Authorization: Bearer abcdefgh\0"s,
       "curl -H Content-Type: application/json -H Authorization: Bearer ***"},
      // Short arguments, file names and model names stay.
      {"python3\0-m\0http.server\0--bind\0"
       "127.0.0.1\0"s,
       "python3 -m http.server --bind 127.0.0.1"},
      {"ollama\0run\0llama3.2\0"s, "ollama run llama3.2"},
      {"sh\0-c\0ls -l\0"s, "sh -c ls -l"},
      {"é\0été à la mer, été à la plage\0"s, "é <28 chars>"},
  };
  for (const Case& c : cases) {
    INFO(c.raw);
    CHECK(redacted(c.raw) == c.want);
  }
}

TEST_CASE("full: argv joined, secret values redacted") {
  const std::vector<Case> cases = {
      {"", ""},
      {"python3\0-m\0http.server\0--bind\0"
       "127.0.0.1\0"s,
       "python3 -m http.server --bind 127.0.0.1"},
      {"app\0--api-key=sk-1\0--verbose\0"s, "app --api-key=*** --verbose"},
      {"app\0--api-key\0sk-1\0--model\0gpt-4o\0"s, "app --api-key *** --model gpt-4o"},
      {"app\0--token\0--verbose\0"s, "app --token --verbose"},
      {"app\0--client-secret\0abc\0"s, "app --client-secret ***"},
      {"app\0-password\0abc\0x\0"s, "app -password *** x"},
      {"app\0--db-passwd=hunter2\0--credentials-file=/etc/creds.json\0"s,
       "app --db-passwd=*** --credentials-file=***"},
      {"env\0OPENAI_API_KEY=sk-proj-abc\0python3\0app.py\0"s, "env OPENAI_API_KEY=*** python3 app.py"},
      {"curl\0-H\0Authorization: Bearer sk-abc123\0https://api.openai.com/v1/models\0"s,
       "curl -H Authorization: Bearer *** https://api.openai.com/v1/models"},
      {"curl\0-H\0x-api-key: sk-ant-api03-xyz\0-H\0anthropic-version: 2023-06-01\0"s,
       "curl -H x-api-key: *** -H anthropic-version: 2023-06-01"},
      {"curl\0--header=Authorization: Bearer tok\0"s, "curl --header=Authorization: Bearer ***"},
      {"curl\0-H\0Authorization:Basic dXNlcjpwYXNz\0"s, "curl -H Authorization:Basic ***"},
      {"wget\0--header\0X-Custom: bearer abc.def\0"s, "wget --header X-Custom: bearer ***"},
      {"curl\0https://generativelanguage.googleapis.com/v1beta/models/g:generateContent?key=AIzaXYZ&alt=sse\0"s,
       "curl https://generativelanguage.googleapis.com/v1beta/models/g:generateContent?key=***&alt=sse"},
      {"psql\0postgresql://bob:hunter2@db:5432/app\0"s, "psql postgresql://bob:***@db:5432/app"},
      {"sh\0-c\0OPENAI_API_KEY=sk-1 python app.py --auth-token=t2\0"s,
       "sh -c OPENAI_API_KEY=*** python app.py --auth-token=***"},
      {"java\0-Dspring.datasource.password=pw\0-jar\0app.jar\0"s,
       "java -Dspring.datasource.password=*** -jar app.jar"},
      {"app\0--KEY=v\0"s, "app --KEY=***"},
      {"node\0\0x\0"s, "node  x"},  // an empty argument stays visible
  };
  for (const Case& c : cases) {
    INFO(c.raw);
    CHECK(full(c.raw) == c.want);
  }
}

TEST_CASE("every mode redacts credentials; executable keeps argv[0] only") {
  const std::string raw = "env\0OPENAI_API_KEY=sk-proj-abcdefghijklmnopqrstuvwx\0python3\0app.py\0"s;
  CHECK(full(raw) == "env OPENAI_API_KEY=*** python3 app.py");
  CHECK(redacted(raw) == "env OPENAI_API_KEY=*** python3 app.py");
  CHECK(format_command_line(raw, CommandLineMode::executable) == "env");
  CHECK(format_command_line("/opt/sk-proj-abcdefghijklmnopqrstuvwx/app\0x\0"s, CommandLineMode::executable) ==
        "/opt/***/app");
  CHECK(full("claude\0-p\0a long prompt that full mode keeps\0"s) ==
        "claude -p a long prompt that full mode keeps");
  CHECK(full("app\0--api-key\0abc\0--model\0gpt-4o\0"s) == "app --api-key *** --model gpt-4o");
  CHECK(redacted("app\0--api-key\0abc\0--model\0gpt-4o\0"s) == "app --api-key *** --model gpt-4o");
  CHECK(redacted("curl\0-H\0x-api-key: sk-ant-api03-xyz\0"s) == "curl -H x-api-key: ***");
  CHECK(redacted("curl\0-H\0api-key: 0123abcd\0"s) == "curl -H api-key: ***");
  CHECK(full("aws\0--id\0AKIAIOSFODNN7EXAMPLE\0--s\0wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\0"s) ==
        "aws --id *** --s ***");
}

TEST_CASE("a cut argv: its last argument, a fragment, is never shown") {
  const std::string raw = "curl\0-H\0x-api-key: sk-ant-ap"s;  // cut inside the key
  for (CommandLineMode m : {CommandLineMode::full, CommandLineMode::redacted})
    CHECK(format_command_line(raw, m, 4096, true) == "curl -H ...");
  CHECK(format_command_line(raw, CommandLineMode::executable, 4096, true) == "curl");
  CHECK(format_command_line("sk-proj-abc"s, CommandLineMode::full, 4096, true) == "...");
}

TEST_CASE("command lines are bounded after redaction, on UTF-8 boundaries") {
  std::string raw;
  for (int i = 0; i < 10; ++i) raw += "abcdefghi"s + '\0';
  CHECK(full(raw).size() == 99);
  CHECK(format_command_line(raw, CommandLineMode::full, 25) == "abcdefghi abcdefghi ab...");
  CHECK(format_command_line(raw, CommandLineMode::full, 2) == "ab");
  CHECK(format_command_line("--api-key=sk-verylongsecretvalue", CommandLineMode::full, 15) ==
        "--api-key=***");
  CHECK(format_command_line("\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9", CommandLineMode::full, 6) ==
        "\xC3\xA9...");
  std::string huge(1 << 20, 'x');
  CHECK(full(huge).size() == 4096);
  CHECK(redacted(huge).size() == 4096);
}
