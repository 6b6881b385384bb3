// Cohere wire format: Chat v2 (body and SSE stream), Chat v1 (body and NDJSON stream), Embed v2/v1,
// billing on billed_units rather than tokens, cut streams, estimates, errors and the
// OpenAI-compatible endpoints.
#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "providers/cohere/cohere.h"

using namespace shadowmeter::providers;

namespace {

struct Ex {
  std::string target = "/v2/chat";
  std::string request_body;
  int status = 200;
  HeaderList response_headers{{"content-type", "application/json"}};
  bool sse = false;
  std::vector<std::string> body;                            // non-SSE pieces
  std::vector<std::pair<std::string, std::string>> events;  // SSE (type, data)
  bool complete = true;
};

CallInfo run(const Ex& x, std::string provider = "cohere") {
  auto p = make_cohere_provider(std::move(provider));
  auto s = p->start();
  const HeaderList request_headers{{"authorization", "Bearer co-secret"}};
  RequestView rq;
  rq.method = "POST";
  rq.target = x.target;
  rq.host = "api.cohere.com";
  rq.headers = &request_headers;
  rq.body = x.request_body;
  s->on_request(rq);
  s->on_response_head({.status = x.status, .headers = &x.response_headers, .event_stream = x.sse});
  for (const auto& piece : x.body) s->on_response_body(piece);
  for (const auto& [type, data] : x.events) s->on_sse_event(type, data);
  return s->finish(x.complete);
}

std::vector<std::string> pieces(std::string_view s, std::size_t n) {
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
    R"({"model":"command-a-03-2025","messages":[{"role":"user","content":"Hello"}]})";
const std::string kStreamRequest =
    R"({"model":"command-a-03-2025","stream":true,"messages":[{"role":"user","content":"Hello"}]})";

using Events = std::vector<std::pair<std::string, std::string>>;

Events v2_stream() {
  return {
      {"message-start",
       R"({"id":"29f14a5a-11de-4cae-9800-25e4747408ea","type":"message-start","delta":{"message":)"
       R"({"role":"assistant","content":[],"tool_plan":"","tool_calls":[],"citations":[]}}})"},
      {"content-start",
       R"({"type":"content-start","index":0,"delta":{"message":{"content":{"type":"text","text":""}}}})"},
      {"content-delta",
       R"({"type":"content-delta","index":0,"delta":{"message":{"content":{"text":"Hello"}}}})"},
      {"content-delta",
       R"({"type":"content-delta","index":0,"delta":{"message":{"content":{"text":" world!"}}}})"},
      {"content-end", R"({"type":"content-end","index":0})"},
      {"message-end",
       R"({"type":"message-end","delta":{"finish_reason":"COMPLETE","usage":{"billed_units":)"
       R"({"input_tokens":3,"output_tokens":10},"tokens":{"input_tokens":195,"output_tokens":10}}}})"},
  };
}

Ex v2_streamed() {
  Ex x;
  x.request_body = kStreamRequest;
  x.sse = true;
  x.response_headers = {{"content-type", "text/event-stream"}};
  x.events = v2_stream();
  return x;
}

const std::string kV1Stream =
    R"({"is_finished":false,"event_type":"stream-start","generation_id":"gen-77"})"
    "\n"
    R"({"is_finished":false,"event_type":"text-generation","text":"Hi"})"
    "\n"
    R"({"is_finished":false,"event_type":"text-generation","text":" there"})"
    "\n"
    R"({"is_finished":true,"event_type":"stream-end","response":{"response_id":"resp-v1s","text":"Hi there",)"
    R"("generation_id":"gen-77","chat_history":[{"role":"USER","message":"Hey"},{"role":"CHATBOT","message":"Hi there"}],)"
    R"("finish_reason":"COMPLETE","meta":{"api_version":{"version":"1"},"billed_units":{"input_tokens":4,)"
    R"("output_tokens":3},"tokens":{"input_tokens":70,"output_tokens":3}}},"finish_reason":"COMPLETE"})"
    "\n";

}  // namespace

TEST_CASE("chat v2: billed on billed_units, not tokens") {
  Ex x;
  x.request_body = kChatRequest;
  x.body =
      pieces(R"({"id":"c14c80c3-18eb-4519-9460-6c92edd8cfb4","finish_reason":"COMPLETE",)"
             R"("message":{"role":"assistant","content":[{"type":"text","text":"Hello! How can I help?"}]},)"
             R"("usage":{"billed_units":{"input_tokens":5,"output_tokens":418},)"
             R"("tokens":{"input_tokens":71,"output_tokens":418}}})",
             9);
  const CallInfo c = run(x);
  CHECK(c.provider == "cohere");
  CHECK(c.operation == "chat");
  CHECK(c.request_model == "command-a-03-2025");
  CHECK(c.response_model.empty());  // Cohere does not name it in the response
  CHECK(c.response_id == "c14c80c3-18eb-4519-9460-6c92edd8cfb4");
  CHECK_FALSE(c.stream);
  CHECK(c.usage.source == UsageSource::response);
  CHECK(c.usage.input_tokens == 5);
  CHECK(c.usage.output_tokens == 418);
  CHECK_FALSE(c.usage.cache_read_input_tokens);
  CHECK(c.error_type.empty());
  CHECK(all_text(c).find("Hello") == std::string::npos);
  CHECK(all_text(c).find("co-secret") == std::string::npos);
}

TEST_CASE("chat v2 stream: usage from message-end") {
  const CallInfo c = run(v2_streamed());
  CHECK(c.stream);
  CHECK(c.operation == "chat");
  CHECK(c.request_model == "command-a-03-2025");
  CHECK(c.response_id == "29f14a5a-11de-4cae-9800-25e4747408ea");
  CHECK(c.usage.source == UsageSource::stream);
  CHECK(c.usage.input_tokens == 3);
  CHECK(c.usage.output_tokens == 10);
  CHECK(c.error_type.empty());
}

TEST_CASE("chat v2 stream cut at every event boundary: exact only after message-end") {
  const Events all = v2_stream();
  // Estimates: request "Hello" is 5 ASCII bytes -> 2 tokens; output "Hello" -> 2, "Hello world!" -> 3.
  const std::vector<long> output_estimate{0, 0, 0, 2, 3, 3};
  for (std::size_t k = 0; k <= all.size(); ++k) {
    INFO("events delivered before the cut: " << k);
    Ex x = v2_streamed();
    x.events.assign(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(k));
    x.complete = false;
    const CallInfo c = run(x);
    CHECK(c.error_type.empty());
    if (k == all.size()) {
      CHECK(c.usage.source == UsageSource::stream);
      CHECK(c.usage.input_tokens == 3);
      CHECK(c.usage.output_tokens == 10);
    } else if (output_estimate[k] == 0) {
      CHECK(c.usage.source == UsageSource::none);
      CHECK_FALSE(c.usage.input_tokens);
      CHECK_FALSE(c.usage.output_tokens);
    } else {
      CHECK(c.usage.source == UsageSource::estimated);
      CHECK(c.usage.input_tokens == 2);
      CHECK(c.usage.output_tokens == output_estimate[k]);
    }
  }
}

TEST_CASE("embed v2 and v1: input from meta.billed_units") {
  Ex x;
  x.target = "/v2/embed";
  x.request_body = R"({"model":"embed-v4.0","texts":["hello","goodbye"],"input_type":"classification",)"
                   R"("embedding_types":["float"]})";
  x.body = {
      R"({"id":"da6e531f-54c6-4a73-bf92-f60566d8d753","embeddings":{"float":[[0.016296387,0.008354187],)"
      R"([0.0028266907,-0.06237793]]},"texts":["hello","goodbye"],"meta":{"api_version":{"version":"2"},)"
      R"("billed_units":{"input_tokens":2}},"response_type":"embeddings_by_type"})"};
  CallInfo c = run(x);
  CHECK(c.operation == "embeddings");
  CHECK(c.request_model == "embed-v4.0");
  CHECK(c.response_id == "da6e531f-54c6-4a73-bf92-f60566d8d753");
  CHECK(c.usage.source == UsageSource::response);
  CHECK(c.usage.input_tokens == 2);
  CHECK_FALSE(c.usage.output_tokens);
  CHECK(all_text(c).find("goodbye") == std::string::npos);

  x.target = "/v1/embed";
  x.request_body = R"({"model":"embed-english-v3.0","texts":["hello"],"input_type":"search_query"})";
  x.body = {R"({"id":"e1","embeddings":[[0.1,0.2]],"texts":["hello"],"meta":{"api_version":{"version":"1"},)"
            R"("billed_units":{"input_tokens":1}},"response_type":"embeddings_floats"})"};
  c = run(x);
  CHECK(c.operation == "embeddings");
  CHECK(c.usage.input_tokens == 1);
  CHECK_FALSE(c.usage.output_tokens);

  SECTION("an embedding without billed units is no estimate") {
    x.body = {R"({"id":"e2","embeddings":[[0.1,0.2]],"texts":["hello"]})"};
    c = run(x);
    CHECK(c.usage.source == UsageSource::none);
  }
}

TEST_CASE("chat v1 body: meta.billed_units") {
  Ex x;
  x.target = "/v1/chat";
  x.request_body = R"({"model":"command-r-plus","message":"Hey","preamble":"Be brief."})";
  x.body = {R"({"response_id":"resp-v1","text":"Hi there","generation_id":"gen-1","chat_history":[],)"
            R"("finish_reason":"COMPLETE","meta":{"api_version":{"version":"1"},"billed_units":)"
            R"({"input_tokens":17,"output_tokens":12},"tokens":{"input_tokens":83,"output_tokens":12}}})"};
  const CallInfo c = run(x);
  CHECK(c.operation == "chat");
  CHECK(c.request_model == "command-r-plus");
  CHECK(c.response_id == "resp-v1");
  CHECK(c.usage.source == UsageSource::response);
  CHECK(c.usage.input_tokens == 17);
  CHECK(c.usage.output_tokens == 12);
}

TEST_CASE("chat v1 NDJSON stream, split at every byte and at other sizes") {
  for (std::size_t n : {std::size_t{1}, std::size_t{2}, std::size_t{13}, kV1Stream.size()}) {
    INFO("piece size " << n);
    Ex x;
    x.target = "/v1/chat";
    x.request_body = R"({"model":"command-r-plus","message":"Hey","stream":true})";
    x.response_headers = {{"content-type", "application/stream+json"}};
    x.body = pieces(kV1Stream, n);
    const CallInfo c = run(x);
    CHECK(c.stream);
    CHECK(c.response_id == "resp-v1s");
    CHECK(c.usage.source == UsageSource::stream);
    CHECK(c.usage.input_tokens == 4);
    CHECK(c.usage.output_tokens == 3);
    CHECK(c.error_type.empty());
    CHECK(all_text(c).find("there") == std::string::npos);
  }
  SECTION("cut inside the stream-end line") {
    Ex x;
    x.target = "/v1/chat";
    x.request_body = R"({"model":"command-r-plus","message":"Hey","stream":true})";
    x.response_headers = {{"content-type", "application/stream+json"}};
    x.body = {kV1Stream.substr(0, kV1Stream.find("\"tokens\""))};
    x.complete = false;
    const CallInfo c = run(x);
    // The request's "message" is no prompt field the estimate reads; "Hi there": 8 bytes -> 2 tokens.
    CHECK(c.error_type.empty());
    CHECK(c.usage.source == UsageSource::estimated);
    CHECK_FALSE(c.usage.input_tokens);
    CHECK(c.usage.output_tokens == 2);
  }
}

TEST_CASE("error answers carry no usage") {
  Ex x;
  x.request_body = kChatRequest;
  x.status = 429;
  x.body = {
      R"({"id":"f1","message":"You are using a Trial key, which is limited to 10 API calls / minute."})"};
  const CallInfo c = run(x);
  CHECK(c.usage.source == UsageSource::none);
  CHECK(c.error_type.empty());
  CHECK(c.response_id.empty());
}

TEST_CASE("malformed JSON is invalid_json with no numbers") {
  Ex x;
  x.request_body = kChatRequest;
  x.body = {R"({"id":"x","usage":{"billed_units":{"input_tokens":5,"output_tokens":3}},})"};
  CallInfo c = run(x);
  CHECK(c.error_type == "invalid_json");
  CHECK(c.usage.source == UsageSource::none);

  Ex s = v2_streamed();
  s.events.insert(s.events.begin() + 2, {"content-delta", R"({"type":"content-delta","delta":{)"});
  c = run(s);
  CHECK(c.error_type == "invalid_json");
  CHECK(c.usage.source == UsageSource::none);
}

TEST_CASE("the OpenAI-compatible API goes through the OpenAI module under Cohere's name") {
  Ex x;
  x.target = "/compatibility/v1/chat/completions";
  x.request_body = R"({"model":"command-a-03-2025","messages":[{"role":"user","content":"hi"}]})";
  x.body = {R"({"id":"cc-1","object":"chat.completion","model":"command-a-03-2025","choices":[],)"
            R"("usage":{"prompt_tokens":4,"completion_tokens":9,"total_tokens":13}})"};
  const CallInfo c = run(x);
  CHECK(c.provider == "cohere");
  CHECK(c.operation == "chat");
  CHECK(c.response_model == "command-a-03-2025");
  CHECK(c.usage.source == UsageSource::response);
  CHECK(c.usage.input_tokens == 4);
  CHECK(c.usage.output_tokens == 9);
}

TEST_CASE("unknown endpoints are not read") {
  Ex x;
  x.target = "/v2/rerank";
  x.request_body = R"({"model":"rerank-v3.5","query":"q","documents":["a"]})";
  x.body = {R"({"id":"r1","results":[],"meta":{"billed_units":{"search_units":1}}})"};
  const CallInfo c = run(x);
  CHECK(c.operation.empty());
  CHECK(c.usage.source == UsageSource::none);
  CHECK(c.response_id.empty());
}
