// OpenAI wire format: Chat Completions, Completions, Embeddings and Responses API, streamed and
// not, cut and malformed bodies, Azure paths, compatible providers, and response headers.
#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "providers/openai/openai.h"

using namespace shadowmeter::providers;

namespace {

struct Ex {
  std::string target = "/v1/chat/completions";
  std::string request_body;
  bool request_truncated = false;
  HeaderList request_headers;
  bool response = true;  // false: no response head was seen
  int status = 200;
  HeaderList response_headers{{"content-type", "application/json"}};
  bool sse = false;
  std::vector<std::string> body;                            // non-SSE pieces
  std::vector<std::pair<std::string, std::string>> events;  // SSE (type, data)
  bool complete = true;
};

CallInfo run(const Ex& x, std::string provider = "openai") {
  auto p = make_openai_provider(std::move(provider));
  auto s = p->start();
  RequestView rq;
  rq.method = "POST";
  rq.target = x.target;
  rq.host = "api.openai.com";
  rq.headers = &x.request_headers;
  rq.body = x.request_body;
  rq.body_truncated = x.request_truncated;
  s->on_request(rq);
  if (x.response) {
    s->on_response_head({.status = x.status, .headers = &x.response_headers, .event_stream = x.sse});
    for (const auto& piece : x.body) s->on_response_body(piece);
    for (const auto& [type, data] : x.events) s->on_sse_event(type, data);
  }
  return s->finish(x.complete);
}

// Splits a body into pieces at awkward places, as TLS records and chunked coding do.
std::vector<std::string> pieces(std::string_view s, std::size_t n = 7) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < s.size(); i += n) out.emplace_back(s.substr(i, n));
  return out;
}

std::string all_text(const CallInfo& c) {
  std::string s =
      c.provider + c.operation + c.request_model + c.response_model + c.response_id + c.error_type;
  for (const auto& [k, v] : c.attributes) s += k + v;
  return s;
}

const std::string kChatRequest =
    R"({"model":"gpt-4o","messages":[{"role":"system","content":"You are terse."},)"
    R"({"role":"user","content":"Say hello"}],"temperature":0.2})";

const std::string kChatResponse =
    R"({"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion","created":1741569952,)"
    R"("model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant",)"
    R"("content":"Hello! How can I assist you today?","refusal":null,"annotations":[]},"logprobs":null,)"
    R"("finish_reason":"stop"}],"usage":{"prompt_tokens":1117,"completion_tokens":46,"total_tokens":1163,)"
    R"("prompt_tokens_details":{"cached_tokens":1024,"audio_tokens":0},"completion_tokens_details":)"
    R"({"reasoning_tokens":10,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},)"
    R"("service_tier":"default","system_fingerprint":"fp_f9f4fb6dbf"})";

std::string chunk(std::string_view choices, std::string_view usage,
                  std::string_view model = "gpt-4o-mini-2024-07-18") {
  return R"({"id":"chatcmpl-S1","object":"chat.completion.chunk","created":1741569952,"model":")" +
         std::string(model) + R"(","system_fingerprint":"fp_1","choices":)" + std::string(choices) +
         R"(,"usage":)" + std::string(usage) + "}";
}

const std::string kDelta = R"([{"index":0,"delta":{"content":"Hello there"},"finish_reason":null}])";
const std::string kStop = R"([{"index":0,"delta":{},"finish_reason":"stop"}])";
const std::string kUsage =
    R"({"prompt_tokens":9,"completion_tokens":12,"total_tokens":21,"prompt_tokens_details":{"cached_tokens":0},)"
    R"("completion_tokens_details":{"reasoning_tokens":0}})";

Ex streamed_chat(bool with_usage, bool done = true) {
  Ex x;
  x.request_body = R"({"model":"gpt-4o-mini","stream":true)" +
                   std::string(with_usage ? R"(,"stream_options":{"include_usage":true})" : "") +
                   R"(,"messages":[{"role":"user","content":"hi"}]})";
  x.sse = true;
  x.response_headers = {{"content-type", "text/event-stream; charset=utf-8"}};
  const std::string u = "null";  // usage is null on every content chunk
  x.events = {{"message",
               chunk(R"([{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}])", u)},
              {"message", chunk(kDelta, u)},
              {"message", chunk(kStop, u)}};
  if (with_usage) x.events.emplace_back("message", chunk("[]", kUsage));
  if (done) x.events.emplace_back("message", "[DONE]");
  return x;
}

}  // namespace

