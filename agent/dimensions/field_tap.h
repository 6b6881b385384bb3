// The BodyTap of one request: keeps the first scalar value seen at each configured body path, bounded,
// and nothing else of the body.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dimensions/rules.h"
#include "providers/provider.h"

namespace shadowmeter::dimensions {

// A sensitive value is kept up to this many bytes to be fingerprinted whole (a longer one is
// fingerprinted by its first bytes); a plain value up to kMaxValueBytes.
inline constexpr std::size_t kMaxHashedBytes = 1024;

struct TakenValue {
  std::string text;    // cut at a UTF-8 boundary to the rule's bound
  bool cut = false;    // the value was longer than its bound
};

// The longest prefix of `s` of at most `max` bytes that ends on a UTF-8 character boundary; nullopt
// when `s` is not valid UTF-8 up to there.
std::optional<std::string_view> utf8_prefix(std::string_view s, std::size_t max);

// Bounded copy of a value for `rule`; nullopt for an empty or invalid UTF-8 value.
std::optional<TakenValue> take_value(const Rule& rule, std::string_view value);

class FieldTap final : public providers::BodyTap {
 public:
  explicit FieldTap(const std::vector<Rule>& rules) : rules_(rules), values_(rules.size()) {}

  void on_string(std::string_view path, std::string_view value) override { take(path, value); }
  void on_integer(std::string_view path, std::int64_t value) override { take(path, std::to_string(value)); }
  void on_bool(std::string_view path, bool value) override { take(path, value ? "true" : "false"); }

  // By rule index; nullopt when the body had no scalar at the rule's path (or the rule reads a header).
  const std::optional<TakenValue>& value(std::size_t rule) const { return values_[rule]; }

 private:
  void take(std::string_view path, std::string_view value);

  const std::vector<Rule>& rules_;
  std::vector<std::optional<TakenValue>> values_;
};

}  // namespace shadowmeter::dimensions
