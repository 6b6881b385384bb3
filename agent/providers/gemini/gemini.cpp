// Usage normalisation (DESIGN.md): promptTokenCount already includes cachedContentTokenCount, and
// tool-use prompt tokens are billed as input, so input = prompt + toolUsePrompt. Thoughts are billed
// as output but reported apart from candidatesTokenCount, so output = candidates + thoughts.
// Counts are proto3 JSON: a zero count is left out of the body, so an absent count in a usage object
// means 0 where it is summed (it is still not reported as a part of its own).
#include "providers/gemini/gemini.h"

#include <array>
#include <optional>
#include <string_view>

#include "providers/estimate.h"
#include "providers/gemini/json_array_stream.h"
#include "providers/json_scan.h"
#include "providers/anthropic/anthropic.h"
#include "providers/openai/openai.h"
#include "providers/path_info.h"
#include "providers/text_util.h"

namespace shadowmeter::providers {
namespace {

// Guard for a buffered value (a whole body, or one element of a streamed array); the capture layer
// already cuts bodies at its own limit.
constexpr std::size_t kMaxValueBytes = 64u << 20;

enum class Api : std::uint8_t {
  unknown,
  generate,
  stream_generate,
  embed,
  count_tokens,
  partner,  // Vertex AI partner models (publishers/anthropic/...): another wire format, not read here
};

struct Method {
  std::string_view suffix;
  Api api;
  std::string_view operation;
};
constexpr std::array kMethods{
    Method{":generateContent", Api::generate, "generate_content"},
    Method{":streamGenerateContent", Api::stream_generate, "generate_content"},
    Method{":embedContent", Api::embed, "embeddings"},
    Method{":batchEmbedContents", Api::embed, "embeddings"},
    Method{":countTokens", Api::count_tokens, "count_tokens"},
};

// Gemini's OpenAI-compatible endpoint (/v1beta/openai/chat/completions) and Vertex AI's
// (/v1/projects/{p}/locations/{l}/endpoints/openapi/chat/completions).
bool openai_compatible(std::string_view path) {
  return path.find("/openai/") != std::string_view::npos ||
         path.find("/endpoints/openapi/") != std::string_view::npos;
}

// Vertex AI models of other publishers (Anthropic's Claude, ...) speak their own format.
// Claude on Vertex AI (publishers/anthropic/models/...:rawPredict) speaks Anthropic's Messages format.
bool anthropic_partner(std::string_view path) { return path.find("/publishers/anthropic/") != std::string_view::npos; }

// Other partner models (Llama, Mistral, ... on Vertex AI): provider, operation and model only.
bool partner_model(std::string_view path) {
  const auto p = path.find("/publishers/");
  return p != std::string_view::npos && path.substr(p).find("/publishers/google/") != 0;
}

std::optional<std::int64_t> checked_sum(std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}

struct UsageMetadata {
  std::optional<std::int64_t> prompt, candidates, cached, thoughts, tool_use;
  bool closed = false;  // the whole object was seen

  void set(std::string_view key, std::int64_t v) {
    if (v < 0) return;
    if (key == "promptTokenCount")
      prompt = v;
    else if (key == "candidatesTokenCount")
      candidates = v;
    else if (key == "cachedContentTokenCount")
      cached = v;
    else if (key == "thoughtsTokenCount")
      thoughts = v;
    else if (key == "toolUsePromptTokenCount")
      tool_use = v;
  }
  bool usable() const { return closed && prompt.has_value(); }
  // nullopt when the sums do not fit: no figure rather than a wrong one.
  std::optional<Usage> to_usage(UsageSource src) const {
    Usage u;
    u.input_tokens = checked_sum(*prompt, tool_use.value_or(0));
    u.output_tokens = checked_sum(candidates.value_or(0), thoughts.value_or(0));
    if (!u.input_tokens || !u.output_tokens) return std::nullopt;
    u.cache_read_input_tokens = cached;
    u.reasoning_output_tokens = thoughts;
    u.source = src;
    return u;
  }
};

// The fields of one GenerateContentResponse (a body, an SSE event or an array element), or of an
// error object.
class ResponseVisitor final : public JsonVisitor {
 public:
  std::string id;
  std::string model;
  std::string error_status;
  bool error = false;
  bool finished = false;  // a candidate has a finishReason: this is the last response of a stream
  UsageMetadata usage;
  TokenEstimate* output_text = nullptr;