TEST_CASE("non-streamed chat: exact usage, models, id") {
  Ex x;
  x.request_body = kChatRequest;
  x.body = pieces(kChatResponse);
  const CallInfo c = run(x);
  CHECK(c.provider == "openai");
  CHECK(c.operation == "chat");
  CHECK(c.request_model == "gpt-4o");
  CHECK(c.response_model == "gpt-4o-2024-08-06");
  CHECK(c.response_id == "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT");
  CHECK_FALSE(c.stream);
  CHECK(c.usage.source == UsageSource::response);
  CHECK(c.usage.input_tokens == 1117);
  CHECK(c.usage.output_tokens == 46);
  CHECK(c.usage.cache_read_input_tokens == 1024);
  CHECK(c.usage.reasoning_output_tokens == 10);
  CHECK_FALSE(c.usage.cache_write_input_tokens);
  CHECK(c.error_type.empty());
  CHECK(c.attributes.empty());
  // Never prompt or completion text.
  CHECK(all_text(c).find("Hello") == std::string::npos);
  CHECK(all_text(c).find("terse") == std::string::npos);
}

TEST_CASE("response headers become attributes; the request may name organization and project") {
  Ex x;
  x.request_body = kChatRequest;
  x.request_headers = {{"authorization", "Bearer sk-secret"},
                       {"openai-project", "proj_fromrequest"},
                       {"openai-organization", "org-fromrequest"}};
  x.response_headers = {{"content-type", "application/json"},
                        {"openai-organization", "org-abc"},
                        {"openai-processing-ms", "312"},
                        {"openai-version", "2020-10-01"},
                        {"x-request-id", "req_1b2c3d"}};
  x.body = {kChatResponse};
  const CallInfo c = run(x);
  using A = std::vector<std::pair<std::string, std::string>>;
  CHECK(c.attributes == A{{"shadowmeter.openai.request_id", "req_1b2c3d"},
                          {"shadowmeter.openai.organization", "org-abc"},
                          {"shadowmeter.openai.project", "proj_fromrequest"},
                          {"shadowmeter.openai.processing_ms", "312"}});
  CHECK(all_text(c).find("sk-secret") == std::string::npos);
}

TEST_CASE("streamed chat with include_usage: the usage chunk before [DONE]") {
  const CallInfo c = run(streamed_chat(true));
  CHECK(c.stream);
  CHECK(c.operation == "chat");
  CHECK(c.request_model == "gpt-4o-mini");
  CHECK(c.response_model == "gpt-4o-mini-2024-07-18");
  CHECK(c.response_id == "chatcmpl-S1");
  CHECK(c.usage.source == UsageSource::stream);
  CHECK(c.usage.input_tokens == 9);
  CHECK(c.usage.output_tokens == 12);
  CHECK(c.usage.cache_read_input_tokens == 0);
  CHECK(c.usage.reasoning_output_tokens == 0);
  CHECK(c.error_type.empty());
  CHECK(all_text(c).find("Hello") == std::string::npos);
}

TEST_CASE("streamed chat without usage is estimated from the text, and says so") {
  const CallInfo c = run(streamed_chat(false));
  CHECK(c.stream);
  // "hi" -> ceil(2/4) = 1; "Hello there" -> ceil(11/4) = 3.
  CHECK(c.usage.source == UsageSource::estimated);
  CHECK(c.usage.input_tokens == 1);
  CHECK(c.usage.output_tokens == 3);
  CHECK_FALSE(c.usage.cache_read_input_tokens);
  CHECK_FALSE(c.usage.reasoning_output_tokens);
  CHECK(c.response_model == "gpt-4o-mini-2024-07-18");
  CHECK(c.error_type.empty());
}

