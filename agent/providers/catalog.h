// The AI-host catalog: which hosts are AI APIs and which provider module speaks for each.
// Loaded from a YAML data file (agent/providers/catalog.yaml, installed to share/shadowmeter).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shadowmeter::providers {

struct CatalogEntry {
  std::string provider;   // gen_ai.provider.name
  std::string pattern;    // "api.openai.com" or "*.openai.azure.com" (any non-empty label run)
  std::string format;     // wire format module: "openai", "anthropic", ... ("" = generic)
};

class Catalog {
 public:
  // Throws std::runtime_error with file and reason on a bad file (start-up configuration error).
  static Catalog load_file(const std::string& path);
  static Catalog parse(std::string_view yaml_text);

  // Host without port, case-insensitive; exact patterns win over wildcard ones; longest wildcard wins.
  std::optional<CatalogEntry> match(std::string_view host) const;
  std::size_t size() const { return entries_.size(); }
  void add(CatalogEntry e);

 private:
  std::vector<CatalogEntry> entries_;
};

}  // namespace shadowmeter::providers
