// Usage: Cohere bills on billed_units {input_tokens, output_tokens}. The neighbouring usage.tokens
// also counts the system prompt Cohere adds itself, which is not billed, so it is never read.
// Where billed_units sits:
//   chat v2 body                        usage.billed_units
//   chat v2 SSE stream, message-end     delta.usage.billed_units
//   chat v1, embed, generate body       meta.billed_units
//   v1 NDJSON stream, stream-end        response.meta.billed_units
// Responses do not name the model; only the request does.
#include "providers/cohere/cohere.h"

#include <array>
#include <optional>

#include "providers/estimate.h"
#include "providers/json_scan.h"
#include "providers/ndjson.h"
#include "providers/openai/openai.h"
#include "providers/path_info.h"
#include "providers/request_fields.h"
#include "providers/text_util.h"

namespace shadowmeter::providers {
namespace {

// Guard for the copy of a non-streamed body; the capture layer already cuts at its body limit.
constexpr std::size_t kMaxBodyBytes = 64u << 20;

enum class Endpoint : std::uint8_t { unknown, chat, embed, generate, openai };

Endpoint endpoint_of(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  if (path.find("/compatibility/") != std::string_view::npos) return Endpoint::openai;
  if (path.ends_with("/v2/chat") || path.ends_with("/v1/chat")) return Endpoint::chat;
  if (path.ends_with("/v2/embed") || path.ends_with("/v1/embed")) return Endpoint::embed;
  if (path.ends_with("/v1/generate")) return Endpoint::generate;
  return Endpoint::unknown;
}

std::string_view operation_of(Endpoint e) {
  switch (e) {
    case Endpoint::chat:
      return "chat";
    case Endpoint::embed:
      return "embeddings";
    case Endpoint::generate:
      return "text_completion";
    case Endpoint::openai:
    case Endpoint::unknown:
      return {};
  }
  return {};
}

bool mentions(std::string_view s, std::string_view lower_needle) {
  for (std::size_t i = 0; i + lower_needle.size() <= s.size(); ++i) {
    std::size_t k = 0;
    while (k < lower_needle.size() && (s[i + k] | 0x20) == lower_needle[k]) ++k;
    if (k == lower_needle.size()) return true;
  }
  return false;
}

constexpr std::array<std::string_view, 4> kBilledPaths{"usage.billed_units", "delta.usage.billed_units",
                                                       "meta.billed_units", "response.meta.billed_units"};

bool billed_path(std::string_view path) {
  for (auto p : kBilledPaths) {
    if (path == p) return true;
  }
  return false;
}

// billed_units.X -> X for any of the places billed_units sits; "" otherwise.
std::string_view billed_field(std::string_view path) {
  const auto dot = path.rfind('.');
  if (dot == std::string_view::npos || !billed_path(path.substr(0, dot))) return {};
  return path.substr(dot + 1);
}

bool output_text_path(std::string_view path) {
  return path == "text" ||  // v1 chat body and v1 text-generation events
         path == "delta.message.content.text" || path == "delta.message.tool_plan" ||
         path == "delta.message.tool_calls.function.arguments" || path == "message.content.[].text" ||
         path == "message.tool_plan" || path == "message.tool_calls.[].function.arguments" ||
         path == "generations.[].text";
}

// One response body, SSE event or NDJSON line.
class ObjectVisitor final : public JsonVisitor {
 public:
  std::string type;  // v2 "type", v1 "event_type"
  std::string id;
  bool finished = false;  // v1 "is_finished": true
  std::optional<std::int64_t> input, output;
  bool billed_closed = false;
  TokenEstimate* text = nullptr;  // output text is counted here (counts only, never kept)

  void reset() {
    type.clear();
    id.clear();
    finished = false;
    input.reset();
    output.reset();
    billed_closed = false;
  }

  void on_string(std::string_view path, std::string_view value) override {
    if (path == "type" || path == "event_type")
      assign_bounded(type, value, 64);
    else if (path == "id" || path == "response_id" || path == "response.response_id" || path == "response.id")
      assign_bounded(id, value);
    else if (text && output_text_path(path))
      text->add_output_text(value);
  }
  void on_integer(std::string_view path, std::int64_t v) override {
    if (v < 0) return;
    const std::string_view f = billed_field(path);
    if (f == "input_tokens")
      input = v;
    else if (f == "output_tokens")
      output = v;
  }
  void on_bool(std::string_view path, bool v) override {
    if (path == "is_finished") finished = v;
  }
  void on_object_end(std::string_view path) override {
    if (billed_path(path)) billed_closed = true;
  }

  bool usable() const { return billed_closed && (input || output); }
  Usage to_usage(UsageSource src) const {
    Usage u;
    u.input_tokens = input;
    u.output_tokens = output;
    u.source = src;
    return u;
  }
};

class CohereSession final : public ExchangeSession {
 public:
  CohereSession(const std::string& provider, const Provider& openai) : openai_(openai) {
    call_.provider = provider;
  }

  void on_request(const RequestView& req) override {
    const std::string_view path = path_only(req.target);
    endpoint_ = endpoint_of(path);
    if (endpoint_ == Endpoint::openai) {
      inner_ = openai_.start();  // made with this provider's name
      inner_->on_request(req);
      return;
    }
    call_.operation = operation_of(endpoint_);
    RequestFields v(req.body_tap);
    scanner_.scan(req.body, v);  // a cut or non-JSON body still yields what came before the cut
    call_.request_model = std::move(v.model);
    stream_requested_ = v.stream;
    if (generates()) estimate_.add_input(v.prompt);
  }