TEST_CASE("cumulative usage on every chunk (xAI style): the last one wins") {
  Ex x;
  x.request_body = R"({"model":"grok-4","stream":true,"messages":[]})";
  x.sse = true;
  auto u = [](int out) {
    return R"({"prompt_tokens":31,"completion_tokens":)" + std::to_string(out) + R"(,"total_tokens":)" +
           std::to_string(31 + out) +
           R"(,"prompt_tokens_details":{"cached_tokens":6},)"
           R"("completion_tokens_details":{"reasoning_tokens":)" +
           std::to_string(out / 2) + "}}";
  };
  x.events = {{"message", chunk(kDelta, u(1), "grok-4")},
              {"message", chunk(kDelta, u(2), "grok-4")},
              {"message", chunk(kStop, u(8), "grok-4")},
              {"message", "[DONE]"}};
  CallInfo c = run(x, "x_ai");
  CHECK(c.provider == "x_ai");
  CHECK(c.usage.source == UsageSource::stream);
  CHECK(c.usage.input_tokens == 31);
  CHECK(c.usage.output_tokens == 8);
  CHECK(c.usage.cache_read_input_tokens == 6);
  CHECK(c.usage.reasoning_output_tokens == 4);

  SECTION("cut before the finish chunk: the running total is not the final one") {
    x.events.resize(2);
    x.complete = false;
    c = run(x, "x_ai");
    // Not the running total (2): an estimate of the text seen, labelled as one. No prompt text.
    CHECK(c.usage.source == UsageSource::estimated);
    CHECK_FALSE(c.usage.input_tokens);
    CHECK(c.usage.output_tokens == 6);  // "Hello there" twice: ceil(22/4)
  }
  SECTION("cut after the finish chunk: final") {
    x.events.resize(3);
    x.complete = false;
    c = run(x, "x_ai");
    CHECK(c.usage.source == UsageSource::stream);
    CHECK(c.usage.output_tokens == 8);
  }
}

TEST_CASE("a cut stream reports usage only when the final usage chunk arrived") {
  SECTION("usage chunk arrived, [DONE] did not") {
    Ex x = streamed_chat(true, false);
    x.complete = false;
    const CallInfo c = run(x);
    CHECK(c.usage.source == UsageSource::stream);
    CHECK(c.usage.input_tokens == 9);
    CHECK(c.usage.output_tokens == 12);
  }
  SECTION("cut before the usage chunk") {
    Ex x = streamed_chat(true, false);
    x.events.pop_back();
    x.complete = false;
    const CallInfo c = run(x);
    CHECK(c.usage.source == UsageSource::estimated);
    CHECK(c.usage.input_tokens == 1);
    CHECK(c.usage.output_tokens == 3);
    CHECK(c.response_model == "gpt-4o-mini-2024-07-18");
  }
}

TEST_CASE("events after [DONE] are ignored") {
  Ex x = streamed_chat(true);
  x.events.emplace_back("message", chunk("[]", R"({"prompt_tokens":1000,"completion_tokens":1000})"));
  const CallInfo c = run(x);
  CHECK(c.usage.input_tokens == 9);
  CHECK(c.usage.output_tokens == 12);
}

TEST_CASE("Groq puts stream usage under x_groq.usage") {
  Ex x;
  x.target = "/openai/v1/chat/completions";
  x.request_body = R"({"model":"llama-3.3-70b-versatile","stream":true})";
  x.sse = true;
  x.events = {
      {"message", chunk(kDelta, "null", "llama-3.3-70b-versatile")},
      {"message", R"({"id":"chatcmpl-g","object":"chat.completion.chunk","model":"llama-3.3-70b-versatile",)"
                  R"("choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"x_groq":{"id":"req_01",)"
                  R"("usage":{"queue_time":0.02,"prompt_tokens":40,"prompt_time":0.002,)"
                  R"("completion_tokens":15,"completion_time":0.05,"total_tokens":55}}})"},
      {"message", "[DONE]"}};
  const CallInfo c = run(x, "groq");
  CHECK(c.provider == "groq");
  CHECK(c.operation == "chat");
  CHECK(c.usage.source == UsageSource::stream);
  CHECK(c.usage.input_tokens == 40);
  CHECK(c.usage.output_tokens == 15);
}

