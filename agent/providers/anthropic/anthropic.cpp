// Usage normalisation (DESIGN.md): Anthropic's input_tokens excludes cache reads and cache writes,
// so the normalised input is input_tokens + cache_read_input_tokens + cache_creation_input_tokens;
// output_tokens already includes thinking.
//
// Streams: message_start carries the input and cache counts (exact from the start) and a placeholder
// output count; message_delta restates the usage cumulatively (output always, newer API versions
// also input and cache), so the last value of each field wins and deltas are never added.
#include "providers/anthropic/anthropic.h"

#include <optional>
#include <string_view>

#include "providers/estimate.h"
#include "providers/json_scan.h"
#include "providers/path_info.h"
#include "providers/request_fields.h"
#include "providers/text_util.h"

namespace shadowmeter::providers {
namespace {

// Guard for the copy of a non-streamed body; the capture layer already cuts at its body limit.
constexpr std::size_t kMaxBodyBytes = 64u << 20;
constexpr std::size_t kMaxTypeLen = 64;

enum class Endpoint : std::uint8_t { unknown, messages, count_tokens, complete };

Endpoint endpoint_of(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  if (path.ends_with("/messages/count_tokens")) return Endpoint::count_tokens;
  if (path.ends_with("/messages")) return Endpoint::messages;
  if (path.ends_with("/complete")) return Endpoint::complete;
  // Claude on Vertex AI: .../publishers/anthropic/models/{model}:rawPredict with the Messages body.
  if (path.ends_with(":rawPredict") || path.ends_with(":streamRawPredict")) return Endpoint::messages;
  return Endpoint::unknown;
}

std::string_view operation_of(Endpoint e) {
  switch (e) {
    case Endpoint::messages:
      return "chat";
    case Endpoint::complete:
      return "text_completion";
    case Endpoint::count_tokens:  // not a billed call
    case Endpoint::unknown:
      return {};
  }
  return {};
}

bool mentions_json(std::string_view content_type) {
  for (std::size_t i = 0; i + 4 <= content_type.size(); ++i) {
    if ((content_type[i] | 0x20) == 'j' && (content_type[i + 1] | 0x20) == 's' &&
        (content_type[i + 2] | 0x20) == 'o' && (content_type[i + 3] | 0x20) == 'n')
      return true;
  }
  return false;
}

// a + b + c, or nothing when it does not fit (counts are never negative).
std::optional<std::int64_t> checked_sum(std::int64_t a, std::int64_t b, std::int64_t c) {
  std::int64_t ab = 0;
  std::int64_t abc = 0;
  if (__builtin_add_overflow(a, b, &ab) || __builtin_add_overflow(ab, c, &abc)) return std::nullopt;
  return abc;
}

struct UsageFields {
  std::optional<std::int64_t> input, output, cache_read, cache_creation, cache_5m, cache_1h;
  bool closed = false;  // the whole usage object was seen

  void set(std::string_view rel, std::int64_t v) {
    if (v < 0) return;
    if (rel == "input_tokens")
      input = v;
    else if (rel == "output_tokens")
      output = v;
    else if (rel == "cache_read_input_tokens")
      cache_read = v;
    else if (rel == "cache_creation_input_tokens")
      cache_creation = v;
    else if (rel == "cache_creation.ephemeral_5m_input_tokens")
      cache_5m = v;
    else if (rel == "cache_creation.ephemeral_1h_input_tokens")
      cache_1h = v;
  }
  bool any() const { return input || output || cache_read || cache_creation || cache_5m || cache_1h; }

  // Per field, a later event's value replaces the earlier one.
  void update_from(const UsageFields& later, bool take_output) {
    auto take = [](std::optional<std::int64_t>& dst, const std::optional<std::int64_t>& src) {
      if (src) dst = src;
    };
    take(input, later.input);
    if (take_output) take(output, later.output);
    take(cache_read, later.cache_read);
    take(cache_creation, later.cache_creation);
    take(cache_5m, later.cache_5m);
    take(cache_1h, later.cache_1h);
  }

  // The cache write total; the TTL breakdown stands in when only it was sent.
  std::optional<std::int64_t> creation_total() const {
    if (cache_creation) return cache_creation;
    if (cache_5m || cache_1h) return checked_sum(cache_5m.value_or(0), cache_1h.value_or(0), 0);
    return std::nullopt;
  }