  void reset() {
    id.clear();
    model.clear();
    error_status.clear();
    error = false;
    finished = false;
    usage = {};
  }

  void on_string(std::string_view path, std::string_view value) override {
    if (path == "candidates.[].content.parts.[].text") {
      if (output_text) output_text->add_output_text(value);
    } else if (path == "responseId") {
      assign_bounded(id, value);
    } else if (path == "modelVersion") {
      assign_bounded(model, value);
    } else if (path == "candidates.[].finishReason") {
      if (!value.empty()) finished = true;
    } else if (path == "error.status") {
      assign_bounded(error_status, value, 64);
    }
  }
  void on_integer(std::string_view path, std::int64_t v) override {
    if (strip_prefix(path, "usageMetadata")) usage.set(path, v);
  }
  void on_object_end(std::string_view path) override {
    if (path == "usageMetadata")
      usage.closed = true;
    else if (path == "error")
      error = true;
  }
};

class GeminiSession final : public ExchangeSession {
 public:
  explicit GeminiSession(const std::string& provider)
      : body_([this](std::string_view element) { on_value(element, /*cut=*/false); }, kMaxValueBytes) {
    call_.provider = provider;
    visitor_.output_text = &estimate_;
  }

  void on_request(const RequestView& req) override {
    const std::string_view path = path_only(req.target);
    if (openai_compatible(path) || anthropic_partner(path)) {
      // Same format as OpenAI's or Anthropic's: that module reads it, under this provider's name.
      delegate_provider_ = anthropic_partner(path) ? make_anthropic_provider(call_.provider)
                                                   : make_openai_provider(call_.provider);
      delegate_ = delegate_provider_->start();
      delegate_->on_request(req);
      return;
    }
    call_.request_model = model_from_path(path);
    if (partner_model(path)) {
      api_ = Api::partner;
      call_.operation = path.ends_with(":rawPredict") || path.ends_with(":streamRawPredict")
                            ? "chat"
                            : (path.ends_with(":countTokens") ? "count_tokens" : guess_operation(path));
      partner_stream_ = path.ends_with(":streamRawPredict");
      return;
    }
    for (const Method& m : kMethods) {
      if (path.ends_with(m.suffix)) {
        api_ = m.api;
        call_.operation = m.operation;
        break;
      }
    }
    if (api_ == Api::unknown) call_.operation = guess_operation(path);
    if (api_ == Api::generate || api_ == Api::stream_generate) estimate_.add_request_body(req.body);
  }

  void on_response_head(const ResponseHeadView& head) override {
    if (delegate_) return delegate_->on_response_head(head);
    head_seen_ = true;
    status_ = head.status;
    event_stream_ = head.event_stream;
    if (!head.headers) return;
    for (const auto& [name, value] : *head.headers) {
      if (name == "content-type" && !contains_ci(value, "json")) json_body_ = false;
    }
  }

  void on_response_body(std::string_view piece) override {
    if (delegate_) return delegate_->on_response_body(piece);
    if (!reads_body() || event_stream_ || !json_body_) return;
    body_.feed(piece);
  }

  void on_sse_event(std::string_view type, std::string_view data) override {
    if (delegate_) return delegate_->on_sse_event(type, data);
    if (!reads_body()) return;
    data = trim(data);
    if (data.empty()) return;
    on_value(data, /*cut=*/false);
  }

