// Parsing micro-benchmark: how fast each provider module turns a captured exchange into usage.
// Each workload is one realistic response (non-streamed body, SSE stream, AWS event-stream, or a
// 5 MB embeddings body) fed in 16 KiB pieces, as TLS records arrive, through the module the registry
// picks for the format, plus the SSE parser where the response is an event stream. Prints MB/s of
// response bytes and calls/s per workload; figures are only comparable within one run.
#include <chrono>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "protocols/eventstream/encode_message.h"  // the tests' event-stream encoder
#include "protocols/sse/sse_parser.h"
#include "providers/registry.h"

using namespace shadowmeter;
using namespace shadowmeter::providers;

namespace {

struct Workload {
  std::string name;
  std::string provider, format, target, request_body;
  HeaderList response_headers;
  std::string body;
  bool sse = false;
  std::int64_t want_output = 0;  // the run is checked: the parser must report this output count
};

std::string repeat_events(int n, const std::function<std::string(int)>& ev) {
  std::string s;
  for (int i = 0; i < n; ++i) s += ev(i);
  return s;
}

std::string es_message(const std::string& event_type, const std::string& payload) {
  namespace es = shadowmeter::eventstream::testing;
  return es::message(es::str_header(":event-type", event_type) + es::str_header(":content-type", "application/json") +
                         es::str_header(":message-type", "event"),
                     payload);
}

std::vector<Workload> workloads() {
  std::vector<Workload> w;
  const std::string text = "The quick brown fox jumps over the lazy dog. ";
  {
    Workload x{"openai chat, JSON body", "openai", "openai", "/v1/chat/completions",
               R"({"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]})",
               {{"content-type", "application/json"}}, "", false, 412};
    std::string content;
    for (int i = 0; i < 40; ++i) content += text;
    x.body = R"({"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant","content":")" +
             content + R"("},"finish_reason":"stop"}],"usage":{"prompt_tokens":1200,"completion_tokens":412,"total_tokens":1612,"prompt_tokens_details":{"cached_tokens":1024},"completion_tokens_details":{"reasoning_tokens":0}}})";
    w.push_back(std::move(x));
  }
  {
    Workload x{"openai chat, SSE 300 chunks", "openai", "openai", "/v1/chat/completions",
               R"({"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[]})",
               {{"content-type", "text/event-stream"}}, "", true, 300};
    x.body = repeat_events(300, [](int) {
      return std::string(R"(data: {"id":"chatcmpl-2","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"delta":{"content":" token"},"finish_reason":null}],"usage":null})") + "\n\n";
    });
    x.body += R"(data: {"id":"chatcmpl-2","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini-2024-07-18","choices":[],"usage":{"prompt_tokens":50,"completion_tokens":300,"total_tokens":350}})" "\n\ndata: [DONE]\n\n";
    w.push_back(std::move(x));
  }
  {
    Workload x{"openai embeddings, 5 MB body", "openai", "openai", "/v1/embeddings",
               R"({"model":"text-embedding-3-large","input":["a","b"]})", {{"content-type", "application/json"}}, "", false, 0};
    x.body = R"({"object":"list","data":[)";
    int item = 0;
    while (x.body.size() < (5u << 20)) {
      if (item) x.body += ',';
      x.body += R"({"object":"embedding","index":)" + std::to_string(item++) + R"(,"embedding":[)";
      for (int i = 0; i < 3072; ++i) x.body += (i ? ",-0.0123456789" : "0.0123456789");
      x.body += "]}";
    }
    x.body += R"(],"model":"text-embedding-3-large","usage":{"prompt_tokens":8,"total_tokens":8}})";
    w.push_back(std::move(x));
  }
  {
    Workload x{"anthropic messages, SSE 300 deltas", "anthropic", "anthropic", "/v1/messages",
               R"({"model":"claude-sonnet-4-5","stream":true,"max_tokens":1024,"messages":[]})",
               {{"content-type", "text/event-stream"}}, "", true, 301};
    x.body = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5-20250929\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":25,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":1}}}\n\n";
    x.body += repeat_events(300, [](int) {
      return std::string("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" token\"}}\n\n");
    });
    x.body += "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":301}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
    w.push_back(std::move(x));
  }
  {
    Workload x{"gemini streamGenerateContent, SSE 300 chunks", "gcp.gemini", "gemini",
               "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", R"({"contents":[]})",
               {{"content-type", "text/event-stream"}}, "", true, 300};
    x.body = repeat_events(300, [](int i) {
      return "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\" token\"}],\"role\":\"model\"},\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":9,\"candidatesTokenCount\":" +
             std::to_string(i + 1) + ",\"totalTokenCount\":" + std::to_string(i + 10) +
             "},\"modelVersion\":\"gemini-2.5-flash\",\"responseId\":\"r1\"}\r\n\r\n";
    });
    w.push_back(std::move(x));
  }
  {
    Workload x{"bedrock converse-stream, event-stream 300 deltas", "aws.bedrock", "bedrock",
               "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream", R"({"messages":[]})",
               {{"content-type", "application/vnd.amazon.eventstream"}}, "", false, 300};
    x.body = es_message("messageStart", R"({"role":"assistant"})");
    for (int i = 0; i < 300; ++i)
      x.body += es_message("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":" token"}})");
    x.body += es_message("messageStop", R"({"stopReason":"end_turn"})");
    x.body += es_message("metadata", R"({"usage":{"inputTokens":30,"outputTokens":300,"totalTokens":330},"metrics":{"latencyMs":812}})");
    w.push_back(std::move(x));
  }
  return w;
}

