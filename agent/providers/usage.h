// What a provider module extracts from one AI API call; filled in by providers, read by export.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace shadowmeter::providers {

enum class UsageSource : std::uint8_t { response, stream, header, estimated, none };
const char* to_string(UsageSource s);

struct Usage {
  // Normalised as docs/events.md says: input includes cache reads/writes, output includes reasoning.
  std::optional<std::int64_t> input_tokens;
  std::optional<std::int64_t> output_tokens;
  std::optional<std::int64_t> cache_read_input_tokens;
  std::optional<std::int64_t> cache_write_input_tokens;  // gen_ai.usage.cache_write.input_tokens
  std::optional<std::int64_t> reasoning_output_tokens;
  UsageSource source = UsageSource::none;
};

struct CallInfo {
  std::string provider;        // gen_ai.provider.name
  std::string operation;       // gen_ai.operation.name ("" when unknown)
  std::string request_model;
  std::string response_model;
  std::string response_id;
  bool stream = false;
  Usage usage;
  std::string error_type;      // provider-level error (e.g. "invalid_json"); "" when none
  // Extra attributes (e.g. openai.request_id) as flat key/value pairs, already namespaced.
  std::vector<std::pair<std::string, std::string>> attributes;
};

}  // namespace shadowmeter::providers