  CallInfo finish(bool complete) override {
    if (delegate_) return delegate_->finish(complete);
    call_.stream = api_ == Api::stream_generate || partner_stream_ || (head_seen_ && event_stream_);
    if (!head_seen_ || !reads_body()) return std::move(call_);
    if (!event_stream_) finish_body(complete);
    if (!error_status_.empty())
      call_.error_type = error_status_;
    else if (invalid_)
      call_.error_type = "invalid_json";
    // On a cut stream only a usage known to be the last one counts: running totals on an earlier
    // chunk would undercount. After an error, likewise.
    const bool usage_ok = !invalid_ && usage_ && api_ != Api::count_tokens &&
                          (call_.error_type.empty() ? (complete || usage_final_) : usage_final_);
    if (usage_ok) {
      const bool streamed = event_stream_ || body_.root_array();
      if (auto u = usage_->to_usage(streamed ? UsageSource::stream : UsageSource::response)) call_.usage = *u;
    }
    // No usage in the traffic (a cut stream): estimate from the text, labelled as an estimate.
    if (call_.usage.source == UsageSource::none && call_.error_type.empty() && status_ >= 200 &&
        status_ < 300 && (api_ == Api::generate || api_ == Api::stream_generate) && estimate_.has_output())
      call_.usage = estimate_.to_usage();
    return std::move(call_);
  }

 private:
  bool reads_body() const { return api_ != Api::unknown && api_ != Api::partner; }

  // One response object: an SSE event, an array element, or the whole body. `cut`: the capture
  // ended inside it, so only the parts that closed before the cut count.
  void on_value(std::string_view text, bool cut) {
    visitor_.reset();
    const ScanResult r = scanner_.scan(text, visitor_);
    if (r == ScanResult::invalid || (r == ScanResult::truncated && !cut)) {
      invalid_ = true;
      return;
    }
    if (call_.response_model.empty() && !visitor_.model.empty()) call_.response_model = visitor_.model;
    if (call_.response_id.empty() && !visitor_.id.empty()) call_.response_id = visitor_.id;
    if (visitor_.error && error_status_.empty())
      error_status_ = visitor_.error_status.empty() ? std::string("error") : visitor_.error_status;
    if (visitor_.finished) finish_seen_ = true;
    // Every streamed chunk may carry usageMetadata as running totals: the last one wins.
    if (visitor_.usage.usable()) {
      usage_ = visitor_.usage;
      usage_final_ = finish_seen_;
    }
  }

  void finish_body(bool complete) {
    const bool cut = !complete || body_.overflow();
    if (body_.trailing_garbage()) invalid_ = true;
    if (body_.root_array()) {
      if (!body_.pending().empty()) on_value(body_.pending(), /*cut=*/true);
      if (!cut && (!body_.pending().empty() || !body_.array_closed())) invalid_ = true;
      return;
    }
    if (body_.pending().empty()) return;
    on_value(body_.pending(), cut);
    usage_final_ = true;  // a single response: its usage is the call's
  }

  CallInfo call_;
  Api api_ = Api::unknown;
  bool partner_stream_ = false;
  std::unique_ptr<Provider> delegate_provider_;  // declared before delegate_: outlives it
  std::unique_ptr<ExchangeSession> delegate_;
  JsonScanner scanner_;
  ResponseVisitor visitor_;  // reused for every value
  JsonArrayStream body_;
  TokenEstimate estimate_;
  bool head_seen_ = false;
  int status_ = 0;
  bool event_stream_ = false;
  bool json_body_ = true;  // false when Content-Type names something other than JSON
  bool invalid_ = false;
  std::string error_status_;
  bool finish_seen_ = false;
  bool usage_final_ = false;
  std::optional<UsageMetadata> usage_;
};

}  // namespace

std::unique_ptr<Provider> make_gemini_provider(std::string provider_name) {
  return std::make_unique<NamedProvider<GeminiSession>>(std::move(provider_name));
}

}  // namespace shadowmeter::providers
