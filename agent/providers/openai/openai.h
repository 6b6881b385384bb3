// The OpenAI wire format: Chat Completions, Completions, Embeddings and the Responses API, as served
// by api.openai.com, Azure OpenAI and the OpenAI-compatible APIs (groq, mistral_ai, x_ai, ...).
#pragma once

#include <memory>
#include <string>

#include "providers/provider.h"

namespace shadowmeter::providers {

// `provider_name` is what events report as gen_ai.provider.name ("openai", "groq", ...).
std::unique_ptr<Provider> make_openai_provider(std::string provider_name);

}  // namespace shadowmeter::providers
