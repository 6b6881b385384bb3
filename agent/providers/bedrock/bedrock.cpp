// Usage normalisation (DESIGN.md): Bedrock reports cache reads and writes apart from the input
// count, as Anthropic does (Converse `usage`, the Anthropic body of InvokeModel, the invocation
// metrics of a stream, the token-count headers), so input = input + cache read + cache write.
//
// Where the figures come from, best first: the body (Converse usage; InvokeModel only when the body
// is Anthropic's), the stream (the ConverseStream `metadata` event; the invocation metrics of the
// last InvokeModelWithResponseStream chunk), the x-amzn-bedrock-*-token-count response headers, and
// last an estimate from the text when the traffic carries none.
#include "providers/bedrock/bedrock.h"

#include <array>
#include <optional>
#include <string_view>

#include "protocols/eventstream/eventstream.h"
#include "common/base64.h"
#include "providers/estimate.h"
#include "providers/json_scan.h"
#include "providers/path_info.h"
#include "providers/text_util.h"

namespace shadowmeter::providers {
namespace {

// Guard for the copy of a non-streamed body; the capture layer already cuts at its body limit.
constexpr std::size_t kMaxBodyBytes = 64u << 20;
constexpr std::size_t kMaxChunkBytes = 16u << 20;  // a decoded stream chunk; the framing caps it anyway

enum class Api : std::uint8_t { unknown, converse, converse_stream, invoke, invoke_stream };

struct Action {
  std::string_view suffix;
  Api api;
};
constexpr std::array kActions{
    Action{"/converse", Api::converse},
    Action{"/converse-stream", Api::converse_stream},
    Action{"/invoke", Api::invoke},
    Action{"/invoke-with-response-stream", Api::invoke_stream},
};

bool streaming(Api a) { return a == Api::converse_stream || a == Api::invoke_stream; }

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decoded(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size() && out.size() < kMaxValueLen; ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return bounded(out);
}

std::optional<std::int64_t> checked_sum(std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}

// One usage object, in any of Bedrock's shapes.
struct Counts {
  std::optional<std::int64_t> input, output, cache_read, cache_write;
  bool closed = false;  // the whole object was seen

  bool usable() const { return closed && input && output; }
  // nullopt when the sum does not fit: no figure rather than a wrong one.
  std::optional<Usage> to_usage(UsageSource src) const {
    auto in = checked_sum(*input, cache_read.value_or(0));
    if (in) in = checked_sum(*in, cache_write.value_or(0));
    if (!in) return std::nullopt;
    Usage u;
    u.input_tokens = in;
    u.output_tokens = output;
    u.cache_read_input_tokens = cache_read;
    u.cache_write_input_tokens = cache_write;
    u.source = src;
    return u;
  }
};

// Generated text in the shapes Bedrock returns: Converse and its stream deltas, and the native
// bodies of the model families (Anthropic, Llama, Titan, Mistral, Cohere, Nova, OpenAI-style).
constexpr std::array<std::string_view, 20> kOutputTextPaths{
    "output.message.content.[].text",
    "output.message.content.[].reasoningContent.reasoningText.text",
    "delta.text",
    "delta.reasoningContent.text",
    "delta.toolUse.input",
    "delta.thinking",
    "delta.partial_json",
    "content.[].text",
    "content.[].thinking",
    "completion",
    "generation",
    "outputText",
    "results.[].outputText",
    "outputs.[].text",
    "text",
    "generations.[].text",
    "choices.[].message.content",
    "choices.[].delta.content",
    "contentBlockDelta.delta.text",
    "contentBlockDelta.delta.reasoningContent.text",
};

// The fields of a response body, a ConverseStream event payload, or one decoded stream chunk.
class ResponseVisitor final : public JsonVisitor {
 public:
  Counts converse;   // "usage" in camelCase (Converse, ConverseStream metadata)
  Counts anthropic;  // "usage" in snake_case (an Anthropic body)
  Counts metrics;    // "amazon-bedrock-invocationMetrics" (the last chunk of a stream)
  std::optional<std::int64_t> latency_ms;
  std::string id;
  std::string model;
  TokenEstimate* output_text = nullptr;

  void reset() {
    converse = {};
    anthropic = {};
    metrics = {};
    latency_ms.reset();
    id.clear();
    model.clear();
  }

