// Which model name prices a call, and its cost: the answered model (the one billed) first, then an
// Azure deployment name (mapped to a model by the configured aliases), then the requested model.
#pragma once

#include <optional>

#include "pricing/pricer.h"
#include "providers/usage.h"

namespace shadowmeter::pricing {

// nullopt when the call has no token counts or none of its model names has a price (the latter is
// counted by the pricer as unpriced, once per call).
std::optional<Cost> price_call(const Pricer& pricer, const providers::CallInfo& call);

}  // namespace shadowmeter::pricing
