// The request-body fields every provider reads (model, stream, and a count of the prompt text for
// estimates), without keeping any prompt text.
#pragma once

#include <string>
#include <string_view>

#include "providers/estimate.h"
#include "providers/json_scan.h"
#include "providers/path_info.h"
#include "providers/provider.h"

namespace shadowmeter::providers {

class RequestFields final : public JsonVisitor {
 public:
  // `tap` (RequestView::body_tap, may be null) sees every scalar of the scan too.
  explicit RequestFields(BodyTap* tap = nullptr) : tap_(tap) {
    if (tap_) tap_->fed = true;
  }

  std::string model;
  bool stream = false;
  TokenEstimate::Tally prompt;  // prompt text counted, for estimates; the text itself is not kept

  void on_string(std::string_view path, std::string_view value) override {
    if (tap_) tap_->on_string(path, value);
    if (path == "model")
      model = bounded(value);
    else if (TokenEstimate::is_prompt_path(path))
      prompt.add(value);
  }
  void on_bool(std::string_view path, bool v) override {
    // stream_options.include_usage is not needed: a stream without usage simply reports none.
    if (tap_) tap_->on_bool(path, v);
    if (path == "stream") stream = v;
  }
  void on_integer(std::string_view path, std::int64_t v) override {
    if (tap_) tap_->on_integer(path, v);
  }

 private:
  BodyTap* tap_ = nullptr;
};

}  // namespace shadowmeter::providers
