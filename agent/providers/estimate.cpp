#include "providers/estimate.h"

#include <array>

#include "providers/json_scan.h"

namespace shadowmeter::providers {
namespace {

// The last component of a JSON path: "messages.[].content" -> "content".
std::string_view last_key(std::string_view path) {
  const auto dot = path.rfind('.');
  return dot == std::string_view::npos ? path : path.substr(dot + 1);
}

bool prompt_key(std::string_view key) {
  static constexpr std::array<std::string_view, 7> kKeys{"content", "text",         "prompt", "input",
                                                         "system",  "instructions", "query"};
  for (auto k : kKeys) {
    if (key == k) return true;
  }
  return false;
}

class PromptText final : public JsonVisitor {
 public:
  explicit PromptText(TokenEstimate::Tally& t) : t_(t) {}
  void on_string(std::string_view path, std::string_view value) override {
    if (TokenEstimate::is_prompt_path(path)) t_.add(value);
  }

 private:
  TokenEstimate::Tally& t_;
};

}  // namespace

bool TokenEstimate::is_prompt_path(std::string_view path) {
  // Arrays of strings ("input": ["a", "b"]) end in "[]": the key is one level up.
  if (path.ends_with(".[]")) path.remove_suffix(3);
  return prompt_key(last_key(path));
}

void TokenEstimate::Tally::add(std::string_view utf8) {
  for (char ch : utf8) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x80)
      ++ascii;
    else if ((c & 0xC0) != 0x80)  // a lead byte starts a code point; continuation bytes do not
      ++other;
  }
}

std::int64_t TokenEstimate::tokens_for(std::uint64_t ascii, std::uint64_t other) {
  return static_cast<std::int64_t>((ascii + 3) / 4 + other);
}

void TokenEstimate::add_output_text(std::string_view utf8) {
  output_.add(utf8);
  output_units_ += utf8.size();
}

void TokenEstimate::add_input_text(std::string_view utf8) { input_.add(utf8); }

void TokenEstimate::add_request_body(std::string_view json) {
  PromptText v(input_);
  scan_json(json, v);  // a cut or invalid body counts what was read before the cut
}

std::int64_t TokenEstimate::input_tokens() const { return tokens_for(input_.ascii, input_.other); }
std::int64_t TokenEstimate::output_tokens() const { return tokens_for(output_.ascii, output_.other); }

Usage TokenEstimate::to_usage() const {
  Usage u;
  if (input_.ascii || input_.other) u.input_tokens = input_tokens();
  u.output_tokens = output_tokens();
  u.source = UsageSource::estimated;
  return u;
}

}  // namespace shadowmeter::providers
