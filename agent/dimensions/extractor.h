// Turns one request's configured headers and body fields into shadowmeter.dimension.* and
// shadowmeter.tag.* attributes: bounded, sensitive values as keyed fingerprints.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dimensions/rules.h"
#include "providers/provider.h"

namespace shadowmeter::dimensions {

struct Extracted {
  std::vector<std::pair<std::string, std::string>> attributes;  // attribute name, value
  std::uint64_t cut = 0;  // values cut to kMaxValueBytes
};

class Extractor {
 public:
  // `fingerprint`: the API key's keyed fingerprint (hex); a sensitive value is sent as
  // "fp:" + its first 16 hex digits.
  Extractor(std::vector<Rule> rules, std::function<std::string(std::string_view)> fingerprint);

  bool empty() const { return rules_.empty(); }
  // A fresh tap for one request body; null when no rule reads a body field.
  std::unique_ptr<providers::BodyTap> new_tap() const;
  // `tap` is what new_tap() returned (after the body was scanned into it), or null.
  Extracted extract(const providers::HeaderList& headers, const providers::BodyTap* tap) const;

 private:
  std::vector<Rule> rules_;
  std::function<std::string(std::string_view)> fingerprint_;
  bool reads_body_ = false;
};

}  // namespace shadowmeter::dimensions
