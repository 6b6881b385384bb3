// Finds credentials in free text (a command-line argument, a header line, JSON or YAML text): by the
// name they are given and by the shape of known API keys. Used on every string an event carries
// that the agent did not produce itself.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace shadowmeter::redaction {

inline constexpr std::string_view kRedacted = "***";

struct Range {
  std::size_t begin = 0, end = 0;  // [begin, end) in the scanned text
};

struct SecretScan {
  // An AWS access key id was seen somewhere in the same command line: 40-character runs of the
  // secret access key alphabet are then taken for its secret key.
  bool aws_key_id_seen = false;
};

// Appends the ranges of `text` holding a secret (unsorted, maybe overlapping):
//  - the value after a name that suggests a secret (key, token, secret, password, passwd, auth,
//    credential), in any shape: name=value, name: value, "name": "value", 'name': 'value', a URL's
//    ?key=value, a header line "x-api-key: value", "Authorization: Bearer value";
//  - "Bearer X" anywhere, and the password of scheme://user:password@host;
//  - known key shapes wherever they stand: OpenAI / Anthropic / OpenRouter / DeepSeek sk-..., Google
//    AIza..., AWS access key ids (AKIA, ASIA, ...), xAI xai-..., Groq gsk_..., Hugging Face hf_...,
//    Perplexity pplx-..., Replicate r8_..., GitHub ghp_/github_pat_..., JWTs (eyJ....eyJ....), and
//    any run of 32+ letters and digits that mixes upper case, lower case and digits (keys without a
//    prefix, like Mistral's).
void find_secrets(std::string_view text, const SecretScan& scan, std::vector<Range>& out);

// True when a name (a flag, a header, a JSON key, an environment variable) suggests its value is
// secret: it contains key, token, secret, password, passwd, auth or credential.
bool secret_name(std::string_view name);

// True when `text` holds something shaped like an AWS access key id.
bool has_aws_key_id(std::string_view text);

// Appends `text` to `out` with every range replaced by "***"; `ranges` is sorted in place.
void append_with_ranges_redacted(std::string& out, std::string_view text, std::vector<Range>& ranges);

// `text` with every secret find_secrets() reports replaced by "***".
std::string redact_secrets(std::string_view text, const SecretScan& scan = {});

// Replaces every occurrence of `secret` in `s` by "***" (the exact credential a call was seen to
// send). Secrets shorter than 8 bytes are ignored: scrubbing them would mangle unrelated text and
// they are not API keys. Returns whether anything was replaced.
bool scrub_exact(std::string& s, std::string_view secret);

}  // namespace shadowmeter::redaction