TEST_CASE("Responses API, not streamed") {
  Ex x;
  x.target = "/v1/responses";
  x.request_body = R"({"model":"o3-mini","input":"Write a haiku","reasoning":{"effort":"high"}})";
  x.body = pieces(
      R"({"id":"resp_67cb71b351908190","object":"response","created_at":1741476542,"status":"completed",)"
      R"("model":"o3-mini-2025-01-31","output":[{"type":"message","id":"msg_1","status":"completed",)"
      R"("role":"assistant","content":[{"type":"output_text","text":"In a peaceful grove","annotations":[]}]}],)"
      R"("usage":{"input_tokens":36,"input_tokens_details":{"cached_tokens":4},"output_tokens":87,)"
      R"("output_tokens_details":{"reasoning_tokens":64},"total_tokens":123}})",
      13);
  const CallInfo c = run(x);
  CHECK(c.operation == "chat");
  CHECK(c.request_model == "o3-mini");
  CHECK(c.response_model == "o3-mini-2025-01-31");
  CHECK(c.response_id == "resp_67cb71b351908190");
  CHECK_FALSE(c.stream);
  CHECK(c.usage.source == UsageSource::response);
  CHECK(c.usage.input_tokens == 36);
  CHECK(c.usage.output_tokens == 87);
  CHECK(c.usage.cache_read_input_tokens == 4);
  CHECK(c.usage.reasoning_output_tokens == 64);
  CHECK(all_text(c).find("grove") == std::string::npos);
}

namespace {

Ex responses_stream(bool named_events) {
  Ex x;
  x.target = "/v1/responses";
  x.request_body = R"({"model":"gpt-4.1","input":"hi","stream":true})";
  x.sse = true;
  auto ev = [&](std::string type, std::string data) {
    x.events.emplace_back(named_events ? type : "message", std::move(data));
  };
  ev("response.created",
     R"({"type":"response.created","sequence_number":0,"response":{"id":"resp_S2","object":"response",)"
     R"("status":"in_progress","model":"gpt-4.1-2025-04-14","output":[],"usage":null}})");
  ev("response.output_text.delta",
     R"({"type":"response.output_text.delta","item_id":"msg_1","output_index":0,"content_index":0,)"
     R"("delta":"Hi there","sequence_number":3})");
  ev("response.completed",
     R"({"type":"response.completed","sequence_number":9,"response":{"id":"resp_S2","object":"response",)"
     R"("status":"completed","model":"gpt-4.1-2025-04-14","output":[{"type":"message","content":[)"
     R"({"type":"output_text","text":"Hi there"}]}],"usage":{"input_tokens":37,"input_tokens_details":)"
     R"({"cached_tokens":32,"cache_write_tokens":5},"output_tokens":11,"output_tokens_details":)"
     R"({"reasoning_tokens":3},"total_tokens":48}}})");
  return x;
}

}  // namespace

TEST_CASE("Responses API, streamed: usage from the terminal event's response.usage") {
  for (bool named : {true, false}) {
    INFO("named SSE events: " << named);
    const CallInfo c = run(responses_stream(named));
    CHECK(c.stream);
    CHECK(c.operation == "chat");
    CHECK(c.request_model == "gpt-4.1");
    CHECK(c.response_model == "gpt-4.1-2025-04-14");
    CHECK(c.response_id == "resp_S2");
    CHECK(c.usage.source == UsageSource::stream);
    CHECK(c.usage.input_tokens == 37);
    CHECK(c.usage.output_tokens == 11);
    CHECK(c.usage.cache_read_input_tokens == 32);
    CHECK(c.usage.cache_write_input_tokens == 5);
    CHECK(c.usage.reasoning_output_tokens == 3);
    CHECK(all_text(c).find("Hi there") == std::string::npos);
  }
  SECTION("response.incomplete also carries the final usage, even on a cut stream") {
    Ex x = responses_stream(true);
    x.events.back().first = "response.incomplete";
    x.complete = false;
    const CallInfo c = run(x);
    CHECK(c.usage.source == UsageSource::stream);
    CHECK(c.usage.output_tokens == 11);
  }
  SECTION("cut before the terminal event") {
    Ex x = responses_stream(true);
    x.events.pop_back();
    x.complete = false;
    const CallInfo c = run(x);
    CHECK(c.usage.source == UsageSource::estimated);
    CHECK(c.usage.input_tokens == 1);   // "hi"
    CHECK(c.usage.output_tokens == 2);  // "Hi there": ceil(8/4)
    CHECK(c.response_id == "resp_S2");
  }
}