  void on_string(std::string_view path, std::string_view value) override {
    if (path == "id" || path == "message.id") {
      if (id.empty()) assign_bounded(id, value);
    } else if (path == "model" || path == "message.model") {
      if (model.empty()) assign_bounded(model, value);
    } else if (output_text) {
      for (std::string_view p : kOutputTextPaths) {
        if (path == p) {
          output_text->add_output_text(value);
          break;
        }
      }
    }
  }
  void on_integer(std::string_view path, std::int64_t v) override {
    if (v < 0) return;
    if (strip_prefix(path, "usage")) {
      set(path, v, "inputTokens", "outputTokens", "cacheReadInputTokens", "cacheWriteInputTokens", converse);
      set(path, v, "input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens",
          anthropic);
    } else if (strip_prefix(path, "amazon-bedrock-invocationMetrics")) {
      set(path, v, "inputTokenCount", "outputTokenCount", "cacheReadInputTokenCount",
          "cacheWriteInputTokenCount", metrics);
      if (path == "invocationLatency") latency_ms = v;
    } else if (path == "metrics.latencyMs") {
      latency_ms = v;
    }
  }
  void on_object_end(std::string_view path) override {
    if (path == "usage") {
      converse.closed = true;
      anthropic.closed = true;
    } else if (path == "amazon-bedrock-invocationMetrics") {
      metrics.closed = true;
    }
  }

 private:
  static void set(std::string_view key, std::int64_t v, std::string_view in, std::string_view out,
                  std::string_view read, std::string_view write, Counts& c) {
    if (key == in)
      c.input = v;
    else if (key == out)
      c.output = v;
    else if (key == read)
      c.cache_read = v;
    else if (key == write)
      c.cache_write = v;
  }
};

// The request: prompt text for estimates, and what the InvokeModel body says about the operation.
class RequestVisitor final : public JsonVisitor {
 public:
  TokenEstimate::Tally prompt;
  bool messages = false;     // chat: Anthropic, Nova, Mistral chat ("messages"), Cohere ("message")
  bool prompt_text = false;  // text completion: "prompt", Titan's "inputText"
  bool texts = false;        // Cohere embed

  void on_string(std::string_view path, std::string_view value) override {
    if (TokenEstimate::is_prompt_path(path)) prompt.add(value);
    if (path.starts_with("messages.") || path == "message")
      messages = true;
    else if (path == "prompt" || path == "inputText")
      prompt_text = true;
    else if (path == "texts.[]")
      texts = true;
  }
};

// "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/" -> "ThrottlingException";
// stream exceptions name the same errors in lower camel case ("throttlingException"): both become
// the upper camel case name, so one error counts alike whichever way it was delivered.
std::string error_name(std::string_view v) {
  v = v.substr(0, v.find(':'));
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  std::string s = bounded(v, 64);
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = static_cast<char>(s[0] - 'a' + 'A');
  return s;
}

// A header count: decimal digits only (up to 18, so it fits), else nothing.
std::optional<std::int64_t> header_count(std::string_view v) {
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  if (v.empty() || v.size() > 18) return std::nullopt;
  std::int64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return n;
}

// Only the base64 `bytes` of an InvokeModelWithResponseStream chunk, decoded on the spot.
class ChunkVisitor final : public JsonVisitor {
 public:
  explicit ChunkVisitor(std::string& out) : out_(out) {}
  bool found = false;
  bool decoded = false;
  void on_string(std::string_view path, std::string_view value) override {
    if (path != "bytes" || found) return;
    found = true;
    decoded = base64_decode(value, out_, kMaxChunkBytes);
  }

 private:
  std::string& out_;
};

class BedrockSession final : public ExchangeSession {
 public:
  explicit BedrockSession(const std::string& provider) { call_.provider = provider; }

