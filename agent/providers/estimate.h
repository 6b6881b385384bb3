// Token estimates for calls whose traffic carries no usage figures (a stream without
// include_usage, an interrupted stream): events then say shadowmeter.usage.source=estimated.
//
// Method: the text the model read and wrote is counted from the captured JSON, and turned into
// tokens as ceil(ASCII bytes / 4) + one token per non-ASCII code point. Four characters per token is
// the providers' own rule of thumb for English; scripts such as CJK run close to one token per
// character. It is an estimate and is labelled as one; it is never mixed with exact figures.
#pragma once

#include <cstdint>
#include <string_view>

#include "providers/usage.h"

namespace shadowmeter::providers {

class TokenEstimate {
 public:
  // Text the model wrote (a stream delta, a message's content).
  void add_output_text(std::string_view utf8);
  // Text the model read, counted from a request body: the string values whose key is one of
  // content, text, prompt, input, system, instructions, query (the prompt-carrying fields of every
  // supported API), anywhere in the document. A cut body counts what was captured.
  void add_request_body(std::string_view json);
  void add_input_text(std::string_view utf8);

  struct Tally {
    std::uint64_t ascii = 0;  // ASCII bytes
    std::uint64_t other = 0;  // non-ASCII code points (UTF-8 lead bytes)
    void add(std::string_view utf8);
  };
  // Prompt text already counted elsewhere (RequestFields counts it while reading model and stream).
  void add_input(const Tally& t) {
    input_.ascii += t.ascii;
    input_.other += t.other;
  }
  // The key test add_request_body uses, for visitors that count prompt text themselves: the last
  // path component, with a trailing "[]" (arrays of strings) skipped.
  static bool is_prompt_path(std::string_view path);

  bool has_output() const { return output_units_ > 0; }
  std::int64_t input_tokens() const;
  std::int64_t output_tokens() const;
  // Usage with source=estimated: input and output only (no cache or reasoning split is guessed).
  Usage to_usage() const;

  // ceil(ascii / 4) + other, for counts of ASCII bytes and non-ASCII code points.
  static std::int64_t tokens_for(std::uint64_t ascii, std::uint64_t other);

 private:
  Tally input_;
  Tally output_;
  std::uint64_t output_units_ = 0;
};

}  // namespace shadowmeter::providers
