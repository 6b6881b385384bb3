// libFuzzer entry: the provider modules (every wire format) on arbitrary request and response
// bodies. Input: [endpoint][piece size][flags][request body] 0x00 [response body]. The response
// goes in whole and in pieces (through the SSE parser when the flags say event-stream); both runs
// must give the same CallInfo, and no figure may be negative or reported without a source.
#include <optional>
#include <string>
#include <vector>

#include "fuzz_common.h"
#include "protocols/sse/sse_parser.h"
#include "providers/registry.h"

namespace {

using namespace shadowmeter::providers;

struct Endpoint {
  const char* provider;
  const char* format;
  const char* target;
};

constexpr Endpoint kEndpoints[] = {
    {"openai", "openai", "/v1/chat/completions"},
    {"openai", "openai", "/v1/responses"},
    {"openai", "openai", "/v1/embeddings"},
    {"azure.ai.openai", "openai", "/openai/deployments/d1/completions?api-version=1"},
    {"anthropic", "anthropic", "/v1/messages"},
    {"anthropic", "anthropic", "/v1/complete"},
    {"gcp.gemini", "gemini", "/v1beta/models/gemini-2.5-pro:generateContent"},
    {"gcp.gemini", "gemini", "/v1beta/models/gemini-2.5-pro:streamGenerateContent"},
    {"gcp.vertex_ai", "gemini", "/v1/projects/p/locations/l/publishers/google/models/m:streamGenerateContent?alt=sse"},
    {"gcp.vertex_ai", "gemini", "/v1/projects/p/locations/l/publishers/anthropic/models/c:streamRawPredict"},
    {"aws.bedrock", "bedrock", "/model/m/converse"},
    {"aws.bedrock", "bedrock", "/model/m/converse-stream"},
    {"aws.bedrock", "bedrock", "/model/anthropic.claude-v2/invoke"},
    {"aws.bedrock", "bedrock", "/model/m/invoke-with-response-stream"},
    {"cohere", "cohere", "/v2/chat"},
    {"cohere", "cohere", "/v1/chat"},
    {"ollama", "ollama", "/api/chat"},
    {"ollama", "ollama", "/api/generate"},
    {"ollama", "ollama", "/v1/chat/completions"},
};

constexpr const char* kContentTypes[] = {"application/json", "text/event-stream", "application/x-ndjson",
                                         "application/vnd.amazon.eventstream"};

std::string describe(const CallInfo& c) {
  auto opt = [](const std::optional<std::int64_t>& v) { return v ? std::to_string(*v) : std::string("-"); };
  std::string s = c.provider + '|' + c.operation + '|' + c.request_model + '|' + c.response_model + '|' +
                  c.response_id + '|' + (c.stream ? "s" : "n") + '|' + c.error_type + '|' +
                  to_string(c.usage.source) + '|' + opt(c.usage.input_tokens) + '|' + opt(c.usage.output_tokens) +
                  '|' + opt(c.usage.cache_read_input_tokens) + '|' + opt(c.usage.cache_write_input_tokens) +
                  '|' + opt(c.usage.reasoning_output_tokens);
  for (const auto& [k, v] : c.attributes) s += '|' + k + '=' + v;
  return s;
}

CallInfo run(Registry& reg, const Endpoint& ep, std::string_view request, std::string_view response,
             std::size_t piece, int status, const char* ctype, bool complete) {
  auto s = reg.for_entry({ep.provider, "fuzz", ep.format}).start();
  const HeaderList req_headers{{"content-type", "application/json"}};
  RequestView rq;
  rq.method = "POST";
  rq.target = ep.target;
  rq.host = "fuzz";
  rq.headers = &req_headers;
  rq.body = request;
  s->on_request(rq);
  const HeaderList resp_headers{{"content-type", ctype}, {"x-amzn-bedrock-input-token-count", "12"}};
  const bool sse = std::string_view(ctype) == "text/event-stream";
  s->on_response_head({.status = status, .headers = &resp_headers, .event_stream = sse});
  std::optional<shadowmeter::sse::Parser> parser;
  if (sse) parser.emplace([&](const shadowmeter::sse::Event& e) { s->on_sse_event(e.type, e.data); }, 1u << 20);
  for (std::size_t i = 0; i < response.size(); i += piece) {
    const auto p = response.substr(i, piece);
    if (parser)
      parser->feed(p);
    else
      s->on_response_body(p);
  }
  if (parser) parser->finish();
  return s->finish(complete);
}

void check(const CallInfo& c) {
  for (const auto* v : {&c.usage.input_tokens, &c.usage.output_tokens, &c.usage.cache_read_input_tokens,
                        &c.usage.cache_write_input_tokens, &c.usage.reasoning_output_tokens}) {
    if (*v) SM_FUZZ_CHECK(**v >= 0);
  }
  const bool any = c.usage.input_tokens || c.usage.output_tokens;
  SM_FUZZ_CHECK(any == (c.usage.source != UsageSource::none));
  for (const auto& [k, v] : c.attributes) SM_FUZZ_CHECK(v.size() <= 256);
  SM_FUZZ_CHECK(c.request_model.size() <= 256 && c.response_model.size() <= 256 && c.response_id.size() <= 256);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Registry reg;
  shadowmeter::fuzz::Input in{data, size};
  const Endpoint& ep = kEndpoints[in.byte() % std::size(kEndpoints)];
  const std::size_t piece = shadowmeter::fuzz::piece_size(in.byte());
  const std::uint8_t flags = in.byte();
  const char* ctype = kContentTypes[flags & 3];
  const bool complete = (flags & 4) == 0;
  const int status = (flags & 8) ? 429 : 200;
  const std::string_view rest = in.rest();
  const auto nul = rest.find('\0');
  const std::string_view request = nul == std::string_view::npos ? std::string_view() : rest.substr(0, nul);
  const std::string_view response = nul == std::string_view::npos ? rest : rest.substr(nul + 1);

  const CallInfo whole = run(reg, ep, request, response, response.size() + 1, status, ctype, complete);
  const CallInfo pieces = run(reg, ep, request, response, piece, status, ctype, complete);
  check(whole);
  check(pieces);
  SM_FUZZ_CHECK(describe(whole) == describe(pieces));
  return 0;
}
