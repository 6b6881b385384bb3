// Usage (docs.ollama.com/api/usage): the final object of a call (done: true) carries
// prompt_eval_count, the tokens in the prompt including those read from the cache
// (prompt_eval_cached_count, a part of it), and eval_count, the tokens generated. They map onto
// input, cache_read and output unchanged.
#include "providers/ollama/ollama.h"

#include <optional>

#include "providers/estimate.h"
#include "providers/json_scan.h"
#include "providers/openai/openai.h"
#include "providers/path_info.h"

namespace shadowmeter::providers {

namespace {

// Guard for the copy of a non-streamed body; the capture layer already cuts at its body limit.
constexpr std::size_t kMaxBodyBytes = 64u << 20;

enum class Endpoint : std::uint8_t { unknown, chat, generate, embed, embeddings, openai };

Endpoint endpoint_of(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  if (path.ends_with("/api/chat")) return Endpoint::chat;
  if (path.ends_with("/api/generate")) return Endpoint::generate;
  if (path.ends_with("/api/embed")) return Endpoint::embed;
  if (path.ends_with("/api/embeddings")) return Endpoint::embeddings;
  if (path == "/v1" || path.starts_with("/v1/") || path.find("/v1/") != std::string_view::npos)
    return Endpoint::openai;
  return Endpoint::unknown;
}

std::string_view operation_of(Endpoint e) {
  switch (e) {
    case Endpoint::chat:
      return "chat";
    case Endpoint::generate:
      return "text_completion";
    case Endpoint::embed:
    case Endpoint::embeddings:
      return "embeddings";
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

// Unlike RequestFields, tells an absent "stream" from false: Ollama streams unless told not to.
class RequestVisitor final : public JsonVisitor {
 public:
  std::string model;
  std::optional<bool> stream;
  TokenEstimate::Tally prompt;  // prompt text counted, for estimates; the text itself is not kept

  void on_string(std::string_view path, std::string_view value) override {
    if (path == "model")
      model = bounded(value);
    else if (TokenEstimate::is_prompt_path(path))
      prompt.add(value);
  }
  void on_bool(std::string_view path, bool v) override {
    if (path == "stream") stream = v;
  }
};

// One response object: a whole body or one NDJSON line.
class ObjectVisitor final : public JsonVisitor {
 public:
  std::string model;
  bool done = false;
  bool error = false;  // {"error": "..."}: the message itself is not kept
  std::optional<std::int64_t> prompt_eval, prompt_cached, eval;
  TokenEstimate* text = nullptr;  // output text is counted here (counts only, never kept)

  void reset() {
    model.clear();
    done = false;
    error = false;
    prompt_eval.reset();
    prompt_cached.reset();
    eval.reset();
  }

  void on_string(std::string_view path, std::string_view value) override {
    if (path == "model")
      assign_bounded(model, value);
    else if (path == "error")
      error = true;
    else if (text && (path == "message.content" || path == "message.thinking" || path == "response" ||
                      path == "thinking"))
      text->add_output_text(value);
  }
  void on_integer(std::string_view path, std::int64_t v) override {
    if (v < 0) return;
    if (path == "prompt_eval_count")
      prompt_eval = v;
    else if (path == "prompt_eval_cached_count")
      prompt_cached = v;
    else if (path == "eval_count")
      eval = v;
  }
  void on_bool(std::string_view path, bool v) override {
    if (path == "done") done = v;
  }

  Usage to_usage(UsageSource src) const {
    Usage u;
    if (!prompt_eval && !eval) return u;
    u.input_tokens = prompt_eval;
    u.output_tokens = eval;
    if (prompt_eval) u.cache_read_input_tokens = prompt_cached;
    u.source = src;
    return u;
  }
};

class OllamaSession final : public ExchangeSession {
 public:
  OllamaSession(const std::string& provider, const Provider& openai) : openai_(openai) {
    call_.provider = provider;
  }

  void on_request(const RequestView& req) override {
    const std::string_view path = path_only(req.target);
    endpoint_ = endpoint_of(path);
    if (endpoint_ == Endpoint::openai) {
      // The OpenAI module reads these; it was made with this provider's name.
      inner_ = openai_.start();
      inner_->on_request(req);
      return;
    }
    call_.operation = operation_of(endpoint_);
    RequestVisitor v;
    scanner_.scan(req.body, v);  // a cut or non-JSON body still yields what came before the cut
    call_.request_model = std::move(v.model);
    stream_requested_ = v.stream.value_or(generates());
    if (generates()) estimate_.add_input(v.prompt);
  }

  void on_response_head(const ResponseHeadView& head) override {
    if (inner_) return inner_->on_response_head(head);
    head_seen_ = true;
    status_ = head.status;
    std::string_view content_type;
    if (head.headers) {
      for (const auto& [name, value] : *head.headers) {
        if (name == "content-type") content_type = value;
      }
    }
    if (content_type.empty()) {
      lines_mode_ = stream_requested_;
    } else if (mentions(content_type, "ndjson")) {
      lines_mode_ = true;
    } else if (!mentions(content_type, "json")) {
      json_body_ = false;
    }
  }

  void on_response_body(std::string_view piece) override {
    if (inner_) return inner_->on_response_body(piece);
    if (endpoint_ == Endpoint::unknown || !json_body_) return;
    if (lines_mode_) {
      std::string_view line;
      while (lines_.next(piece, line)) on_line(line, false);
      return;
    }
    if (body_.size() + piece.size() > kMaxBodyBytes) {
      piece = piece.substr(0, kMaxBodyBytes - body_.size());
      overflow_ = true;
    }
    body_.append(piece);
  }

  void on_sse_event(std::string_view type, std::string_view data) override {
    if (inner_) inner_->on_sse_event(type, data);  // the native API does not use SSE
  }

  CallInfo finish(bool complete) override {
    if (inner_) return inner_->finish(complete);
    call_.stream = head_seen_ ? lines_mode_ : stream_requested_;
    if (head_seen_ && endpoint_ != Endpoint::unknown && json_body_) {
      if (lines_mode_)
        finish_lines(complete);
      else
        finish_body(complete);
      estimate_if_silent();
    }
    if (lines_.oversized() > 0)
      call_.attributes.emplace_back("shadowmeter.ndjson.oversized_lines", std::to_string(lines_.oversized()));
    return std::move(call_);
  }

 private:
  // chat and generate produce text and stream by default; the embedding endpoints do neither.
  bool generates() const { return endpoint_ == Endpoint::chat || endpoint_ == Endpoint::generate; }

  void take_model(const ObjectVisitor& v) {
    if (call_.response_model.empty() && !v.model.empty()) call_.response_model = v.model;
  }

  // `may_be_cut`: the last bytes of a cut body, which are no malformed line when they end early.
  void on_line(std::string_view line, bool may_be_cut) {
    if (done_ || lines_invalid_) return;
    ObjectVisitor& v = visitor_;
    v.reset();
    v.text = &estimate_;
    const ScanResult r = scanner_.scan(line, v);
    if (r != ScanResult::ok) {
      if (!(may_be_cut && r == ScanResult::truncated)) lines_invalid_ = true;
      return;
    }
    take_model(v);
    if (v.error) stream_error_ = true;
    if (v.done) {
      done_ = true;  // later lines belong to no call
      final_usage_ = v.to_usage(UsageSource::stream);
    }
  }

  void finish_lines(bool complete) {
    std::string_view line;
    if (lines_.last(line)) on_line(line, !complete);
    if (lines_invalid_) {
      call_.error_type = "invalid_json";
      return;
    }
    if (stream_error_) call_.error_type = "error";
    // Counts come only with the final object; a stream cut before it has none.
    if (done_) call_.usage = final_usage_;
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
    if (v.error) {
      call_.error_type = "error";
      return;
    }
    take_model(v);
    // The counts sit among the object's other fields: only a whole object has them all.
    if (r == ScanResult::ok) call_.usage = v.to_usage(UsageSource::response);
  }

  // A successful call whose traffic had no counts (a stream cut before its final object): an
  // estimate, never mixed with exact figures.
  void estimate_if_silent() {
    if (!generates() || status_ < 200 || status_ > 299 || !call_.error_type.empty()) return;
    if (call_.usage.source != UsageSource::none || done_) return;
    if (estimate_.has_output()) call_.usage = estimate_.to_usage();
  }

  const Provider& openai_;
  std::unique_ptr<ExchangeSession> inner_;  // set for the OpenAI-compatible endpoints
  CallInfo call_;
  JsonScanner scanner_;
  ObjectVisitor visitor_;  // reused for every line
  TokenEstimate estimate_;
  Endpoint endpoint_ = Endpoint::unknown;
  bool stream_requested_ = false;
  bool head_seen_ = false;
  int status_ = 0;
  bool json_body_ = true;    // false when Content-Type names something other than JSON
  bool lines_mode_ = false;  // NDJSON stream
  std::string body_;
  bool overflow_ = false;
  // Streaming state.
  NdjsonLines lines_;
  bool done_ = false;
  bool lines_invalid_ = false;
  bool stream_error_ = false;
  Usage final_usage_;
};

}  // namespace

std::unique_ptr<Provider> make_ollama_provider(std::string provider_name) {
  return std::make_unique<ProviderWithOpenAi<OllamaSession>>(std::move(provider_name));
}

}  // namespace shadowmeter::providers
