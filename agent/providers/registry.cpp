#include "providers/registry.h"

#include "providers/openai/openai.h"

namespace shadowmeter::providers {

Registry::Registry() { factories_.emplace("openai", &make_openai_provider); }

const Provider& Registry::for_entry(const CatalogEntry& entry) {
  std::string key = entry.format + '\n' + entry.provider;
  if (auto it = instances_.find(key); it != instances_.end()) return *it->second;
  const auto f = factories_.find(entry.format);
  auto p = f != factories_.end() ? f->second(entry.provider) : make_generic_provider(entry.provider);
  return *instances_.emplace(std::move(key), std::move(p)).first->second;
}

}  // namespace shadowmeter::providers
