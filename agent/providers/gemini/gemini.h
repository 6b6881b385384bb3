// The Gemini wire format: generateContent, streamGenerateContent (SSE with alt=sse, else one
// streamed JSON array), embedContent, batchEmbedContents and countTokens, as served by the Gemini
// API (generativelanguage.googleapis.com) and Vertex AI (publishers/google/models/...).
#pragma once

#include <memory>
#include <string>

#include "providers/provider.h"

namespace shadowmeter::providers {

// `provider_name` is what events report as gen_ai.provider.name ("gcp.gemini", "gcp.vertex_ai").
std::unique_ptr<Provider> make_gemini_provider(std::string provider_name);

}  // namespace shadowmeter::providers
