#include "pricing/litellm_json.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "pricing/model_names.h"

namespace shadowmeter::pricing {
namespace {

using Json = nlohmann::json;

enum class Field : std::uint8_t {
  other,
  provider,
  as_of,
  input,
  output,
  cache_read,
  cache_creation,
  reasoning,
  input_above_200k,
  output_above_200k,
  cache_read_above_200k,
  cache_creation_above_200k,
};

Field classify(std::string_view k) {
  if (k == "litellm_provider") return Field::provider;
  if (k == "as_of") return Field::as_of;
  if (k == "input_cost_per_token") return Field::input;
  if (k == "output_cost_per_token") return Field::output;
  if (k == "cache_read_input_token_cost") return Field::cache_read;
  if (k == "cache_creation_input_token_cost") return Field::cache_creation;
  if (k == "output_cost_per_reasoning_token") return Field::reasoning;
  if (k == "input_cost_per_token_above_200k_tokens") return Field::input_above_200k;
  if (k == "output_cost_per_token_above_200k_tokens") return Field::output_above_200k;
  if (k == "cache_read_input_token_cost_above_200k_tokens") return Field::cache_read_above_200k;
  if (k == "cache_creation_input_token_cost_above_200k_tokens") return Field::cache_creation_above_200k;
  return Field::other;
}

bool is_price(Field f) { return f >= Field::input; }

std::optional<double>* slot(Price& p, Field f) {
  switch (f) {
    case Field::input:
      return &p.input;
    case Field::output:
      return &p.output;
    case Field::cache_read:
      return &p.cache_read;
    case Field::cache_creation:
      return &p.cache_creation;
    case Field::reasoning:
      return &p.reasoning;
    case Field::input_above_200k:
      return &p.input_above_200k;
    case Field::output_above_200k:
      return &p.output_above_200k;
    case Field::cache_read_above_200k:
      return &p.cache_read_above_200k;
    case Field::cache_creation_above_200k:
      return &p.cache_creation_above_200k;
    case Field::other:
    case Field::provider:
    case Field::as_of:
      return nullptr;
  }
  return nullptr;
}

// "1e-06" -> 1e-06; nullopt unless the whole string is one number.
std::optional<double> numeric_string(std::string_view s) {
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// A date-like token ("2026-07-24") that can go into source labels unchanged.
bool plain_token(std::string_view s) {
  if (s.empty() || s.size() > 32) return false;
  for (char c : s) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
                    c == '.' || c == '_';
    if (!ok) return false;
  }
  return true;
}

// Depth 1 is the top-level object (keys are model ids), depth 2 an entry (keys are fields); what is
// nested deeper is only counted, never kept.
class Reader final : public nlohmann::json_sax<Json> {
 public:
  explicit Reader(const EntrySink& sink) : sink_(sink) {}

  ReadResult& result() { return result_; }

  bool null() override { return scalar(Kind::null, 0, {}); }
  bool boolean(bool) override { return scalar(Kind::other, 0, {}); }
  bool number_integer(number_integer_t v) override {
    return scalar(Kind::number, static_cast<double>(v), {});
  }
  bool number_unsigned(number_unsigned_t v) override {
    return scalar(Kind::number, static_cast<double>(v), {});
  }
  bool number_float(number_float_t v, const string_t&) override { return scalar(Kind::number, v, {}); }
  bool string(string_t& v) override { return scalar(Kind::string, 0, v); }
  bool binary(binary_t&) override { return scalar(Kind::other, 0, {}); }

  bool start_object(std::size_t) override {
    if (depth_ == 1) begin_entry();
    if (depth_ == 2 && in_entry_ && is_price(field_)) invalid("an object is not a price");
    ++depth_;
    return true;
  }
  bool end_object() override {
    --depth_;
    if (depth_ == 1 && in_entry_) end_entry();
    return true;
  }
  bool start_array(std::size_t) override {
    if (depth_ == 0) return not_an_object();
    if (depth_ == 2 && in_entry_ && is_price(field_)) invalid("an array is not a price");
    ++depth_;
    return true;
  }
  bool end_array() override {
    --depth_;
    return true;
  }
  bool key(string_t& k) override {
    if (depth_ == 1) {
      key_ = k;
    } else if (depth_ == 2 && in_entry_) {
      field_ = classify(k);
      field_name_ = k;
    }
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& ex) override {
    if (result_.error.empty()) result_.error = std::string("not valid JSON: ") + ex.what();
    return false;
  }

