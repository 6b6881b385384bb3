// Usage normalisation (DESIGN.md): OpenAI's prompt_tokens already include cached tokens and
// completion_tokens already include reasoning tokens, so they map onto input/output unchanged.
#include "providers/openai/openai.h"

#include <algorithm>
#include <array>
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

enum class Endpoint : std::uint8_t {
  unknown,
  chat,
  text_completion,
  embeddings,
  responses,
  images,         // /images/generations, /images/edits: token usage for gpt-image models
  transcription,  // /audio/transcriptions, /audio/translations: token usage for gpt-4o-transcribe
  speech,         // /audio/speech: audio out, billed by input characters (no usage in the response)
};

Endpoint endpoint_of(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  if (path.ends_with("/chat/completions")) return Endpoint::chat;
  if (path.ends_with("/completions")) return Endpoint::text_completion;
  if (path.ends_with("/embeddings")) return Endpoint::embeddings;
  if (path.ends_with("/responses")) return Endpoint::responses;
  if (path.ends_with("/images/generations") || path.ends_with("/images/edits")) return Endpoint::images;
  if (path.ends_with("/audio/transcriptions") || path.ends_with("/audio/translations"))
    return Endpoint::transcription;
  if (path.ends_with("/audio/speech")) return Endpoint::speech;
  return Endpoint::unknown;
}

// Audio uploads are multipart/form-data: the model is a form field, not JSON.
std::string_view multipart_field(std::string_view body, std::string_view name) {
  const std::string marker = "name=\"" + std::string(name) + "\"";
  const auto at = body.find(marker);
  if (at == std::string_view::npos) return {};
  const auto start = body.find("\r\n\r\n", at);
  if (start == std::string_view::npos) return {};
  const std::string_view rest = body.substr(start + 4);
  return rest.substr(0, std::min(rest.find("\r\n"), kMaxValueLen));
}

std::string_view operation_of(Endpoint e) {
  switch (e) {
    case Endpoint::chat:
      return "chat";
    case Endpoint::text_completion:
      return "text_completion";
    case Endpoint::embeddings:
      return "embeddings";
    case Endpoint::responses:
      return "chat";
    case Endpoint::images:
      return "image_generation";
    case Endpoint::transcription:
      return "audio_transcription";
    case Endpoint::speech:
      return "audio_speech";
    case Endpoint::unknown:
      return {};
  }
  return {};
}

// Azure: /openai/deployments/{deployment}/chat/completions?api-version=...
std::string_view azure_deployment(std::string_view path) {
  constexpr std::string_view kPrefix = "/openai/deployments/";
  if (!path.starts_with(kPrefix)) return {};
  std::string_view rest = path.substr(kPrefix.size());
  return rest.substr(0, rest.find('/'));
}

// Usage fields, with the Chat Completions and Responses API names side by side.
struct UsageFields {
  std::optional<std::int64_t> input, output, cache_read, cache_write, reasoning;
  std::optional<std::int64_t> cache_hit;  // DeepSeek's prompt_cache_hit_tokens
  bool closed = false;                    // the whole object was seen

  void set(std::string_view rel, std::int64_t v) {
    if (v < 0) return;
    if (rel == "prompt_tokens" || rel == "input_tokens")
      input = v;
    else if (rel == "completion_tokens" || rel == "output_tokens")
      output = v;
    else if (rel == "prompt_tokens_details.cached_tokens" || rel == "input_tokens_details.cached_tokens")
      cache_read = v;
    else if (rel == "prompt_tokens_details.cache_write_tokens" ||
             rel == "input_tokens_details.cache_write_tokens")
      cache_write = v;
    else if (rel == "completion_tokens_details.reasoning_tokens" ||
             rel == "output_tokens_details.reasoning_tokens")
      reasoning = v;
    else if (rel == "prompt_cache_hit_tokens")
      cache_hit = v;
  }
  bool usable() const { return closed && (input || output); }
  Usage to_usage(UsageSource src) const {
    Usage u;
    u.input_tokens = input;
    u.output_tokens = output;
    u.cache_read_input_tokens = cache_read ? cache_read : cache_hit;
    u.cache_write_input_tokens = cache_write;
    u.reasoning_output_tokens = reasoning;
    u.source = src;
    return u;
  }
};

// Fields of one response object: the body itself, a chat chunk, or the "response" member of a
// Responses API stream event.
struct ObjectFields {
  std::string model;
  std::string id;
  UsageFields usage;
  UsageFields groq_usage;  // Groq streams put usage under x_groq.usage

  void reset() {
    model.clear();  // clear() keeps the buffers for the next event
    id.clear();
    usage = {};
    groq_usage = {};
  }
};

// Collects root-level fields and those under "response" in one pass; the caller picks which apply.
class ResponseVisitor final : public JsonVisitor {
 public:
  ObjectFields root;
  ObjectFields nested;  // "response.*" (Responses API stream events)
  std::string type;     // root "type" (Responses API stream events)
  bool finish_reason = false;
  TokenEstimate* output_text = nullptr;  // counts generated text, for an estimate when usage is absent

