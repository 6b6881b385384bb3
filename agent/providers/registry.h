// Maps a catalog entry's wire format to the provider module that parses it.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>

#include "providers/catalog.h"
#include "providers/provider.h"

namespace shadowmeter::providers {

class Registry {
 public:
  Registry();  // registers every built-in module (openai, ...)
  // Never null: formats without a module get the generic provider named after the entry.
  // One instance per (format, provider), so "openai" entries for groq and openai stay apart.
  const Provider& for_entry(const CatalogEntry& entry);
  std::size_t instances() const { return instances_.size(); }

 private:
  using Factory = std::unique_ptr<Provider> (*)(std::string provider_name);
  std::unordered_map<std::string, Factory> factories_;                    // by format
  std::unordered_map<std::string, std::unique_ptr<Provider>> instances_;  // by format + '\n' + provider
};

}  // namespace shadowmeter::providers
