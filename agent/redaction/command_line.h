// process.command_line for events: argv joined by spaces, bounded, with credentials always redacted
// and, unless the configuration asks for the full line, prompts and request bodies replaced by
// their length.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace shadowmeter::redaction {

enum class CommandLineMode : unsigned char {
  full,        // every argument, credentials redacted as "***"
  redacted,    // executable and flag names; free text, JSON and prompt arguments become "<N chars>"
  executable,  // argv[0] only (credentials redacted)
};

std::optional<CommandLineMode> parse_command_line_mode(std::string_view s);
const char* to_string(CommandLineMode m);

// Free-text or JSON-looking arguments up to this many characters stay (a model name with a space,
// "-o out.json"); longer ones are taken for prompts, scripts or request bodies.
inline constexpr std::size_t kShortArgument = 16;

// Joins NUL-separated argv into one line of at most `max_len` bytes (cut on a UTF-8 boundary, "..."
// appended when cut). In every mode, credentials (redaction/secrets.h) become "***", including the
// value after a secret-named flag ("--api-key X"). In `redacted` mode, also replaced by
// "<N chars>" (N counts UTF-8 characters):
//  - the value of a body-carrying flag: -d, --data*, --json, -p, --prompt (any flag naming a
//    prompt), --message, --body, as "--flag value", "--flag=value" or curl's "-d{...}";
//  - any argument (or NAME=value / --flag=value value) longer than kShortArgument characters that
//    holds whitespace or starts like JSON ({ or [);
//  - for known AI command-line tools (claude, codex, gemini, crush, opencode, aider, llm, ollama,
//    ...; also when run as "node /path/to/claude ..."), every positional argument holding
//    whitespace or JSON, whatever its length.
//
// `argv_cut`: raw_argv was cut short (a bounded copy), so its last argument is a fragment; it is
// shown as "..." in every mode, as a fragment of a key or prompt may escape every rule.
std::string format_command_line(std::string_view raw_argv, CommandLineMode mode = CommandLineMode::redacted,
                                std::size_t max_len = 4096, bool argv_cut = false);

}  // namespace shadowmeter::redaction
