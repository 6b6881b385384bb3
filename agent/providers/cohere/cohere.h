// The Cohere wire format: Chat v2 and v1 (streamed and not), Embed v2 and v1 and the legacy v1
// Generate; Cohere's OpenAI-compatible endpoints (/compatibility/v1/...) go through the OpenAI module.
#pragma once

#include <memory>
#include <string>

#include "providers/provider.h"

namespace shadowmeter::providers {

// `provider_name` is what events report as gen_ai.provider.name ("cohere", ...).
std::unique_ptr<Provider> make_cohere_provider(std::string provider_name);

}  // namespace shadowmeter::providers