  void on_request(const RequestView& req) override {
    const std::string_view path = path_only(req.target);
    for (const Action& a : kActions) {
      if (path.starts_with("/model/") && path.ends_with(a.suffix) && path.size() > 7 + a.suffix.size()) {
        api_ = a.api;
        // The model id may be an ARN: everything between "/model/" and the action, slashes included.
        call_.request_model = percent_decoded(path.substr(7, path.size() - 7 - a.suffix.size()));
        break;
      }
    }
    RequestVisitor v;
    scan_json(req.body, v);  // a cut or non-JSON body still yields what came before the cut
    estimate_.add_input(v.prompt);
    switch (api_) {
      case Api::converse:
      case Api::converse_stream:
        call_.operation = "chat";
        break;
      case Api::invoke:
      case Api::invoke_stream:
        // The body is in the model's own format: its shape tells the operation.
        if (contains_ci(call_.request_model, "embed") || v.texts)
          call_.operation = "embeddings";
        else if (v.messages)
          call_.operation = "chat";
        else if (v.prompt_text)
          call_.operation = "text_completion";
        break;
      case Api::unknown:
        call_.request_model = model_from_path(path);
        call_.operation = guess_operation(path);
        break;
    }
  }

  void on_response_head(const ResponseHeadView& head) override {
    head_seen_ = true;
    status_ = head.status;
    bool has_content_type = false;
    if (head.headers) {
      for (const auto& [name, value] : *head.headers) {
        if (name == "content-type") {
          has_content_type = true;
          if (value.starts_with("application/vnd.amazon.eventstream"))
            event_stream_ = true;
          else if (!contains_ci(value, "json"))
            json_body_ = false;
        } else if (name == "x-amzn-requestid" && !value.empty()) {
          request_id_ = bounded(value);
        } else if (name == "x-amzn-errortype") {
          header_error_ = error_name(value);
        } else if (name == "x-amzn-bedrock-input-token-count") {
          header_counts_.input = header_count(value);
        } else if (name == "x-amzn-bedrock-output-token-count") {
          header_counts_.output = header_count(value);
        } else if (name == "x-amzn-bedrock-cache-read-input-token-count") {
          header_counts_.cache_read = header_count(value);
        } else if (name == "x-amzn-bedrock-cache-write-input-token-count") {
          header_counts_.cache_write = header_count(value);
        } else if (name == "x-amzn-bedrock-invocation-latency") {
          header_latency_ = header_count(value);
        }
      }
    }
    header_counts_.closed = true;
    // A stream API's success without a Content-Type is still event-stream framed.
    if (!has_content_type && streaming(api_) && status_ >= 200 && status_ < 300) event_stream_ = true;
  }

  void on_response_body(std::string_view piece) override {
    if (api_ == Api::unknown) return;
    if (event_stream_) {
      decoder_.feed(piece);
      return;
    }
    if (!json_body_ || overflow_) return;
    if (body_.size() + piece.size() > kMaxBodyBytes) {
      piece = piece.substr(0, kMaxBodyBytes - body_.size());
      overflow_ = true;
    }
    body_.append(piece);
  }

  void on_sse_event(std::string_view /*type*/, std::string_view /*data*/) override {}  // not used by Bedrock

  CallInfo finish(bool complete) override {
    call_.stream = head_seen_ ? event_stream_ : streaming(api_);
    if (head_seen_ && api_ != Api::unknown) {
      if (event_stream_)
        finish_stream(complete);
      else
        finish_body(complete);
      if (!header_error_.empty()) call_.error_type = header_error_;  // the service's own word wins
      // Exact figures from the headers when neither body nor stream had them.
      if (call_.usage.source == UsageSource::none && header_counts_.usable()) {
        if (auto u = header_counts_.to_usage(UsageSource::header)) call_.usage = *u;
      }
      // No usage in the traffic (a stream cut before its last event): estimate it from the text,
      // labelled as an estimate.
      if (call_.usage.source == UsageSource::none && call_.error_type.empty() && status_ >= 200 &&
          status_ < 300 && estimate_.has_output())
        call_.usage = estimate_.to_usage();
    }
    if (!request_id_.empty()) call_.attributes.emplace_back("shadowmeter.aws.request_id", request_id_);
    if (const auto latency = latency_ms_ ? latency_ms_ : header_latency_)
      call_.attributes.emplace_back("shadowmeter.aws.bedrock.latency_ms", std::to_string(*latency));
    return std::move(call_);
  }

 private:
  void take_model_id() {
    if (call_.response_model.empty() && !visitor_.model.empty()) call_.response_model = visitor_.model;
    if (call_.response_id.empty() && !visitor_.id.empty()) call_.response_id = visitor_.id;
    if (visitor_.latency_ms) latency_ms_ = visitor_.latency_ms;
  }