CallInfo run_once(Registry& reg, const Workload& x) {
  const CatalogEntry entry{x.provider, "bench", x.format};
  auto s = reg.for_entry(entry).start();
  HeaderList req_headers{{"content-type", "application/json"}};
  RequestView rq;
  rq.method = "POST";
  rq.target = x.target;
  rq.host = "bench";
  rq.headers = &req_headers;
  rq.body = x.request_body;
  s->on_request(rq);
  s->on_response_head({.status = 200, .headers = &x.response_headers, .event_stream = x.sse});
  std::optional<sse::Parser> parser;
  if (x.sse) parser.emplace([&](const sse::Event& e) { s->on_sse_event(e.type, e.data); });
  constexpr std::size_t kPiece = 16384;
  for (std::size_t off = 0; off < x.body.size(); off += kPiece) {
    const std::string_view piece = std::string_view(x.body).substr(off, kPiece);
    if (parser)
      parser->feed(piece);
    else
      s->on_response_body(piece);
  }
  if (parser) parser->finish();
  return s->finish(true);
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::stod(argv[1]) : 1.0;
  Registry reg;
  std::printf("%-50s %10s %10s %12s %10s  %s\n", "workload", "bytes", "MB/s", "calls/s", "us/call", "check");
  int bad = 0;
  for (const auto& x : workloads()) {
    const CallInfo first = run_once(reg, x);
    const bool ok = x.want_output == 0 ? first.usage.input_tokens.has_value()
                                       : first.usage.output_tokens == x.want_output;
    if (!ok) ++bad;
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    std::uint64_t calls = 0;
    double elapsed = 0;
    do {
      run_once(reg, x);
      ++calls;
      elapsed = std::chrono::duration<double>(clock::now() - start).count();
    } while (elapsed < seconds);
    const double mb = static_cast<double>(x.body.size()) * static_cast<double>(calls) / 1e6;
    std::printf("%-50s %10zu %10.1f %12.0f %10.1f  %s (source=%s output=%lld)\n", x.name.c_str(), x.body.size(),
                mb / elapsed, static_cast<double>(calls) / elapsed, elapsed * 1e6 / static_cast<double>(calls),
                ok ? "ok" : "WRONG", to_string(first.usage.source),
                static_cast<long long>(first.usage.output_tokens.value_or(-1)));
  }
  return bad ? 1 : 0;
}
