#include "dimensions/extractor.h"

#include "dimensions/field_tap.h"

namespace shadowmeter::dimensions {

Extractor::Extractor(std::vector<Rule> rules, std::function<std::string(std::string_view)> fingerprint)
    : rules_(std::move(rules)), fingerprint_(std::move(fingerprint)) {
  for (const Rule& r : rules_) reads_body_ = reads_body_ || !r.field.empty();
}

std::unique_ptr<providers::BodyTap> Extractor::new_tap() const {
  if (!reads_body_) return nullptr;
  return std::make_unique<FieldTap>(rules_);
}

Extracted Extractor::extract(const providers::HeaderList& headers, const providers::BodyTap* tap) const {
  Extracted out;
  const auto* fields = dynamic_cast<const FieldTap*>(tap);
  for (std::size_t i = 0; i < rules_.size(); ++i) {
    const Rule& r = rules_[i];
    std::optional<TakenValue> v;
    if (!r.header.empty()) {
      for (const auto& [name, value] : headers) {
        if (name != r.header) continue;
        v = take_value(r, value);  // the first occurrence of a repeated header
        break;
      }
    } else if (fields) {
      v = fields->value(i);
    }
    if (!v) continue;
    if (r.sensitive) {
      out.attributes.emplace_back(r.attribute(), "fp:" + fingerprint_(v->text).substr(0, 16));
    } else {
      if (v->cut) ++out.cut;
      out.attributes.emplace_back(r.attribute(), std::move(v->text));
    }
  }
  return out;
}

}  // namespace shadowmeter::dimensions