  void reset() {
    root.reset();
    nested.reset();
    type.clear();
    finish_reason = false;
  }

  void on_string(std::string_view path, std::string_view value) override {
    if (path == "type") {
      assign_bounded(type, value, 64);
    } else if (path == "choices.[].finish_reason") {
      if (!value.empty()) finish_reason = true;
    } else if (generated_text(path)) {
      if (output_text) output_text->add_output_text(value);
    } else if (strip_prefix(path, "response")) {
      object_string(nested, path, value);
    } else {
      object_string(root, path, value);
    }
  }
  void on_integer(std::string_view path, std::int64_t v) override {
    if (strip_prefix(path, "response"))
      object_integer(nested, path, v);
    else
      object_integer(root, path, v);
  }
  void on_object_end(std::string_view path) override {
    if (strip_prefix(path, "response"))
      object_end(nested, path);
    else
      object_end(root, path);
  }

 private:
  // Chat deltas and messages, legacy completions, Responses API deltas and output items.
  static bool generated_text(std::string_view path) {
    return path == "choices.[].delta.content" || path == "choices.[].message.content" ||
           path == "choices.[].text" || path == "choices.[].delta.reasoning_content" || path == "delta" ||
           path == "output.[].content.[].text";
  }
  static void object_string(ObjectFields& f, std::string_view path, std::string_view value) {
    if (path == "model")
      assign_bounded(f.model, value);
    else if (path == "id")
      assign_bounded(f.id, value);
  }
  static void object_integer(ObjectFields& f, std::string_view path, std::int64_t v) {
    if (strip_prefix(path, "usage"))
      f.usage.set(path, v);
    else if (strip_prefix(path, "x_groq.usage"))
      f.groq_usage.set(path, v);
  }
  static void object_end(ObjectFields& f, std::string_view path) {
    if (path == "usage")
      f.usage.closed = true;
    else if (path == "x_groq.usage")
      f.groq_usage.closed = true;
  }
};

bool terminal_response_event(std::string_view type) {
  return type == "response.completed" || type == "response.incomplete" || type == "response.failed";
}

// Headers that become attributes, in the order they are emitted.
enum HeaderAttr : std::size_t { kRequestId, kOrganization, kProject, kProcessingMs, kHeaderAttrCount };
constexpr std::array<std::string_view, kHeaderAttrCount> kHeaderNames{
    "x-request-id", "openai-organization", "openai-project", "openai-processing-ms"};
constexpr std::array<std::string_view, kHeaderAttrCount> kAttrNames{
    "shadowmeter.openai.request_id", "shadowmeter.openai.organization", "shadowmeter.openai.project",
    "shadowmeter.openai.processing_ms"};

class OpenAiSession final : public ExchangeSession {
 public:
  explicit OpenAiSession(const std::string& provider) { call_.provider = provider; }

  void on_request(const RequestView& req) override {
    const std::string_view path = path_only(req.target);
    endpoint_ = req.missed ? Endpoint::chat : endpoint_of(path);
    call_.operation = operation_of(endpoint_);
    deployment_ = bounded(azure_deployment(path));
    if (req.headers) {
      // Clients may name organization and project on the request; the response header wins.
      for (const auto& [name, value] : *req.headers) {
        if (name == kHeaderNames[kOrganization])
          header_values_[kOrganization] = bounded(value);
        else if (name == kHeaderNames[kProject])
          header_values_[kProject] = bounded(value);
      }
    }
    RequestFields v(req.body_tap);
    scanner_.scan(req.body, v);  // a cut or non-JSON body still yields what came before the cut
    call_.request_model = std::move(v.model);
    if (call_.request_model.empty() && endpoint_ == Endpoint::transcription)
      call_.request_model = bounded(multipart_field(req.body, "model"));
    if (endpoint_ == Endpoint::speech) {
      // Text-to-speech is billed per input character; the response is audio with no usage.
      TokenEstimate::Tally chars = v.prompt;
      if (chars.ascii + chars.other > 0)
        call_.attributes.emplace_back("shadowmeter.openai.speech_input_characters",
                                      std::to_string(chars.ascii + chars.other));
    }
    stream_requested_ = v.stream;
    estimate_.add_input(v.prompt);
    visitor_.output_text = &estimate_;
  }

  void on_response_head(const ResponseHeadView& head) override {
    head_seen_ = true;
    status_ = head.status;
    event_stream_ = head.event_stream;
    if (!head.headers) return;
    for (const auto& [name, value] : *head.headers) {
      for (std::size_t i = 0; i < kHeaderAttrCount; ++i) {
        if (name == kHeaderNames[i] && !value.empty()) header_values_[i] = bounded(value);
      }
      if (name == "content-type" && !contains_ci(value, "json")) json_body_ = false;
    }
  }