  Usage to_usage(UsageSource src, bool with_output) const {
    Usage u;
    const auto creation = creation_total();
    if (input) u.input_tokens = checked_sum(*input, cache_read.value_or(0), creation.value_or(0));
    if (with_output) u.output_tokens = output;
    if (u.input_tokens || u.output_tokens) {
      u.cache_read_input_tokens = cache_read;
      u.cache_write_input_tokens = creation;
      u.source = src;
    }
    return u;
  }
};

bool output_text_path(std::string_view path) {
  return path == "delta.text" || path == "delta.thinking" || path == "delta.partial_json" ||
         path == "content.[].text" || path == "content.[].thinking" || path == "content_block.text" ||
         path == "content_block.thinking" || path == "completion";
}

// One response body or one stream event. Message fields sit at the root of a body and under
// "message" in message_start.
class EventVisitor final : public JsonVisitor {
 public:
  std::string type;  // root "type"
  std::string id;
  std::string model;
  std::string error_type;  // error.type
  UsageFields usage;
  TokenEstimate* text = nullptr;  // output text is counted here (counts only, never kept)

  void reset() {
    type.clear();
    id.clear();
    model.clear();
    error_type.clear();
    usage = {};
  }

  void on_string(std::string_view path, std::string_view value) override {
    if (path == "type")
      assign_bounded(type, value, kMaxTypeLen);
    else if (path == "id" || path == "message.id")
      assign_bounded(id, value);
    else if (path == "model" || path == "message.model")
      assign_bounded(model, value);
    else if (path == "error.type")
      assign_bounded(error_type, value, kMaxTypeLen);
    else if (text && output_text_path(path))
      text->add_output_text(value);
  }
  void on_integer(std::string_view path, std::int64_t v) override {
    if (strip_prefix(path, "usage") || strip_prefix(path, "message.usage")) usage.set(path, v);
  }
  void on_object_end(std::string_view path) override {
    if (path == "usage" || path == "message.usage") usage.closed = true;
  }

  // The provider's error type when this is an error object, else "".
  std::string_view error() const {
    if (!error_type.empty()) return error_type;
    return type == "error" ? std::string_view("error") : std::string_view();
  }
};

class AnthropicSession final : public ExchangeSession {
 public:
  explicit AnthropicSession(const std::string& provider) { call_.provider = provider; }

  void on_request(const RequestView& req) override {
    const std::string_view path = path_only(req.target);
    endpoint_ = req.missed ? Endpoint::messages : endpoint_of(path);
    call_.operation = operation_of(endpoint_);
    RequestFields v(req.body_tap);
    scanner_.scan(req.body, v);  // a cut or non-JSON body still yields what came before the cut
    call_.request_model = v.model.empty() ? model_from_path(path) : std::move(v.model);
    stream_requested_ = v.stream || path.ends_with(":streamRawPredict");
    if (billed()) estimate_.add_input(v.prompt);
  }

  void on_response_head(const ResponseHeadView& head) override {
    head_seen_ = true;
    status_ = head.status;
    event_stream_ = head.event_stream;
    if (!head.headers) return;
    for (const auto& [name, value] : *head.headers) {
      if (value.empty()) continue;
      if (name == "request-id")
        request_id_ = bounded(value);
      else if (name == "anthropic-organization-id")
        organization_id_ = bounded(value);
      else if (name == "content-type" && !mentions_json(value))
        json_body_ = false;
    }
  }

  void on_response_body(std::string_view piece) override {
    if (event_stream_ || endpoint_ == Endpoint::unknown) return;
    if (body_.size() + piece.size() > kMaxBodyBytes) {
      piece = piece.substr(0, kMaxBodyBytes - body_.size());
      overflow_ = true;
    }
    body_.append(piece);
  }

  void on_sse_event(std::string_view type, std::string_view data) override {
    if (!billed() || stopped_ || stream_invalid_) return;
    data = trim(data);
    if (data.empty()) return;
    EventVisitor& v = visitor_;
    v.reset();
    v.text = &estimate_;
    if (scanner_.scan(data, v) != ScanResult::ok) {
      // SSE events arrive whole, so a bad one is a malformed stream, not a cut.
      stream_invalid_ = true;
      return;
    }
    const std::string_view t = (type.empty() || type == "message") ? std::string_view(v.type) : type;
    if (t == "message_start") {
      take_model_id(v);
      if (v.usage.any()) {
        // Its output_tokens is a placeholder before any content: never an output figure.
        stream_usage_.update_from(v.usage, false);
        stream_usage_seen_ = true;
      }
    } else if (t == "message_delta") {
      if (v.usage.any()) {
        stream_usage_.update_from(v.usage, true);
        stream_usage_seen_ = true;
        if (v.usage.output) output_from_delta_ = true;
      }
    } else if (t == "message_stop") {
      stopped_ = true;
    } else if (t == "error") {
      assign_bounded(stream_error_, v.error(), kMaxTypeLen);
    } else if (t == "completion") {  // legacy /v1/complete stream
      take_model_id(v);
    }
  }

