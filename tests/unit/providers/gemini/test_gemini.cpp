// Gemini wire format: Gemini API and Vertex AI, generateContent in one body, as SSE (alt=sse) and
// as one streamed JSON array, thoughts, cached and tool-use tokens, embeddings, countTokens,
// errors, cut and malformed bodies, estimates, the OpenAI-compatible endpoint and Vertex partner
// models.
#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "providers/gemini/gemini.h"
#include "providers/gemini/json_array_stream.h"

using namespace shadowmeter::providers;

namespace {

struct Ex {
  std::string host = "generativelanguage.googleapis.com";
  std::string target = "/v1beta/models/gemini-2.5-flash:generateContent";
  std::string request_body =
      R"({"contents":[{"role":"user","parts":[{"text":"Write a haiku about the sea"}]}]})";
  bool response = true;
  int status = 200;
  HeaderList response_headers{{"content-type", "application/json; charset=UTF-8"}};
  bool sse = false;
  std::string body;  // non-SSE, fed in pieces of `piece` bytes
  std::size_t piece = 7;
  std::vector<std::string> events;  // SSE data
  bool complete = true;
};

CallInfo run(const Ex& x, std::string provider = "gcp.gemini") {
  auto p = make_gemini_provider(std::move(provider));
  auto s = p->start();
  const HeaderList req_headers{{"content-type", "application/json"}};
  RequestView rq;
  rq.method = "POST";
  rq.target = x.target;
  rq.host = x.host;
  rq.headers = &req_headers;
  rq.body = x.request_body;
  s->on_request(rq);
  if (x.response) {
    s->on_response_head({.status = x.status, .headers = &x.response_headers, .event_stream = x.sse});
    for (std::size_t i = 0; i < x.body.size(); i += x.piece)
      s->on_response_body(std::string_view(x.body).substr(i, x.piece));
    for (const auto& data : x.events) s->on_sse_event("message", data);
  }
  return s->finish(x.complete);
}

std::string all_text(const CallInfo& c) {
  std::string s =
      c.provider + c.operation + c.request_model + c.response_model + c.response_id + c.error_type;
  for (const auto& [k, v] : c.attributes) s += k + v;
  return s;
}

std::string response(std::string_view text, std::string_view finish, std::string_view usage,
                     std::string_view model = "gemini-2.5-flash") {
  std::string r =
      R"({"candidates":[{"content":{"parts":[{"text":")" + std::string(text) + R"("}],"role":"model"})";
  if (!finish.empty()) r += R"(,"finishReason":")" + std::string(finish) + '"';
  r += R"(,"index":0}])";
  if (!usage.empty()) r += R"(,"usageMetadata":)" + std::string(usage);
  r += R"(,"modelVersion":")" + std::string(model) + R"(","responseId":"mMVbaKXnEsSdz7IP2ZqLsQ4"})";
  return r;
}

const std::string kFinalUsage =
    R"({"promptTokenCount":1200,"candidatesTokenCount":85,"totalTokenCount":1596,"cachedContentTokenCount":1024,)"
    R"("thoughtsTokenCount":301,"toolUsePromptTokenCount":10,"promptTokensDetails":[{"modality":"TEXT","tokenCount":1200}]})";

// Running totals on early chunks: candidatesTokenCount missing at first, as the API sends them.
const std::string kEarlyUsage = R"({"promptTokenCount":1200,"totalTokenCount":1200})";
const std::string kMidUsage = R"({"promptTokenCount":1200,"candidatesTokenCount":40,"totalTokenCount":1541,)"
                              R"("thoughtsTokenCount":301})";

std::vector<std::string> stream_events() {
  return {response("Waves ", "", kEarlyUsage), response("fold on grey ", "", kMidUsage),
          response("stone", "STOP", kFinalUsage)};
}

std::string json_array(const std::vector<std::string>& elements) {
  std::string s = "[";
  for (std::size_t i = 0; i < elements.size(); ++i) s += (i ? ",\r\n" : "") + elements[i];
  return s + "]";
}

void check_final_usage(const CallInfo& c, UsageSource src) {
  CHECK(c.usage.source == src);
  CHECK(c.usage.input_tokens == 1210);  // prompt (cached included) + tool-use prompt
  CHECK(c.usage.output_tokens == 386);  // candidates + thoughts
  CHECK(c.usage.cache_read_input_tokens == 1024);
  CHECK(c.usage.reasoning_output_tokens == 301);
  CHECK_FALSE(c.usage.cache_write_input_tokens);
}

}  // namespace

