// How a model id seen in traffic (plus our provider name) maps onto the keys of a LiteLLM-format
// price table: the provider's key prefixes and litellm_provider values, and the model id's
// progressively normalised forms.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace shadowmeter::pricing {

// Longest model id we try to price; longer ids (or ARNs) are not looked up at all.
inline constexpr std::size_t kMaxModelIdLen = 256;

// LiteLLM's view of one of our providers (gen_ai.provider.name).
struct ProviderKeys {
  std::string_view provider;                 // ours, e.g. "azure.ai.openai"
  std::array<std::string_view, 2> prefixes;  // LiteLLM key prefixes, e.g. "azure/" ("" = unused)
  std::array<std::string_view, 2> litellm;   // fitting litellm_provider values ("" = unused)
};

// nullptr for a provider LiteLLM has no name for (then no prefix is tried and no entry is preferred).
const ProviderKeys* provider_keys(std::string_view provider);

// True when an entry's litellm_provider belongs to the provider: equal to one of its values, or
// one of them followed by '_' or '-' ("bedrock_converse", "vertex_ai-language-models").
bool provider_fits(const ProviderKeys& keys, std::string_view litellm_provider);

// The forms of a model id to look up, least normalised first, lower-cased, no duplicates:
// as given; ARN resource id; after a "models/" path; without a Bedrock cross-region prefix;
// without a Bedrock "-v1:0" version; without a Bedrock vendor ("anthropic."); without an
// OpenRouter-style "vendor/"; Vertex "@version" as "-version"; a dated suffix replaced by
// "-latest", then dropped; and last the id cut at the Vertex '@'.
// Empty for an empty id or one longer than kMaxModelIdLen.
std::vector<std::string> model_variants(std::string_view model);

// ASCII lower case (model ids and table keys are compared case-insensitively).
std::string to_lower(std::string_view s);

}  // namespace shadowmeter::pricing
