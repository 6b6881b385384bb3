// The generic provider: for catalog hosts whose wire format has no module yet. It reports what is
// certain without parsing the response: provider, operation guess, request model, streaming.
#include <memory>

#include "providers/json_scan.h"
#include "providers/path_info.h"
#include "providers/provider.h"
#include "providers/request_fields.h"

namespace shadowmeter::providers {
namespace {

class GenericSession final : public ExchangeSession {
 public:
  explicit GenericSession(const std::string& provider) { call_.provider = provider; }

  void on_request(const RequestView& req) override {
    const std::string_view path = path_only(req.target);
    call_.operation = guess_operation(path);
    RequestFields v(req.body_tap);
    scan_json(req.body, v);
    call_.request_model = v.model.empty() ? model_from_path(path) : std::move(v.model);
    stream_hint_ = v.stream || streaming_endpoint(path);
  }

  void on_response_head(const ResponseHeadView& head) override {
    head_seen_ = true;
    event_stream_ = head.event_stream;
    if (!head.headers) return;
    for (const auto& [name, value] : *head.headers) {
      // Bedrock streams in AWS event-stream framing, not SSE.
      if (name == "content-type" && value.starts_with("application/vnd.amazon.eventstream"))
        event_stream_ = true;
    }
  }

  void on_response_body(std::string_view /*piece*/) override {}
  void on_sse_event(std::string_view /*type*/, std::string_view /*data*/) override {}

  CallInfo finish(bool /*complete*/) override {
    call_.stream = head_seen_ ? event_stream_ : stream_hint_;
    call_.usage.source = UsageSource::none;
    return std::move(call_);
  }

 private:
  CallInfo call_;
  bool stream_hint_ = false;
  bool head_seen_ = false;
  bool event_stream_ = false;
};


}  // namespace

std::unique_ptr<Provider> make_generic_provider(std::string provider_name) {
  return std::make_unique<NamedProvider<GenericSession>>(std::move(provider_name));
}

}  // namespace shadowmeter::providers
