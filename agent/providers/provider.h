// Provider modules turn one decoded HTTP exchange into CallInfo. They know nothing of HTTP framing:
// the capture layer hands them the request (head + bounded body) and the decoded response body or
// its server-sent events.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "providers/json_scan.h"
#include "providers/usage.h"

namespace shadowmeter::providers {

using HeaderList = std::vector<std::pair<std::string, std::string>>;  // names lower-cased

// Reads configured request-body fields (custom dimensions) during the provider's own scan of the
// body, so that the body is not parsed twice. A provider that scans with RequestFields feeds it and
// sets `fed`; capture scans the body for the tap itself when no provider did.
class BodyTap : public JsonVisitor {
 public:
  bool fed = false;
};

struct RequestView {
  std::string_view method;
  std::string_view target;        // path + query as sent
  std::string_view host;          // without port
  const HeaderList* headers = nullptr;
  std::string_view body;          // decoded request body, possibly cut at the body limit
  bool body_truncated = false;
  BodyTap* body_tap = nullptr;    // null when no body field is configured
  // Only the response will be seen (the probes came after the request was sent): everything above
  // is empty, and a provider reads the response as its most common call (chat) to find the usage.
  bool missed = false;
};

struct ResponseHeadView {
  int status = 0;
  const HeaderList* headers = nullptr;
  bool event_stream = false;      // Content-Type text/event-stream: on_sse_event will be used
};

// One exchange. Calls come in order: on_request, on_response_head, then on_response_body
// (non-SSE, any number of pieces) or on_sse_event (SSE), then finish() once.
class ExchangeSession {
 public:
  virtual ~ExchangeSession() = default;
  virtual void on_request(const RequestView& req) = 0;
  virtual void on_response_head(const ResponseHeadView& head) = 0;
  virtual void on_response_body(std::string_view piece) = 0;
  virtual void on_sse_event(std::string_view type, std::string_view data) = 0;
  // `complete` is false when the response was cut (gap, eof, limit): only figures that are known
  // to be exact may be reported then.
  virtual CallInfo finish(bool complete) = 0;
};

class Provider {
 public:
  virtual ~Provider() = default;
  virtual std::string_view name() const = 0;  // e.g. "openai"
  virtual std::unique_ptr<ExchangeSession> start() const = 0;
};

// A provider whose sessions need nothing but the provider's name (e.g. "groq" speaking OpenAI's format).
template <class Session>
class NamedProvider final : public Provider {
 public:
  explicit NamedProvider(std::string name) : name_(std::move(name)) {}
  std::string_view name() const override { return name_; }
  std::unique_ptr<ExchangeSession> start() const override { return std::make_unique<Session>(name_); }

 private:
  std::string name_;
};

// A provider for hosts in the catalog whose wire format we do not parse yet: records provider,
// operation guess from the path and the request model when the body says it, usage source none.
std::unique_ptr<Provider> make_generic_provider(std::string provider_name);

}  // namespace shadowmeter::providers
