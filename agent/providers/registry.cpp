#include "providers/registry.h"

#include "providers/anthropic/anthropic.h"
#include "providers/bedrock/bedrock.h"
#include "providers/cohere/cohere.h"
#include "providers/gemini/gemini.h"
#include "providers/ollama/ollama.h"
#include "providers/openai/openai.h"

namespace shadowmeter::providers {

Registry::Registry() {
  // One module per wire format; adding a provider that speaks one of these needs only a catalog entry.
  factories_.emplace("openai", &make_openai_provider);
  factories_.emplace("anthropic", &make_anthropic_provider);
  factories_.emplace("gemini", &make_gemini_provider);
  factories_.emplace("bedrock", &make_bedrock_provider);
  factories_.emplace("cohere", &make_cohere_provider);
  factories_.emplace("ollama", &make_ollama_provider);
}

const Provider& Registry::for_entry(const CatalogEntry& entry) {
  std::string key = entry.format + '\n' + entry.provider;
  if (auto it = instances_.find(key); it != instances_.end()) return *it->second;
  const auto f = factories_.find(entry.format);
  auto p = f != factories_.end() ? f->second(entry.provider) : make_generic_provider(entry.provider);
  return *instances_.emplace(std::move(key), std::move(p)).first->second;
}

}  // namespace shadowmeter::providers
