// The Ollama native API (/api/chat, /api/generate, /api/embed, /api/embeddings), whose streams are
// NDJSON and on by default; Ollama's OpenAI-compatible /v1 endpoints go through the OpenAI module.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "providers/ndjson.h"
#include "providers/provider.h"

namespace shadowmeter::providers {

// `provider_name` is what events report as gen_ai.provider.name ("ollama", ...).
std::unique_ptr<Provider> make_ollama_provider(std::string provider_name);

}  // namespace shadowmeter::providers
