#include "dimensions/field_tap.h"

#include "common/utf8.h"

namespace shadowmeter::dimensions {

std::optional<std::string_view> utf8_prefix(std::string_view s, std::size_t max) {
  std::size_t end = 0;
  while (end < s.size()) {
    const std::size_t n = utf8::char_length(s, end);
    if (n == 0) return std::nullopt;
    if (end + n > max) break;
    end += n;
  }
  return s.substr(0, end);
}

std::optional<TakenValue> take_value(const Rule& rule, std::string_view value) {
  if (value.empty()) return std::nullopt;
  const std::size_t max = rule.sensitive ? kMaxHashedBytes : kMaxValueBytes;
  const auto prefix = utf8_prefix(value, max);
  if (!prefix || prefix->empty()) return std::nullopt;
  return TakenValue{std::string(*prefix), prefix->size() < value.size()};
}

void FieldTap::take(std::string_view path, std::string_view value) {
  for (std::size_t i = 0; i < rules_.size(); ++i) {
    if (values_[i] || rules_[i].field.empty() || rules_[i].field != path) continue;
    values_[i] = take_value(rules_[i], value);
  }
}

}  // namespace shadowmeter::dimensions