TEST_CASE("cut non-streamed body: usage only if its object closed before the cut") {
  Ex x;
  x.request_body = kChatRequest;
  x.complete = false;
  SECTION("cut inside usage") {
    const auto at = kChatResponse.find("\"completion_tokens\":46") + 21;  // after "4"
    x.body = {kChatResponse.substr(0, at)};
    const CallInfo c = run(x);
    // The cut usage object is not taken; the text before the cut gives an estimate.
    CHECK(c.usage.source == UsageSource::estimated);
    CHECK(c.usage.input_tokens == 6);   // "You are terse." + "Say hello": ceil(23/4)
    CHECK(c.usage.output_tokens == 9);  // "Hello! How can I assist you today?": ceil(34/4)
    CHECK(c.response_model == "gpt-4o-2024-08-06");
    CHECK(c.response_id == "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT");
    CHECK(c.error_type.empty());  // the capture layer says why the body was cut
  }
  SECTION("cut after usage") {
    x.body = {kChatResponse.substr(0, kChatResponse.find("\"system_fingerprint\"") + 8)};
    const CallInfo c = run(x);
    CHECK(c.usage.source == UsageSource::response);
    CHECK(c.usage.input_tokens == 1117);
    CHECK(c.usage.output_tokens == 46);
    CHECK(c.usage.cache_read_input_tokens == 1024);
    CHECK(c.usage.reasoning_output_tokens == 10);
  }
}

TEST_CASE("malformed JSON is invalid_json with no numbers") {
  SECTION("syntax error in a complete body") {
    Ex x;
    x.body = {R"({"id":"x","model":"gpt-4o","usage":{"prompt_tokens":5,"completion_tokens":3},})"};
    const CallInfo c = run(x);
    CHECK(c.error_type == "invalid_json");
    CHECK(c.usage.source == UsageSource::none);
    CHECK_FALSE(c.usage.input_tokens);
    CHECK_FALSE(c.usage.output_tokens);
    CHECK(c.response_model.empty());
  }
  SECTION("a body said to be complete that ends inside the JSON") {
    Ex x;
    x.body = {kChatResponse.substr(0, kChatResponse.size() - 1)};
    const CallInfo c = run(x);
    CHECK(c.error_type == "invalid_json");
    CHECK_FALSE(c.usage.input_tokens);
  }
  SECTION("a malformed stream chunk spoils the stream's usage") {
    Ex x = streamed_chat(true);
    x.events.insert(x.events.begin() + 1, {"message", R"({"id":"chatcmpl-S1","choices":[{"delta":)"});
    const CallInfo c = run(x);
    CHECK(c.error_type == "invalid_json");
    CHECK(c.usage.source == UsageSource::none);
    CHECK_FALSE(c.usage.input_tokens);
  }
  SECTION("binary garbage") {
    Ex x;
    x.body = {std::string("\x00\xff\xfe{\"usage\":", 12)};
    const CallInfo c = run(x);
    CHECK(c.error_type == "invalid_json");
  }
}

TEST_CASE("non-JSON and empty responses are not parsed and are no JSON error") {
  Ex x;
  x.status = 502;
  x.response_headers = {{"content-type", "text/html"}};
  x.body = {"<html><body>502 Bad Gateway</body></html>"};
  CallInfo c = run(x);
  CHECK(c.error_type.empty());
  CHECK(c.usage.source == UsageSource::none);

  x.response_headers = {{"content-type", "application/json"}};
  x.body.clear();
  c = run(x);
  CHECK(c.error_type.empty());
  CHECK(c.usage.source == UsageSource::none);
}