TEST_CASE("generateContent: usage normalised, models from URL and body, response id") {
  Ex x;
  x.body = response("Waves fold on grey stone", "STOP", kFinalUsage);
  for (std::size_t piece : {x.body.size(), std::size_t{7}, std::size_t{1}}) {
    x.piece = piece;
    const CallInfo c = run(x);
    CHECK(c.provider == "gcp.gemini");
    CHECK(c.operation == "generate_content");
    CHECK(c.request_model == "gemini-2.5-flash");
    CHECK(c.response_model == "gemini-2.5-flash");
    CHECK(c.response_id == "mMVbaKXnEsSdz7IP2ZqLsQ4");
    CHECK_FALSE(c.stream);
    CHECK(c.error_type.empty());
    check_final_usage(c, UsageSource::response);
    CHECK(c.attributes.empty());
  }
}

TEST_CASE("generateContent without thoughts, cache or tool use: only the counts sent are parts") {
  Ex x;
  x.body = response("Hi", "STOP", R"({"promptTokenCount":8,"candidatesTokenCount":2,"totalTokenCount":10})");
  const CallInfo c = run(x);
  CHECK(c.usage.source == UsageSource::response);
  CHECK(c.usage.input_tokens == 8);
  CHECK(c.usage.output_tokens == 2);
  CHECK_FALSE(c.usage.cache_read_input_tokens);
  CHECK_FALSE(c.usage.reasoning_output_tokens);
}

TEST_CASE("a blocked prompt: usage without candidates counts zero output (proto3 leaves zeros out)") {
  Ex x;
  x.body =
      R"({"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":12,"totalTokenCount":12},)"
      R"("modelVersion":"gemini-2.5-flash","responseId":"r1"})";
  const CallInfo c = run(x);
  CHECK(c.usage.source == UsageSource::response);
  CHECK(c.usage.input_tokens == 12);
  CHECK(c.usage.output_tokens == 0);
  CHECK(c.error_type.empty());
}

TEST_CASE("streamGenerateContent with alt=sse: running totals, the last one wins") {
  Ex x;
  x.target = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse";
  x.sse = true;
  x.response_headers = {{"content-type", "text/event-stream"}};
  x.events = stream_events();
  const CallInfo c = run(x);
  CHECK(c.operation == "generate_content");
  CHECK(c.stream);
  CHECK(c.response_model == "gemini-2.5-flash");
  CHECK(c.response_id == "mMVbaKXnEsSdz7IP2ZqLsQ4");
  check_final_usage(c, UsageSource::stream);
}

TEST_CASE("streamGenerateContent without alt: one JSON array, the last element wins, at every split") {
  Ex x;
  x.target = "/v1beta/models/gemini-2.5-flash:streamGenerateContent";
  x.body = json_array(stream_events());
  for (std::size_t piece = 1; piece <= 64; ++piece) {
    x.piece = piece;
    const CallInfo c = run(x);
    INFO("pieces of " << piece);
    CHECK(c.stream);
    CHECK(c.error_type.empty());
    CHECK(c.response_id == "mMVbaKXnEsSdz7IP2ZqLsQ4");
    check_final_usage(c, UsageSource::stream);
  }
}

TEST_CASE("a cut SSE stream before the last chunk: running totals do not count, an estimate does") {
  Ex x;
  x.target = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse";
  x.sse = true;
  x.response_headers = {{"content-type", "text/event-stream"}};
  x.events = stream_events();
  x.events.pop_back();
  x.complete = false;
  const CallInfo c = run(x);
  CHECK(c.error_type.empty());
  CHECK(c.usage.source == UsageSource::estimated);
  CHECK(c.usage.input_tokens == 7);   // "Write a haiku about the sea": 27 ASCII bytes
  CHECK(c.usage.output_tokens == 5);  // "Waves fold on grey ": 19 ASCII bytes
  CHECK_FALSE(c.usage.cache_read_input_tokens);
  CHECK_FALSE(c.usage.reasoning_output_tokens);
}

TEST_CASE("a cut stream after the last chunk keeps its exact usage") {
  Ex x;
  x.target = "/v1beta/models/gemini-2.5-flash:streamGenerateContent";
  const std::string whole = json_array(stream_events());
  x.body = whole.substr(0, whole.size() - 1);  // the closing bracket never came
  x.complete = false;
  check_final_usage(run(x), UsageSource::stream);
}