  CallInfo finish(bool complete) override {
    call_.stream = head_seen_ ? event_stream_ : stream_requested_;
    if (endpoint_ != Endpoint::unknown && head_seen_) {
      if (event_stream_)
        finish_stream(complete);
      else
        finish_body(complete);
      estimate_if_silent();
    }
    if (!request_id_.empty()) call_.attributes.emplace_back("shadowmeter.anthropic.request_id", request_id_);
    if (!organization_id_.empty())
      call_.attributes.emplace_back("shadowmeter.anthropic.organization_id", organization_id_);
    if (cache_1h_)  // priced differently from the 5-minute writes
      call_.attributes.emplace_back("shadowmeter.anthropic.cache_creation_1h_tokens",
                                    std::to_string(*cache_1h_));
    return std::move(call_);
  }

 private:
  bool billed() const { return endpoint_ == Endpoint::messages || endpoint_ == Endpoint::complete; }

  void take_model_id(const EventVisitor& v) {
    if (call_.response_model.empty() && !v.model.empty()) call_.response_model = v.model;
    if (call_.response_id.empty() && !v.id.empty()) call_.response_id = v.id;
  }

  void report(const UsageFields& f, UsageSource src, bool with_output) {
    const Usage u = f.to_usage(src, with_output);
    if (u.source == UsageSource::none) return;
    call_.usage = u;
    cache_1h_ = f.cache_1h;
  }

  void finish_stream(bool complete) {
    if (stream_invalid_) {
      call_.error_type = "invalid_json";
      return;
    }
    call_.error_type = stream_error_;
    if (!stream_usage_seen_) return;
    // Input and cache counts are final from message_start on. The output count is final only from
    // the last message_delta: known once message_stop arrived, or the stream ended without a cut
    // or an error.
    const bool output_final = output_from_delta_ && (stopped_ || (complete && stream_error_.empty()));
    report(stream_usage_, UsageSource::stream, output_final);
  }

  void finish_body(bool complete) {
    if (!json_body_ || body_.empty()) return;
    EventVisitor& v = visitor_;
    v.reset();
    v.text = billed() ? &estimate_ : nullptr;
    const ScanResult r = scanner_.scan(body_, v);
    const bool cut = !complete || overflow_;
    if (r == ScanResult::invalid || (r == ScanResult::truncated && !cut)) {
      call_.error_type = "invalid_json";
      return;
    }
    if (!v.error().empty()) {
      call_.error_type = std::string(v.error());
      return;
    }
    if (!billed()) return;  // count_tokens answers a count, not a billed call
    take_model_id(v);
    // In a cut body the usage object counts only if it closed before the cut.
    if (v.usage.closed) report(v.usage, UsageSource::response, true);
  }

  // A successful call whose traffic had no usage at all (a gateway stripped it, the legacy API, a
  // stream cut before its first event): an estimate, never mixed with exact figures.
  void estimate_if_silent() {
    if (!billed() || status_ < 200 || status_ > 299 || !call_.error_type.empty()) return;
    if (call_.usage.source != UsageSource::none || stream_usage_seen_) return;
    if (estimate_.has_output()) call_.usage = estimate_.to_usage();
  }

  CallInfo call_;
  JsonScanner scanner_;
  EventVisitor visitor_;  // reused for every event of the stream
  TokenEstimate estimate_;
  Endpoint endpoint_ = Endpoint::unknown;
  bool stream_requested_ = false;
  bool head_seen_ = false;
  int status_ = 0;
  bool event_stream_ = false;
  bool json_body_ = true;  // false when Content-Type names something other than JSON
  std::string request_id_;
  std::string organization_id_;
  std::optional<std::int64_t> cache_1h_;
  std::string body_;
  bool overflow_ = false;
  // Streaming state.
  UsageFields stream_usage_;
  bool stream_usage_seen_ = false;
  bool output_from_delta_ = false;
  bool stopped_ = false;
  bool stream_invalid_ = false;
  std::string stream_error_;
};

}  // namespace

std::unique_ptr<Provider> make_anthropic_provider(std::string provider_name) {
  return std::make_unique<NamedProvider<AnthropicSession>>(std::move(provider_name));
}

}  // namespace shadowmeter::providers