  void on_response_body(std::string_view piece) override {
    // Audio and other non-JSON bodies are not kept: they carry no usage.
    if (event_stream_ || endpoint_ == Endpoint::unknown || !json_body_) return;
    if (body_.size() + piece.size() > kMaxBodyBytes) {
      piece = piece.substr(0, kMaxBodyBytes - body_.size());
      overflow_ = true;
    }
    body_.append(piece);
  }

  void on_sse_event(std::string_view type, std::string_view data) override {
    if (done_ || endpoint_ == Endpoint::unknown) return;
    data = trim(data);
    if (data == "[DONE]") {
      done_ = true;
      return;
    }
    if (data.empty()) return;
    ResponseVisitor& v = visitor_;
    v.reset();
    v.output_text = &estimate_;
    if (scanner_.scan(data, v) != ScanResult::ok) {
      // SSE events arrive whole, so a bad one is a malformed stream, not a cut.
      stream_invalid_ = true;
      return;
    }
    if (endpoint_ == Endpoint::responses) {
      take_model_id(v.nested);
      const std::string_view t = (type.empty() || type == "message") ? std::string_view(v.type) : type;
      if (terminal_response_event(t)) {
        if (v.nested.usage.usable()) {
          stream_usage_ = v.nested.usage;
          usage_final_ = true;
        }
      }
      return;
    }
    take_model_id(v.root);
    if (v.finish_reason) finish_seen_ = true;
    // Providers differ in where usage goes (one extra chunk, the finish chunk, or cumulative on
    // every chunk); the last one seen is the total.
    const UsageFields* u = v.root.usage.usable()        ? &v.root.usage
                           : v.root.groq_usage.usable() ? &v.root.groq_usage
                                                        : nullptr;
    if (u) {
      stream_usage_ = *u;
      usage_final_ = finish_seen_;
    }
  }

  CallInfo finish(bool complete) override {
    call_.stream = head_seen_ ? event_stream_ : stream_requested_;
    if (endpoint_ != Endpoint::unknown && head_seen_) {
      if (event_stream_)
        finish_stream(complete);
      else
        finish_body(complete);
      // No usage in the traffic (a stream without include_usage, a cut stream): estimate it from
      // the text, labelled as an estimate, rather than report nothing or a partial figure.
      if (call_.usage.source == UsageSource::none && call_.error_type.empty() && status_ >= 200 &&
          status_ < 300 && estimate_.has_output())
        call_.usage = estimate_.to_usage();
    }
    if (!deployment_.empty()) call_.attributes.emplace_back("shadowmeter.azure.deployment", deployment_);
    for (std::size_t i = 0; i < kHeaderAttrCount; ++i) {
      if (!header_values_[i].empty()) call_.attributes.emplace_back(kAttrNames[i], header_values_[i]);
    }
    return std::move(call_);
  }

 private:
  void take_model_id(const ObjectFields& f) {
    if (call_.response_model.empty() && !f.model.empty()) call_.response_model = f.model;
    if (call_.response_id.empty() && !f.id.empty()) call_.response_id = f.id;
  }

  void finish_stream(bool complete) {
    if (stream_invalid_) {
      call_.error_type = "invalid_json";
      return;
    }
    if (!stream_usage_) return;
    // On a cut stream only a usage known to be the final one counts: cumulative usage on a chunk
    // before the finish would undercount.
    if (complete || done_ || usage_final_) call_.usage = stream_usage_->to_usage(UsageSource::stream);
  }

  void finish_body(bool complete) {
    if (!json_body_ || body_.empty()) return;
    ResponseVisitor& v = visitor_;
    v.reset();
    v.output_text = &estimate_;
    const ScanResult r = scanner_.scan(body_, v);
    const bool cut = !complete || overflow_;
    if (r == ScanResult::invalid || (r == ScanResult::truncated && !cut)) {
      call_.error_type = "invalid_json";
      return;
    }
    take_model_id(v.root);
    // In a cut body the usage object counts only if it closed before the cut.
    if (v.root.usage.usable()) call_.usage = v.root.usage.to_usage(UsageSource::response);
  }

  CallInfo call_;
  JsonScanner scanner_;
  ResponseVisitor visitor_;  // reused for every event of the stream
  Endpoint endpoint_ = Endpoint::unknown;
  std::string deployment_;
  std::array<std::string, kHeaderAttrCount> header_values_;
  bool stream_requested_ = false;
  bool head_seen_ = false;
  int status_ = 0;
  TokenEstimate estimate_;
  bool event_stream_ = false;
  bool json_body_ = true;  // false when Content-Type names something other than JSON
  std::string body_;
  bool overflow_ = false;
  // Streaming state.
  bool done_ = false;
  bool stream_invalid_ = false;
  bool finish_seen_ = false;
  bool usage_final_ = false;
  std::optional<UsageFields> stream_usage_;
};


}  // namespace

std::unique_ptr<Provider> make_openai_provider(std::string provider_name) {
  return std::make_unique<NamedProvider<OpenAiSession>>(std::move(provider_name));
}

}  // namespace shadowmeter::providers
