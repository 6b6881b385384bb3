#include "pricing/call_pricing.h"

#include <array>
#include <string_view>

namespace shadowmeter::pricing {

std::optional<Cost> price_call(const Pricer& pricer, const providers::CallInfo& c) {
  if (!c.usage.input_tokens && !c.usage.output_tokens) return std::nullopt;
  std::string_view deployment;
  for (const auto& [k, v] : c.attributes)
    if (k == "shadowmeter.azure.deployment") deployment = v;
  const std::array<std::string_view, 3> candidates{c.response_model, deployment, c.request_model};
  std::string_view chosen;
  for (std::string_view m : candidates) {
    if (!m.empty() && pricer.find(c.provider, m)) {
      chosen = m;
      break;
    }
  }
  if (chosen.empty()) {
    // No price: cost() counts the call as unpriced under the most specific name it has.
    for (std::string_view m : candidates) {
      if (!m.empty()) {
        chosen = m;
        break;
      }
    }
  }
  return pricer.cost(c.provider, chosen, c.usage);
}

}  // namespace shadowmeter::pricing