TEST_CASE("a JSON-array stream cut inside an element: complete elements count, the cut one is not invented") {
  Ex x;
  x.target = "/v1beta/models/gemini-2.5-flash:streamGenerateContent";
  const auto ev = stream_events();
  const std::string two = json_array({ev[0], ev[1]});
  x.body = two.substr(0, two.size() - 1) + "," + ev[2].substr(0, ev[2].find("usageMetadata") + 40);
  x.complete = false;
  const CallInfo c = run(x);
  CHECK(c.error_type.empty());
  CHECK(c.usage.source == UsageSource::estimated);
  CHECK(c.usage.output_tokens == 6);  // "Waves fold on grey stone": 24 bytes
}

TEST_CASE("a JSON array that ends early on a complete capture is malformed") {
  Ex x;
  x.target = "/v1beta/models/gemini-2.5-flash:streamGenerateContent";
  const std::string whole = json_array(stream_events());
  x.body = whole.substr(0, whole.size() - 1);
  const CallInfo c = run(x);
  CHECK(c.error_type == "invalid_json");
  CHECK(c.usage.source == UsageSource::none);
  CHECK_FALSE(c.usage.input_tokens);
  x.body = whole + "x";
  CHECK(run(x).error_type == "invalid_json");
}

TEST_CASE("errors: status of the error object, no usage") {
  Ex x;
  x.status = 429;
  x.body =
      R"({"error":{"code":429,"message":"You exceeded your current quota.","status":"RESOURCE_EXHAUSTED"}})";
  CallInfo c = run(x);
  CHECK(c.error_type == "RESOURCE_EXHAUSTED");
  CHECK(c.usage.source == UsageSource::none);
  CHECK(c.request_model == "gemini-2.5-flash");
  CHECK(all_text(c).find("quota") == std::string::npos);

  x.target = "/v1beta/models/gemini-2.5-flash:streamGenerateContent";
  x.status = 400;
  x.body = R"([{"error":{"code":400,"message":"API key not valid.","status":"INVALID_ARGUMENT"}}])";
  c = run(x);
  CHECK(c.error_type == "INVALID_ARGUMENT");
  CHECK(c.stream);

  // Mid-stream error event after some output: an error, so no estimate.
  x.target = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse";
  x.status = 200;
  x.sse = true;
  x.body.clear();
  x.events = {response("Waves", "", kEarlyUsage), R"({"error":{"code":503,"status":"UNAVAILABLE"}})"};
  c = run(x);
  CHECK(c.error_type == "UNAVAILABLE");
  CHECK(c.usage.source == UsageSource::none);
}

TEST_CASE("an SSE event that is not JSON is a malformed stream") {
  Ex x;
  x.target = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse";
  x.sse = true;
  x.events = {response("Hi", "", kEarlyUsage), R"({"candidates":[)"};
  const CallInfo c = run(x);
  CHECK(c.error_type == "invalid_json");
  CHECK(c.usage.source == UsageSource::none);
}

TEST_CASE("a cut non-streamed body: usage counts only if its object closed") {
  Ex x;
  const std::string full = response("Hi", "STOP", kFinalUsage);
  x.complete = false;
  x.body = full.substr(0, full.find("modelVersion"));
  check_final_usage(run(x), UsageSource::response);
  x.body = full.substr(0, full.find("thoughtsTokenCount"));
  const CallInfo c = run(x);
  CHECK(c.usage.source == UsageSource::estimated);  // the text was seen, the usage was not
  CHECK(c.usage.output_tokens == 1);
}

TEST_CASE("embeddings and countTokens: operation, no usage") {
  Ex x;
  x.target = "/v1beta/models/text-embedding-004:embedContent";
  x.request_body = R"({"content":{"parts":[{"text":"hello"}]}})";
  x.body = R"({"embedding":{"values":[0.013168523,-0.008711934,-0.046782676]}})";
  CallInfo c = run(x);
  CHECK(c.operation == "embeddings");
  CHECK(c.request_model == "text-embedding-004");
  CHECK(c.usage.source == UsageSource::none);
  CHECK(c.error_type.empty());

  x.target = "/v1beta/models/gemini-embedding-001:batchEmbedContents";
  x.body = R"({"embeddings":[{"values":[0.1,0.2]},{"values":[0.3,0.4]}]})";
  c = run(x);
  CHECK(c.operation == "embeddings");
  CHECK(c.request_model == "gemini-embedding-001");
  CHECK(c.usage.source == UsageSource::none);

  x.target = "/v1beta/models/gemini-2.5-flash:countTokens";
  x.body = R"({"totalTokens":31,"promptTokensDetails":[{"modality":"TEXT","tokenCount":31}]})";
  c = run(x);
  CHECK(c.operation == "count_tokens");
  CHECK(c.usage.source == UsageSource::none);
  CHECK_FALSE(c.usage.input_tokens);
}