TEST_CASE("an error body has no usage") {
  Ex x;
  x.status = 429;
  x.body = {
      R"({"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}})"};
  const CallInfo c = run(x);
  CHECK(c.error_type.empty());
  CHECK(c.usage.source == UsageSource::none);
  CHECK(c.response_id.empty());
}

TEST_CASE("truncated or non-JSON request bodies are tolerated") {
  Ex x;
  x.request_body =
      R"({"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"a very long prom)";
  x.request_truncated = true;
  x.response = false;
  CallInfo c = run(x);
  CHECK(c.request_model == "gpt-4o");
  CHECK(c.stream);  // no response seen: the request said so
  CHECK(c.usage.source == UsageSource::none);
  CHECK(c.error_type.empty());

  x.request_body = "--boundary\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n...";
  c = run(x);
  CHECK(c.request_model.empty());
  CHECK_FALSE(c.stream);
  CHECK(c.error_type.empty());
}

TEST_CASE("operations from the path") {
  Ex x;
  x.target = "/v1/completions";
  x.request_body = R"({"model":"gpt-3.5-turbo-instruct","prompt":"Say this is a test"})";
  x.body = {R"({"id":"cmpl-1","object":"text_completion","model":"gpt-3.5-turbo-instruct",)"
            R"("choices":[{"text":"This is a test","index":0,"finish_reason":"stop"}],)"
            R"("usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}})"};
  CallInfo c = run(x);
  CHECK(c.operation == "text_completion");
  CHECK(c.usage.input_tokens == 5);
  CHECK(c.usage.output_tokens == 7);
  CHECK_FALSE(c.usage.cache_read_input_tokens);
  CHECK_FALSE(c.usage.reasoning_output_tokens);

  x.target = "/v1/embeddings";
  x.request_body = R"({"model":"text-embedding-3-small","input":"The food was delicious"})";
  x.body = {R"({"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.0023,-0.0093]}],)"
            R"("model":"text-embedding-3-small","usage":{"prompt_tokens":8,"total_tokens":8}})"};
  c = run(x);
  CHECK(c.operation == "embeddings");
  CHECK(c.request_model == "text-embedding-3-small");
  CHECK(c.response_model == "text-embedding-3-small");
  CHECK(c.usage.source == UsageSource::response);
  CHECK(c.usage.input_tokens == 8);
  CHECK_FALSE(c.usage.output_tokens);

  SECTION("unknown endpoints are not read, so retrievals are not counted twice") {
    x.target = "/v1/responses/resp_67cb71b351908190";
    x.request_body.clear();
    x.body = {
        R"({"id":"resp_67cb71b351908190","model":"o3-mini","usage":{"input_tokens":36,"output_tokens":87}})"};
    c = run(x);
    CHECK(c.operation.empty());
    CHECK(c.usage.source == UsageSource::none);
    CHECK(c.response_id.empty());
  }
  SECTION("query strings and a trailing slash do not hide the endpoint") {
    x.target = "/v1/chat/completions/?foo=bar";
    x.body = {kChatResponse};
    c = run(x);
    CHECK(c.operation == "chat");
    CHECK(c.usage.input_tokens == 1117);
  }
}

