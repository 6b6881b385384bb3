#include "pricing/pricer.h"

#include "pricing/model_names.h"

namespace shadowmeter::pricing {
namespace {

std::string alias_key(std::string_view provider, std::string_view name) {
  std::string k(provider);
  k += '\n';
  k += to_lower(name);
  return k;
}

}  // namespace

void Pricer::add_alias(std::string_view provider, std::string_view name, std::string_view model) {
  aliases_[alias_key(provider, name)] = std::string(model);
}

std::string_view Pricer::resolve_alias(std::string_view provider, std::string_view model) const {
  if (aliases_.empty() || model.size() > kMaxModelIdLen) return model;
  if (auto it = aliases_.find(alias_key(provider, model)); it != aliases_.end()) return it->second;
  if (auto it = aliases_.find(alias_key("", model)); it != aliases_.end()) return it->second;
  return model;
}

std::optional<PriceMatch> Pricer::find(std::string_view provider, std::string_view model) const {
  return table_.find(provider, resolve_alias(provider, model));
}

std::optional<Cost> Pricer::cost(std::string_view provider, std::string_view model,
                                 const providers::Usage& usage) const {
  if (!usage.input_tokens && !usage.output_tokens) return std::nullopt;
  std::optional<PriceMatch> match = find(provider, model);
  std::optional<double> usd;
  if (match) usd = cost_usd(*match->price, usage);
  if (!usd) {
    unpriced_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  return Cost{*usd, std::move(match->source)};
}

}  // namespace shadowmeter::pricing