 private:
  enum class Kind : std::uint8_t { null, number, string, other };
  enum class EntryKind : std::uint8_t { model, info, sample };

  // The entry is skipped; the first reason is kept for the caller's message.
  void invalid(const std::string& why) {
    if (invalid_) return;
    invalid_ = true;
    if (!result_.first_invalid.empty()) return;
    const std::string model = Json(key_.substr(0, kMaxModelIdLen)).dump(-1, ' ', false, Json::error_handler_t::replace);
    result_.first_invalid = "model " + model + (field_name_.empty() || !is_price(field_) ? "" : ", field " + field_name_) +
                            ": " + why;
  }

  bool not_an_object() {
    result_.error = "the top level is not a JSON object";
    return false;
  }

  void begin_entry() {
    in_entry_ = true;
    invalid_ = false;
    field_name_.clear();
    price_ = Price{};
    provider_.clear();
    field_ = Field::other;
    kind_ = key_ == "shadowmeter_table_info" ? EntryKind::info
            : key_ == "sample_spec"          ? EntryKind::sample
                                             : EntryKind::model;
  }

  void end_entry() {
    in_entry_ = false;
    if (kind_ != EntryKind::model) return;
    if (!invalid_ && (key_.empty() || key_.size() > kMaxModelIdLen)) {
      field_name_.clear();
      invalid("the model name is empty or longer than " + std::to_string(kMaxModelIdLen) + " bytes");
    }
    if (invalid_) {
      ++result_.stats.skipped_invalid;
    } else if (!price_.input && !price_.output) {
      ++result_.stats.skipped_no_price;
    } else {
      ++result_.stats.entries;
      sink_(key_, price_, provider_);
    }
  }

  bool scalar(Kind kind, double number, std::string_view text) {
    if (depth_ == 0) return not_an_object();
    if (depth_ != 2 || !in_entry_) return true;  // top-level metadata values, nested values
    if (kind_ == EntryKind::info) {
      if (field_ == Field::as_of && kind == Kind::string && plain_token(text)) result_.as_of = text;
      return true;
    }
    if (field_ == Field::provider) {
      if (kind == Kind::string && text.size() <= 64) provider_ = text;
      return true;
    }
    std::optional<double>* target = slot(price_, field_);
    if (target == nullptr || kind == Kind::null) return true;
    std::optional<double> v;
    if (kind == Kind::number) v = number;
    if (kind == Kind::string) v = numeric_string(text);
    // Negative, NaN or infinite prices (the last two only reachable through strings or
    // out-of-range literals) would turn into invented or meaningless costs.
    if (!v || !std::isfinite(*v) || *v < 0) {
      const std::string shown = kind == Kind::string   ? Json(std::string(text.substr(0, 64))).dump()
                                : kind == Kind::number ? Json(number).dump()
                                                       : std::string("a boolean");
      invalid(shown + " is not a non-negative number of US dollars");
      return true;
    }
    *target = v;
    return true;
  }

  const EntrySink& sink_;
  ReadResult result_;
  int depth_ = 0;
  bool in_entry_ = false;
  bool invalid_ = false;
  EntryKind kind_ = EntryKind::model;
  Field field_ = Field::other;
  std::string field_name_;
  std::string key_;
  std::string provider_;
  Price price_;
};

}  // namespace

ReadResult read_litellm_json(std::string_view text, const EntrySink& sink) {
  Reader reader(sink);
  if (text.size() > kMaxTableBytes) {
    reader.result().error = "larger than " + std::to_string(kMaxTableBytes >> 20) + " MiB";
    return std::move(reader.result());
  }
  const bool ok = Json::sax_parse(text.begin(), text.end(), &reader);
  ReadResult out = std::move(reader.result());
  if (!ok && out.error.empty()) out.error = "not valid JSON";
  return out;
}

}  // namespace shadowmeter::pricing
