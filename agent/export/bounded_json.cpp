#include "export/bounded_json.h"

#include <utility>
#include <vector>

namespace shadowmeter::exporting {
namespace {

using nlohmann::json;

// Rough heap cost of the DOM (libstdc++, 64-bit): every value is a 16-byte json; an array slot is
// counted twice for vector growth; an object entry is a map node with its key; a string a heap block.
constexpr std::uint64_t kValue = 16;
constexpr std::uint64_t kArraySlot = 16;
constexpr std::uint64_t kContainer = 48;
constexpr std::uint64_t kObjectEntry = 64;
constexpr std::uint64_t kString = 32;

// Builds the DOM like nlohmann's own SAX DOM parser, charging each value against the budget first.
class BoundedBuilder {
 public:
  explicit BoundedBuilder(const JsonLimits& limits, BoundedJson& out) : limits_(limits), out_(out) {}

  bool null() { return value(json(nullptr), 0); }
  bool boolean(bool v) { return value(json(v), 0); }
  bool number_integer(json::number_integer_t v) { return value(json(v), 0); }
  bool number_unsigned(json::number_unsigned_t v) { return value(json(v), 0); }
  bool number_float(json::number_float_t v, const std::string&) { return value(json(v), 0); }
  bool string(std::string& s) {
    const std::uint64_t cost = kString + s.size();
    return value(json(std::move(s)), cost);
  }
  bool binary(json::binary_t&) { return fail(JsonFailure::syntax, "binary values are not JSON"); }

  bool start_object(std::size_t) { return open(json::object()); }
  bool key(std::string& k) {
    if (!charge(kObjectEntry + k.size())) return false;
    key_ = &(*stack_.back())[std::move(k)];
    return true;
  }
  bool end_object() {
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t) { return open(json::array()); }
  bool end_array() {
    stack_.pop_back();
    return true;
  }
  bool parse_error(std::size_t position, const std::string&, const json::exception& e) {
    if (out_.failure == JsonFailure::none) {
      out_.failure = JsonFailure::syntax;
      out_.error = "not JSON (at byte " + std::to_string(position) + "): " + e.what();
    }
    return false;
  }

 private:
  bool fail(JsonFailure f, std::string why) {
    if (out_.failure == JsonFailure::none) {
      out_.failure = f;
      out_.error = std::move(why);
    }
    return false;
  }

  bool charge(std::uint64_t n) {
    out_.estimated_bytes += n;
    if (limits_.max_bytes != 0 && out_.estimated_bytes > limits_.max_bytes)
      return fail(JsonFailure::too_large,
                  "decoded document larger than " + std::to_string(limits_.max_bytes) + " bytes");
    while (limits_.reserve && out_.estimated_bytes > out_.reserved) {
      if (!limits_.reserve(kReserveStep))
        return fail(JsonFailure::busy, "too many request bodies being decoded at once");
      out_.reserved += kReserveStep;
    }
    return true;
  }

  // A new array or object, entered.
  bool open(json empty) {
    if (stack_.size() >= limits_.max_depth)
      return fail(JsonFailure::too_deep, "JSON nested deeper than " + std::to_string(limits_.max_depth) + " levels");
    if (!charge(kContainer)) return false;
    json* v = place(std::move(empty));
    if (v == nullptr) return false;
    stack_.push_back(v);
    return true;
  }

  json* place(json v) {
    if (!charge(kValue + (stack_.empty() || !stack_.back()->is_array() ? 0 : kArraySlot))) return nullptr;
    if (stack_.empty()) {
      out_.value = std::move(v);
      return &out_.value;
    }
    json& top = *stack_.back();
    if (top.is_array()) {
      top.push_back(std::move(v));
      return &top.back();
    }
    *key_ = std::move(v);
    return key_;
  }

  bool value(json v, std::uint64_t extra) { return charge(extra) && place(std::move(v)) != nullptr; }

  const JsonLimits& limits_;
  BoundedJson& out_;
  std::vector<json*> stack_;
  json* key_ = nullptr;
};

}  // namespace

BoundedJson parse_bounded_json(std::string_view text, const JsonLimits& limits) {
  BoundedJson out;
  BoundedBuilder builder(limits, out);
  const bool complete = json::sax_parse(text, &builder, json::input_format_t::json, true, false);
  if (!complete || out.failure != JsonFailure::none) {
    if (out.failure == JsonFailure::none) {
      out.failure = JsonFailure::syntax;
      out.error = "not JSON";
    }
    out.value = json();  // frees what was built
  }
  return out;
}

}  // namespace shadowmeter::exporting
