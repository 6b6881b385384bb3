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
  const Provider& for_entry(const CatalogEntry& entry);

 private:
  std::unordered_map<std::string, std::unique_ptr<Provider>> by_format_;
  std::unordered_map<std::string, std::unique_ptr<Provider>> generic_by_name_;
};

}  // namespace shadowmeter::providers