TEST_CASE("Vertex AI: model from the publisher path, same usage rules") {
  Ex x;
  x.host = "us-central1-aiplatform.googleapis.com";
  x.target =
      "/v1/projects/my-proj/locations/us-central1/publishers/google/models/"
      "gemini-2.0-flash-001:generateContent";
  x.body =
      R"({"candidates":[{"content":{"role":"model","parts":[{"text":"Hello"}]},"finishReason":"STOP"}],)"
      R"("usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":1,"totalTokenCount":6,"trafficType":"ON_DEMAND",)"
      R"("promptTokensDetails":[{"modality":"TEXT","tokenCount":5}]},"modelVersion":"gemini-2.0-flash-001",)"
      R"("createTime":"2025-06-25T09:00:00.000000Z","responseId":"abc123"})";
  const CallInfo c = run(x, "gcp.vertex_ai");
  CHECK(c.provider == "gcp.vertex_ai");
  CHECK(c.operation == "generate_content");
  CHECK(c.request_model == "gemini-2.0-flash-001");
  CHECK(c.response_model == "gemini-2.0-flash-001");
  CHECK(c.response_id == "abc123");
  CHECK(c.usage.source == UsageSource::response);
  CHECK(c.usage.input_tokens == 5);
  CHECK(c.usage.output_tokens == 1);
}

TEST_CASE("Vertex AI Claude (publishers/anthropic) is read by the Anthropic module") {
  Ex x;
  x.host = "us-east5-aiplatform.googleapis.com";
  x.target =
      "/v1/projects/p/locations/us-east5/publishers/anthropic/models/"
      "claude-sonnet-4@20250514:streamRawPredict";
  x.request_body =
      R"({"anthropic_version":"vertex-2023-10-16","messages":[{"role":"user","content":"Hi"}],"stream":true})";
  x.sse = true;
  x.response_headers = {{"content-type", "text/event-stream"}};
  x.events = {R"({"type":"message_start","message":{"usage":{"input_tokens":9,"output_tokens":1}}})",
              R"({"type":"content_block_delta","delta":{"type":"text_delta","text":"Hello"}})"};
  CallInfo c = run(x, "gcp.vertex_ai");
  CHECK(c.operation == "chat");
  CHECK(c.request_model == "claude-sonnet-4@20250514");
  CHECK(c.stream);
  CHECK(c.error_type.empty());
  // message_start's input is exact; no message_delta came, so no output figure.
  CHECK(c.usage.source == UsageSource::stream);
  CHECK(c.usage.input_tokens == 9);
  CHECK_FALSE(c.usage.output_tokens);

  x.target =
      "/v1/projects/p/locations/us-east5/publishers/anthropic/models/claude-sonnet-4@20250514:rawPredict";
  x.sse = false;
  x.response_headers = {{"content-type", "application/json"}};
  x.events.clear();
  x.body = R"({"id":"msg_vrtx_01","type":"message","usage":{"input_tokens":9,"output_tokens":3}})";
  c = run(x, "gcp.vertex_ai");
  CHECK(c.operation == "chat");
  CHECK_FALSE(c.stream);
  CHECK(c.response_id == "msg_vrtx_01");
  CHECK(c.usage.source == UsageSource::response);
  CHECK(c.usage.input_tokens == 9);
  CHECK(c.usage.output_tokens == 3);
}

TEST_CASE("the OpenAI-compatible endpoints are read by the OpenAI module under this provider") {
  Ex x;
  x.target = "/v1beta/openai/chat/completions";
  x.request_body = R"({"model":"gemini-2.0-flash","messages":[{"role":"user","content":"Hi"}]})";
  x.body =
      R"({"id":"chatcmpl-g1","object":"chat.completion","model":"gemini-2.0-flash","choices":[{"index":0,)"
      R"("message":{"role":"assistant","content":"Hello"},"finish_reason":"stop"}],)"
      R"("usage":{"prompt_tokens":4,"completion_tokens":2,"total_tokens":6}})";
  CallInfo c = run(x);
  CHECK(c.provider == "gcp.gemini");
  CHECK(c.operation == "chat");
  CHECK(c.request_model == "gemini-2.0-flash");
  CHECK(c.response_id == "chatcmpl-g1");
  CHECK(c.usage.source == UsageSource::response);
  CHECK(c.usage.input_tokens == 4);
  CHECK(c.usage.output_tokens == 2);

  x.host = "us-central1-aiplatform.googleapis.com";
  x.target = "/v1/projects/p/locations/us-central1/endpoints/openapi/chat/completions";
  x.request_body = R"({"model":"google/gemini-2.0-flash-001","messages":[{"role":"user","content":"Hi"}]})";
  c = run(x, "gcp.vertex_ai");
  CHECK(c.provider == "gcp.vertex_ai");
  CHECK(c.request_model == "google/gemini-2.0-flash-001");
  CHECK(c.usage.input_tokens == 4);
}