  void on_response_head(const ResponseHeadView& head) override {
    if (inner_) return inner_->on_response_head(head);
    head_seen_ = true;
    status_ = head.status;
    event_stream_ = head.event_stream;
    if (!head.headers) return;
    for (const auto& [name, value] : *head.headers) {
      if (name != "content-type" || event_stream_) continue;
      if (mentions(value, "stream+json") || mentions(value, "ndjson"))
        lines_mode_ = true;  // the v1 stream
      else if (!mentions(value, "json"))
        json_body_ = false;
    }
  }

  void on_response_body(std::string_view piece) override {
    if (inner_) return inner_->on_response_body(piece);
    if (!reads_body() || event_stream_) return;
    if (lines_mode_) {
      std::string_view line;
      while (lines_.next(piece, line)) on_stream_object(line, {}, false);
      return;
    }
    if (body_.size() + piece.size() > kMaxBodyBytes) {
      piece = piece.substr(0, kMaxBodyBytes - body_.size());
      overflow_ = true;
    }
    body_.append(piece);
  }

  void on_sse_event(std::string_view type, std::string_view data) override {
    if (inner_) return inner_->on_sse_event(type, data);
    if (!reads_body()) return;
    on_stream_object(trim(data), type == "message" ? std::string_view() : type, false);
  }

  CallInfo finish(bool complete) override {
    if (inner_) return inner_->finish(complete);
    call_.stream = head_seen_ ? (event_stream_ || lines_mode_) : stream_requested_;
    if (reads_body()) {
      if (event_stream_ || lines_mode_)
        finish_stream(complete);
      else
        finish_body(complete);
      estimate_if_silent();
    }
    if (lines_.oversized() > 0)
      call_.attributes.emplace_back("shadowmeter.ndjson.oversized_lines", std::to_string(lines_.oversized()));
    return std::move(call_);
  }

 private:
  bool generates() const { return endpoint_ == Endpoint::chat || endpoint_ == Endpoint::generate; }
  // Error bodies name no error type and carry no usage: only successful answers are read.
  bool reads_body() const {
    return head_seen_ && endpoint_ != Endpoint::unknown && json_body_ && status_ >= 200 && status_ <= 299;
  }

  void take_id(const ObjectVisitor& v) {
    if (call_.response_id.empty() && !v.id.empty()) call_.response_id = v.id;
  }

  // One SSE event (v2) or NDJSON line (v1). `may_be_cut`: the last bytes of a cut body.
  void on_stream_object(std::string_view json, std::string_view sse_type, bool may_be_cut) {
    if (ended_ || stream_invalid_ || json.empty()) return;
    ObjectVisitor& v = visitor_;
    v.reset();
    v.text = &estimate_;
    const ScanResult r = scanner_.scan(json, v);
    if (r != ScanResult::ok) {
      if (!(may_be_cut && r == ScanResult::truncated)) stream_invalid_ = true;
      return;
    }
    take_id(v);
    const std::string_view type = sse_type.empty() ? std::string_view(v.type) : sse_type;
    if (type == "message-end" || type == "stream-end" || v.finished) {
      ended_ = true;
      if (v.usable()) final_usage_ = v.to_usage(UsageSource::stream);
    }
  }

  void finish_stream(bool complete) {
    std::string_view line;
    if (lines_mode_ && lines_.last(line)) on_stream_object(line, {}, !complete);
    if (stream_invalid_) {
      call_.error_type = "invalid_json";
      return;
    }
    // Only the terminal event has usage; a stream cut before it has none.
    call_.usage = final_usage_;
  }

  void finish_body(bool complete) {
    if (body_.empty()) return;
    ObjectVisitor& v = visitor_;
    v.reset();
    v.text = generates() ? &estimate_ : nullptr;
    const ScanResult r = scanner_.scan(body_, v);
    const bool cut = !complete || overflow_;
    if (r == ScanResult::invalid || (r == ScanResult::truncated && !cut)) {
      call_.error_type = "invalid_json";
      return;
    }
    take_id(v);
    // In a cut body billed_units counts only if it closed before the cut.
    if (v.usable()) call_.usage = v.to_usage(UsageSource::response);
  }

  // A successful call whose traffic had no billed units (a stream cut before message-end, a gateway
  // that strips them): an estimate, never mixed with exact figures.
  void estimate_if_silent() {
    if (!generates() || !call_.error_type.empty() || call_.usage.source != UsageSource::none) return;
    if (estimate_.has_output()) call_.usage = estimate_.to_usage();
  }

  const Provider& openai_;
  std::unique_ptr<ExchangeSession> inner_;  // set for the OpenAI-compatible endpoints
  CallInfo call_;
  JsonScanner scanner_;
  ObjectVisitor visitor_;  // reused for every event
  TokenEstimate estimate_;
  Endpoint endpoint_ = Endpoint::unknown;
  bool stream_requested_ = false;
  bool head_seen_ = false;
  int status_ = 0;
  bool event_stream_ = false;
  bool lines_mode_ = false;  // the v1 NDJSON stream
  bool json_body_ = true;    // false when Content-Type names something other than JSON
  std::string body_;
  bool overflow_ = false;
  // Streaming state.
  NdjsonLines lines_;
  bool ended_ = false;
  bool stream_invalid_ = false;
  Usage final_usage_;
};

}  // namespace

std::unique_ptr<Provider> make_cohere_provider(std::string provider_name) {
  return std::make_unique<ProviderWithOpenAi<CohereSession>>(std::move(provider_name));
}

}  // namespace shadowmeter::providers
