// The Anthropic wire format: the Messages API (/v1/messages, streamed and not, also under a gateway's
// prefix and as Claude on Vertex AI :rawPredict), token counting and the legacy /v1/complete.
#pragma once

#include <memory>
#include <string>

#include "providers/provider.h"

namespace shadowmeter::providers {

// `provider_name` is what events report as gen_ai.provider.name ("anthropic", ...).
std::unique_ptr<Provider> make_anthropic_provider(std::string provider_name);

}  // namespace shadowmeter::providers