TEST_CASE("counts that overflow when summed give no figure") {
  Ex x;
  x.body = response(
      "Hi", "STOP",
      R"({"promptTokenCount":9223372036854775807,"toolUsePromptTokenCount":1,"candidatesTokenCount":1})");
  const CallInfo c = run(x);
  CHECK(c.usage.source != UsageSource::response);
  CHECK(c.usage.source == UsageSource::estimated);  // the text is still there to count
}

TEST_CASE("bodies that are not JSON, unknown endpoints and no response") {
  Ex x;
  x.status = 502;
  x.response_headers = {{"content-type", "text/html"}};
  x.body = "<html>bad gateway</html>";
  CallInfo c = run(x);
  CHECK(c.error_type.empty());
  CHECK(c.usage.source == UsageSource::none);

  x = Ex{};
  x.target = "/v1beta/cachedContents";
  x.body = R"({"name":"cachedContents/abc","usageMetadata":{"totalTokenCount":4000}})";
  c = run(x);
  CHECK(c.operation.empty());
  CHECK(c.usage.source == UsageSource::none);

  x = Ex{};
  x.target = "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse";
  x.response = false;
  c = run(x);
  CHECK(c.stream);
  CHECK(c.request_model == "gemini-2.5-pro");
  CHECK(c.usage.source == UsageSource::none);
}

TEST_CASE("JsonArrayStream: elements at every split, strings with brackets and escaped quotes") {
  const std::string body = R"( [ {"a":"]}[{\"x"}, {"b":[1,{"c":"\\"}]} ,7,"s,]", true ,{}] )";
  const std::vector<std::string> want{
      R"({"a":"]}[{\"x"})", R"({"b":[1,{"c":"\\"}]})", "7", R"("s,]")", "true", "{}"};
  for (std::size_t i = 0; i <= body.size(); ++i) {
    for (std::size_t j = i; j <= body.size(); j += 3) {
      std::vector<std::string> got;
      JsonArrayStream s([&](std::string_view e) { got.emplace_back(e); }, 1024);
      s.feed(std::string_view(body).substr(0, i));
      s.feed(std::string_view(body).substr(i, j - i));
      s.feed(std::string_view(body).substr(j));
      INFO("splits at " << i << ", " << j);
      REQUIRE(got == want);
      REQUIRE(s.root_array());
      REQUIRE(s.array_closed());
      REQUIRE(s.pending().empty());
      REQUIRE_FALSE(s.trailing_garbage());
      REQUIRE_FALSE(s.overflow());
    }
  }
}

TEST_CASE("JsonArrayStream: a root object stays whole; limits; garbage") {
  std::vector<std::string> got;
  auto cb = [&](std::string_view e) { got.emplace_back(e); };
  JsonArrayStream whole(cb, 1024);
  whole.feed(R"(  {"a":[1,2]})");
  CHECK_FALSE(whole.root_array());
  CHECK(whole.pending() == R"({"a":[1,2]})");
  CHECK(got.empty());

  JsonArrayStream small(cb, 8);
  small.feed(R"([{"a":1},{"bbbbbbbb":2},{"c":3}])");
  CHECK(got == std::vector<std::string>{R"({"a":1})"});
  CHECK(small.overflow());
  CHECK(small.pending() == R"({"bbbbbb)");

  got.clear();
  JsonArrayStream cut(cb, 1024);
  cut.feed(R"([{"a":1},{"b")");
  CHECK(got == std::vector<std::string>{R"({"a":1})"});
  CHECK(cut.pending() == R"({"b")");
  CHECK_FALSE(cut.array_closed());

  JsonArrayStream garbage(cb, 1024);
  garbage.feed("[1] x");
  CHECK(garbage.trailing_garbage());
  JsonArrayStream bad_close(cb, 1024);
  bad_close.feed("[1}");
  CHECK(bad_close.trailing_garbage());
}