  void on_message(const eventstream::Message& m) {
    if (m.message_type == "exception" || m.message_type == "error") {
      if (stream_error_.empty()) {
        const std::string_view name = m.message_type == "exception" ? m.exception_type : m.error_code;
        stream_error_ = name.empty() ? std::string(m.message_type) : error_name(name);
      }
      return;
    }
    if (m.message_type != "event") return;
    if (api_ == Api::converse_stream) {
      if (!scan(m.payload)) return;
      // metadata is the last event of a ConverseStream: its usage is the call's.
      if (m.event_type == "metadata" && visitor_.converse.usable()) stream_usage_ = visitor_.converse;
    } else if (api_ == Api::invoke_stream && m.event_type == "chunk") {
      ChunkVisitor c(chunk_);
      if (scan_json(m.payload, c) != ScanResult::ok || !c.decoded) {
        stream_invalid_ = true;
        return;
      }
      if (!scan(chunk_)) return;
      if (visitor_.metrics.usable()) stream_usage_ = visitor_.metrics;
    }
  }

  // One whole JSON document of the stream; false (and the stream marked invalid) if it is not.
  bool scan(std::string_view json) {
    visitor_.reset();
    visitor_.output_text = &estimate_;
    if (scanner_.scan(json, visitor_) != ScanResult::ok) {
      stream_invalid_ = true;
      return false;
    }
    take_model_id();
    return true;
  }

  void finish_stream(bool complete) {
    decoder_.finish();
    switch (decoder_.error()) {
      case eventstream::Error::none:
        break;
      case eventstream::Error::prelude_crc:
      case eventstream::Error::message_crc:
        call_.error_type = "eventstream_crc";
        break;
      case eventstream::Error::too_long:
        call_.error_type = "eventstream_oversize";
        break;
      case eventstream::Error::too_short:
      case eventstream::Error::bad_headers:
        call_.error_type = "eventstream_invalid";
        break;
      case eventstream::Error::truncated:
        if (complete) call_.error_type = "eventstream_invalid";  // else the capture was cut: not an error
        break;
    }
    if (!stream_error_.empty())
      call_.error_type = stream_error_;
    else if (stream_invalid_ && call_.error_type.empty())
      call_.error_type = "invalid_json";
    // The usage of the last event is final and exact whatever came after it; without it there is
    // no exact figure.
    if (stream_usage_) {
      if (auto u = stream_usage_->to_usage(UsageSource::stream)) call_.usage = *u;
    }
  }

  void finish_body(bool complete) {
    if (!json_body_ || body_.empty()) return;
    visitor_.reset();
    visitor_.output_text = &estimate_;
    const ScanResult r = scanner_.scan(body_, visitor_);
    const bool cut = !complete || overflow_;
    if (r == ScanResult::invalid || (r == ScanResult::truncated && !cut)) {
      call_.error_type = "invalid_json";
      return;
    }
    take_model_id();
    // In a cut body a usage object counts only if it closed before the cut.
    const Counts* c =
        api_ == Api::converse || api_ == Api::converse_stream ? &visitor_.converse : &visitor_.anthropic;
    if (c->usable()) {
      if (auto u = c->to_usage(UsageSource::response)) call_.usage = *u;
    }
  }

  CallInfo call_;
  Api api_ = Api::unknown;
  JsonScanner scanner_;
  ResponseVisitor visitor_;  // reused for every event of a stream
  TokenEstimate estimate_;
  bool head_seen_ = false;
  int status_ = 0;
  bool event_stream_ = false;
  bool json_body_ = true;  // false when Content-Type names something other than JSON
  std::string request_id_;
  std::string header_error_;
  Counts header_counts_;
  std::optional<std::int64_t> header_latency_;
  std::optional<std::int64_t> latency_ms_;
  // Non-streamed body.
  std::string body_;
  bool overflow_ = false;
  // Stream.
  eventstream::Decoder decoder_{[this](const eventstream::Message& m) { on_message(m); }};
  std::string chunk_;  // the decoded bytes of the current chunk, reused
  std::string stream_error_;
  bool stream_invalid_ = false;
  std::optional<Counts> stream_usage_;
};

}  // namespace

std::unique_ptr<Provider> make_bedrock_provider(std::string provider_name) {
  return std::make_unique<NamedProvider<BedrockSession>>(std::move(provider_name));
}

}  // namespace shadowmeter::providers