TEST_CASE("Azure OpenAI deployment paths") {
  Ex x;
  x.target = "/openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21";
  x.request_body = R"({"messages":[{"role":"user","content":"hi"}]})";
  x.response_headers = {
      {"content-type", "application/json"}, {"x-request-id", "7f3c-azure"}, {"apim-request-id", "ignored"}};
  x.body = {kChatResponse};
  CallInfo c = run(x, "azure.ai.openai");
  CHECK(c.provider == "azure.ai.openai");
  CHECK(c.operation == "chat");
  CHECK(c.request_model.empty());
  CHECK(c.response_model == "gpt-4o-2024-08-06");
  CHECK(c.usage.input_tokens == 1117);
  using A = std::vector<std::pair<std::string, std::string>>;
  CHECK(c.attributes ==
        A{{"shadowmeter.azure.deployment", "my-gpt4o"}, {"shadowmeter.openai.request_id", "7f3c-azure"}});

  x.target = "/openai/deployments/embed-small/embeddings?api-version=2024-10-21";
  x.body = {
      R"({"object":"list","data":[],"model":"text-embedding-3-small","usage":{"prompt_tokens":4,"total_tokens":4}})"};
  c = run(x, "azure.ai.openai");
  CHECK(c.operation == "embeddings");
  CHECK(c.usage.input_tokens == 4);
  CHECK(c.attributes.front() ==
        std::pair<std::string, std::string>{"shadowmeter.azure.deployment", "embed-small"});

  x.target = "/openai/v1/responses";
  x.request_body = R"({"model":"gpt-4.1-mini","input":"hi"})";
  x.body = {R"({"id":"resp_az","model":"gpt-4.1-mini","usage":{"input_tokens":3,"output_tokens":2}})"};
  c = run(x, "azure.ai.openai");
  CHECK(c.operation == "chat");
  CHECK(c.request_model == "gpt-4.1-mini");
  CHECK(c.usage.input_tokens == 3);
  CHECK(c.usage.output_tokens == 2);
  CHECK(c.attributes == A{{"shadowmeter.openai.request_id", "7f3c-azure"}});
}

TEST_CASE("compatible providers keep their name and their usage variants") {
  Ex x;
  x.target = "/chat/completions";
  x.request_body = R"({"model":"deepseek-chat","messages":[]})";
  x.body = {
      R"({"id":"d-1","model":"deepseek-chat","choices":[],"usage":{"prompt_tokens":120,"completion_tokens":30,)"
      R"("total_tokens":150,"prompt_cache_hit_tokens":100,"prompt_cache_miss_tokens":20}})"};
  const CallInfo c = run(x, "deepseek");
  CHECK(c.provider == "deepseek");
  CHECK(c.operation == "chat");
  CHECK(c.usage.input_tokens == 120);
  CHECK(c.usage.output_tokens == 30);
  CHECK(c.usage.cache_read_input_tokens == 100);
}

TEST_CASE("no response at all: request facts only") {
  Ex x;
  x.request_body = kChatRequest;
  x.response = false;
  x.complete = false;
  const CallInfo c = run(x);
  CHECK(c.operation == "chat");
  CHECK(c.request_model == "gpt-4o");
  CHECK_FALSE(c.stream);
  CHECK(c.usage.source == UsageSource::none);
  CHECK(c.error_type.empty());
}

TEST_CASE("embeddings body of 5 MB: usage found without a DOM, in 16 KiB pieces") {
  std::string body = R"({"object":"list","data":[)";
  int item = 0;
  while (body.size() < (5u << 20)) {
    if (item) body += ',';
    body += R"({"object":"embedding","index":)" + std::to_string(item++) + R"(,"embedding":[)";
    for (int i = 0; i < 3072; ++i) body += (i ? ",-0.012345678" : "0.012345678");
    body += "]}";
  }
  body += R"(],"model":"text-embedding-3-large","usage":{"prompt_tokens":4711,"total_tokens":4711}})";
  REQUIRE(body.size() > (5u << 20));
  Ex x;
  x.target = "/v1/embeddings";
  x.request_body = R"({"model":"text-embedding-3-large","input":["a","b"]})";
  x.body = pieces(body, 16384);
  const CallInfo c = run(x);
  CHECK(c.operation == "embeddings");
  CHECK(c.response_model == "text-embedding-3-large");
  CHECK(c.usage.source == UsageSource::response);
  CHECK(c.usage.input_tokens == 4711);
  CHECK_FALSE(c.usage.output_tokens);
  CHECK(c.error_type.empty());

  SECTION("cut before the usage: no figure, and no estimate for vectors") {
    x.body = pieces(body.substr(0, body.size() - 60), 16384);
    x.complete = false;
    const CallInfo cut = run(x);
    CHECK(cut.usage.source == UsageSource::none);
    CHECK_FALSE(cut.usage.input_tokens);
  }
}
