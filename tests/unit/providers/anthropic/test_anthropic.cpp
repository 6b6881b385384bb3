// Anthropic wire format: Messages (streamed and not) with cache reads and writes, cumulative
// message_delta usage, cut streams at every event boundary, error bodies and events, count_tokens,
// the legacy completion API, estimates when usage is missing, and response headers.
#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "providers/anthropic/anthropic.h"

using namespace shadowmeter::providers;

namespace {

struct Ex {
  std::string target = "/v1/messages";
  std::string request_body;
  bool response = true;  // false: no response head was seen
  int status = 200;
  HeaderList response_headers{{"content-type", "application/json"}};
  bool sse = false;
  std::vector<std::string> body;                            // non-SSE pieces
  std::vector<std::pair<std::string, std::string>> events;  // SSE (type, data)
  bool complete = true;
};

CallInfo run(const Ex& x, std::string provider = "anthropic") {
  auto p = make_anthropic_provider(std::move(provider));
  auto s = p->start();
  const HeaderList request_headers{{"anthropic-version", "2023-06-01"}, {"x-api-key", "sk-ant-secret"}};
  RequestView rq;
  rq.method = "POST";
  rq.target = x.target;
  rq.host = "api.anthropic.com";
  rq.headers = &request_headers;
  rq.body = x.request_body;
  s->on_request(rq);
  if (x.response) {
    s->on_response_head({.status = x.status, .headers = &x.response_headers, .event_stream = x.sse});
    for (const auto& piece : x.body) s->on_response_body(piece);
    for (const auto& [type, data] : x.events) s->on_sse_event(type, data);
  }
  return s->finish(x.complete);
}

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

std::string attr(const CallInfo& c, std::string_view key) {
  for (const auto& [k, v] : c.attributes) {
    if (k == key) return v;
  }
  return "<absent>";
}

const std::string kRequest = R"({"model":"claude-sonnet-4-5","max_tokens":1024,"system":"You are terse.",)"
                             R"("messages":[{"role":"user","content":"Say hello"}]})";

const std::string kStreamRequest = R"({"model":"claude-sonnet-4-5","max_tokens":1024,"stream":true,)"
                                   R"("messages":[{"role":"user","content":"Say hello"}]})";

const std::string kResponse =
    R"({"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant",)"
    R"("model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"Hello there, friend!"}],)"
    R"("stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":25,)"
    R"("cache_creation_input_tokens":1500,"cache_read_input_tokens":2048,)"
    R"("cache_creation":{"ephemeral_5m_input_tokens":1000,"ephemeral_1h_input_tokens":500},)"
    R"("output_tokens":503,"service_tier":"standard"}})";

using Events = std::vector<std::pair<std::string, std::string>>;

// A full stream: message_start, text, two cumulative message_delta events, message_stop.
Events stream_events() {
  return {
      {"message_start",
       R"({"type":"message_start","message":{"id":"msg_01S","type":"message","role":"assistant",)"
       R"("model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,)"
       R"("usage":{"input_tokens":25,"cache_creation_input_tokens":1500,"cache_read_input_tokens":2048,)"
       R"("cache_creation":{"ephemeral_5m_input_tokens":1500,"ephemeral_1h_input_tokens":0},"output_tokens":1}}})"},
      {"content_block_start",
       R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})"},
      {"ping", R"({"type": "ping"})"},
      {"content_block_delta",
       R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}})"},
      {"message_delta",
       R"({"type":"message_delta","delta":{"stop_reason":null},"usage":{"output_tokens":15}})"},
      {"content_block_delta",
       R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" there"}})"},
      {"content_block_stop", R"({"type":"content_block_stop","index":0})"},
      {"message_delta", R"({"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},)"
                        R"("usage":{"output_tokens":503}})"},
      {"message_stop", R"({"type":"message_stop"})"},
  };
}

Ex streamed() {
  Ex x;
  x.request_body = kStreamRequest;
  x.sse = true;
  x.response_headers = {{"content-type", "text/event-stream; charset=utf-8"}, {"request-id", "req_011S"}};
  x.events = stream_events();
  return x;
}

}  // namespace

TEST_CASE("non-streamed message: input adds cache reads and writes, parts reported") {
  Ex x;
  x.request_body = kRequest;
  x.response_headers = {{"content-type", "application/json"},
                        {"request-id", "req_018EeWyXxfu5pfWkrYcMdjWG"},
                        {"anthropic-organization-id", "org-7b2c"},
                        {"anthropic-ratelimit-requests-remaining", "49"}};
  x.body = pieces(kResponse);
  const CallInfo c = run(x);
  CHECK(c.provider == "anthropic");
  CHECK(c.operation == "chat");
  CHECK(c.request_model == "claude-sonnet-4-5");
  CHECK(c.response_model == "claude-sonnet-4-5-20250929");
  CHECK(c.response_id == "msg_01XFDUDYJgAACzvnptvVoYEL");
  CHECK_FALSE(c.stream);
  CHECK(c.usage.source == UsageSource::response);
  CHECK(c.usage.input_tokens == 25 + 2048 + 1500);
  CHECK(c.usage.output_tokens == 503);
  CHECK(c.usage.cache_read_input_tokens == 2048);
  CHECK(c.usage.cache_write_input_tokens == 1500);
  CHECK_FALSE(c.usage.reasoning_output_tokens);
  CHECK(c.error_type.empty());
  using A = std::vector<std::pair<std::string, std::string>>;
  CHECK(c.attributes == A{{"shadowmeter.anthropic.request_id", "req_018EeWyXxfu5pfWkrYcMdjWG"},
                          {"shadowmeter.anthropic.organization_id", "org-7b2c"},
                          {"shadowmeter.anthropic.cache_creation_1h_tokens", "500"}});
  CHECK(all_text(c).find("Hello") == std::string::npos);
  CHECK(all_text(c).find("terse") == std::string::npos);
  CHECK(all_text(c).find("sk-ant") == std::string::npos);
}

TEST_CASE("non-streamed message without cache fields, or with them null") {
  Ex x;
  x.request_body = kRequest;
  x.body = {R"({"id":"msg_2","type":"message","model":"claude-3-haiku-20240307","content":[],)"
            R"("usage":{"input_tokens":12,"output_tokens":6}})"};
  CallInfo c = run(x);
  CHECK(c.usage.source == UsageSource::response);
  CHECK(c.usage.input_tokens == 12);
  CHECK(c.usage.output_tokens == 6);
  CHECK_FALSE(c.usage.cache_read_input_tokens);
  CHECK_FALSE(c.usage.cache_write_input_tokens);
  CHECK(attr(c, "shadowmeter.anthropic.cache_creation_1h_tokens") == "<absent>");

  x.body = {R"({"id":"msg_3","type":"message","model":"claude-3-haiku-20240307","content":[],)"
            R"("usage":{"input_tokens":12,"cache_creation_input_tokens":null,"cache_read_input_tokens":null,)"
            R"("output_tokens":6}})"};
  c = run(x);
  CHECK(c.usage.input_tokens == 12);
  CHECK_FALSE(c.usage.cache_read_input_tokens);
  CHECK_FALSE(c.usage.cache_write_input_tokens);

  SECTION("only the TTL breakdown of the cache writes: its sum is the write total") {
    x.body = {
        R"({"id":"msg_4","type":"message","model":"m","usage":{"input_tokens":10,)"
        R"("cache_creation":{"ephemeral_5m_input_tokens":7,"ephemeral_1h_input_tokens":3},"output_tokens":2}})"};
    c = run(x);
    CHECK(c.usage.input_tokens == 20);
    CHECK(c.usage.cache_write_input_tokens == 10);
    CHECK(attr(c, "shadowmeter.anthropic.cache_creation_1h_tokens") == "3");
  }
}

TEST_CASE("streamed message: message_delta usage is cumulative, the last one wins") {
  const CallInfo c = run(streamed());
  CHECK(c.stream);
  CHECK(c.operation == "chat");
  CHECK(c.request_model == "claude-sonnet-4-5");
  CHECK(c.response_model == "claude-sonnet-4-5-20250929");
  CHECK(c.response_id == "msg_01S");
  CHECK(c.usage.source == UsageSource::stream);
  CHECK(c.usage.input_tokens == 3573);
  CHECK(c.usage.output_tokens == 503);  // not 1 + 15 + 503
  CHECK(c.usage.cache_read_input_tokens == 2048);
  CHECK(c.usage.cache_write_input_tokens == 1500);
  CHECK(c.error_type.empty());
  CHECK(attr(c, "shadowmeter.anthropic.request_id") == "req_011S");
  CHECK(attr(c, "shadowmeter.anthropic.cache_creation_1h_tokens") == "0");
  CHECK(all_text(c).find("Hello") == std::string::npos);
}

TEST_CASE("newer API versions restate input and cache counts in message_delta") {
  Ex x = streamed();
  x.events[7].second =
      R"({"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"input_tokens":40,)"
      R"("cache_creation_input_tokens":1500,"cache_read_input_tokens":4096,"output_tokens":503,)"
      R"("server_tool_use":{"web_search_requests":1}}})";
  const CallInfo c = run(x);
  CHECK(c.usage.source == UsageSource::stream);
  CHECK(c.usage.input_tokens == 40 + 4096 + 1500);
  CHECK(c.usage.output_tokens == 503);
  CHECK(c.usage.cache_read_input_tokens == 4096);
  CHECK(c.usage.cache_write_input_tokens == 1500);
}

TEST_CASE("a stream cut at every event boundary never reports a wrong figure") {
  const Events all = stream_events();
  for (std::size_t k = 0; k <= all.size(); ++k) {
    INFO("events delivered before the cut: " << k);
    Ex x = streamed();
    x.events.assign(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(k));
    x.complete = false;
    const CallInfo c = run(x);
    CHECK(c.stream);
    CHECK(c.error_type.empty());
    if (k == 0) {
      // Nothing seen, no text: no figure at all.
      CHECK(c.usage.source == UsageSource::none);
      CHECK_FALSE(c.usage.input_tokens);
      CHECK_FALSE(c.usage.output_tokens);
    } else if (k < all.size()) {
      // message_start's input is exact; the output is not final before message_stop.
      CHECK(c.usage.source == UsageSource::stream);
      CHECK(c.usage.input_tokens == 3573);
      CHECK(c.usage.cache_read_input_tokens == 2048);
      CHECK(c.usage.cache_write_input_tokens == 1500);
      CHECK_FALSE(c.usage.output_tokens);
      CHECK(c.response_id == "msg_01S");
    } else {
      CHECK(c.usage.source == UsageSource::stream);
      CHECK(c.usage.input_tokens == 3573);
      CHECK(c.usage.output_tokens == 503);
    }
  }
}

TEST_CASE("a stream that ended cleanly without message_stop: the last message_delta is final") {
  Ex x = streamed();
  x.events.pop_back();
  const CallInfo c = run(x);
  CHECK(c.usage.source == UsageSource::stream);
  CHECK(c.usage.output_tokens == 503);
}

TEST_CASE("events after message_stop are ignored") {
  Ex x = streamed();
  x.events.emplace_back("message_delta", R"({"type":"message_delta","usage":{"output_tokens":9999}})");
  const CallInfo c = run(x);
  CHECK(c.usage.output_tokens == 503);
}

TEST_CASE("unnamed events fall back to the type in the data") {
  Ex x = streamed();
  for (auto& e : x.events) e.first = "message";
  const CallInfo c = run(x);
  CHECK(c.usage.source == UsageSource::stream);
  CHECK(c.usage.input_tokens == 3573);
  CHECK(c.usage.output_tokens == 503);
  CHECK(c.response_id == "msg_01S");
}

TEST_CASE("an error event mid-stream: its type, the exact input, no output") {
  Ex x = streamed();
  x.events.resize(5);
  x.events.emplace_back("error",
                        R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})");
  const CallInfo c = run(x);
  CHECK(c.error_type == "overloaded_error");
  CHECK(c.usage.source == UsageSource::stream);
  CHECK(c.usage.input_tokens == 3573);
  CHECK_FALSE(c.usage.output_tokens);
}

TEST_CASE("error bodies: error.type, no usage") {
  Ex x;
  x.request_body = kRequest;
  x.status = 429;
  x.response_headers = {
      {"content-type", "application/json"}, {"request-id", "req_429"}, {"retry-after", "7"}};
  x.body = {R"({"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has )"
            R"(exceeded your per-minute rate limit"},"request_id":"req_429"})"};
  CallInfo c = run(x);
  CHECK(c.error_type == "rate_limit_error");
  CHECK(c.usage.source == UsageSource::none);
  CHECK_FALSE(c.usage.input_tokens);
  CHECK(c.response_id.empty());
  CHECK(attr(c, "shadowmeter.anthropic.request_id") == "req_429");

  x.status = 529;
  x.body = {R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})"};
  c = run(x);
  CHECK(c.error_type == "overloaded_error");

  SECTION("an HTML error page is not parsed") {
    x.status = 502;
    x.response_headers = {{"content-type", "text/html"}};
    x.body = {"<html>Bad Gateway</html>"};
    c = run(x);
    CHECK(c.error_type.empty());
    CHECK(c.usage.source == UsageSource::none);
  }
}

TEST_CASE("count_tokens is no billed call: no operation, no usage") {
  Ex x;
  x.target = "/v1/messages/count_tokens";
  x.request_body = R"({"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Hello, world"}]})";
  x.body = {R"({"input_tokens":2095})"};
  const CallInfo c = run(x);
  CHECK(c.operation.empty());
  CHECK(c.request_model == "claude-sonnet-4-5");
  CHECK(c.usage.source == UsageSource::none);
  CHECK_FALSE(c.usage.input_tokens);
  CHECK(c.error_type.empty());
}

TEST_CASE("legacy /v1/complete carries no usage: estimated from the text") {
  Ex x;
  x.target = "/v1/complete";
  // prompt: 26 ASCII bytes -> 7 tokens
  x.request_body =
      R"({"model":"claude-2.1","prompt":"\n\nHuman: Hello\n\nAssistant:","max_tokens_to_sample":256})";
  // completion: 23 ASCII bytes -> 6 tokens
  x.body = {R"({"type":"completion","id":"compl_01","completion":" Hello! How can I help?",)"
            R"("stop_reason":"stop_sequence","model":"claude-2.1"})"};
  CallInfo c = run(x);
  CHECK(c.operation == "text_completion");
  CHECK(c.response_model == "claude-2.1");
  CHECK(c.response_id == "compl_01");
  CHECK(c.usage.source == UsageSource::estimated);
  CHECK(c.usage.input_tokens == 7);
  CHECK(c.usage.output_tokens == 6);
  CHECK_FALSE(c.usage.cache_read_input_tokens);

  SECTION("streamed") {
    x.request_body =
        R"({"model":"claude-2.1","prompt":"\n\nHuman: Hello\n\nAssistant:","stream":true,"max_tokens_to_sample":256})";
    x.body.clear();
    x.sse = true;
    x.response_headers = {{"content-type", "text/event-stream"}};
    x.events = {
        {"completion",
         R"({"type":"completion","completion":" Hello!","stop_reason":null,"model":"claude-2.1"})"},
        {"ping", R"({"type":"ping"})"},
        {"completion",
         R"({"type":"completion","completion":" How can I help?","stop_reason":"stop_sequence","model":"claude-2.1"})"}};
    c = run(x);
    CHECK(c.stream);
    CHECK(c.response_model == "claude-2.1");
    CHECK(c.usage.source == UsageSource::estimated);
    CHECK(c.usage.input_tokens == 7);
    CHECK(c.usage.output_tokens == 6);
  }
}

TEST_CASE("a gateway that strips usage: estimated, never mixed with exact figures") {
  Ex x = streamed();
  // "Say hello": 9 ASCII bytes -> 3 tokens; "Hello" + " there": 11 -> 3 tokens.
  x.events = {
      {"message_start", R"({"type":"message_start","message":{"id":"msg_gw","model":"claude-sonnet-4-5"}})"},
      x.events[3],
      x.events[5],
      {"message_delta", R"({"type":"message_delta","delta":{"stop_reason":"end_turn"}})"},
      {"message_stop", R"({"type":"message_stop"})"}};
  CallInfo c = run(x);
  CHECK(c.usage.source == UsageSource::estimated);
  CHECK(c.usage.input_tokens == 3);
  CHECK(c.usage.output_tokens == 3);
  CHECK(c.response_id == "msg_gw");

  SECTION("no estimate for a failed call") {
    x.status = 500;
    c = run(x);
    CHECK(c.usage.source == UsageSource::none);
  }
  SECTION("no estimate when the text is empty") {
    x.events = {x.events[0], x.events[4]};
    c = run(x);
    CHECK(c.usage.source == UsageSource::none);
  }
}

TEST_CASE("cut non-streamed body: usage only if its object closed; otherwise an estimate") {
  Ex x;
  x.request_body = kRequest;
  x.complete = false;
  SECTION("cut after usage closed") {
    x.body = {kResponse.substr(0, kResponse.size() - 1)};
    const CallInfo c = run(x);
    CHECK(c.usage.source == UsageSource::response);
    CHECK(c.usage.input_tokens == 3573);
    CHECK(c.usage.output_tokens == 503);
    CHECK(c.error_type.empty());
  }
  SECTION("cut inside usage") {
    x.body = {kResponse.substr(0, kResponse.find("\"output_tokens\":503") + 17)};  // after "5"
    const CallInfo c = run(x);
    // "You are terse." + "Say hello": 23 ASCII bytes -> 6; "Hello there, friend!": 20 -> 5.
    CHECK(c.usage.source == UsageSource::estimated);
    CHECK(c.usage.input_tokens == 6);
    CHECK(c.usage.output_tokens == 5);
    CHECK_FALSE(c.usage.cache_read_input_tokens);
    CHECK(c.response_id == "msg_01XFDUDYJgAACzvnptvVoYEL");
    CHECK(attr(c, "shadowmeter.anthropic.cache_creation_1h_tokens") == "<absent>");
  }
}

TEST_CASE("malformed JSON is invalid_json with no numbers") {
  SECTION("a complete body ending early") {
    Ex x;
    x.body = {kResponse.substr(0, kResponse.size() - 1)};
    const CallInfo c = run(x);
    CHECK(c.error_type == "invalid_json");
    CHECK(c.usage.source == UsageSource::none);
  }
  SECTION("a malformed event spoils the stream") {
    Ex x = streamed();
    x.events.insert(x.events.begin() + 3,
                    {"content_block_delta", R"({"type":"content_block_delta","delta":)"});
    const CallInfo c = run(x);
    CHECK(c.error_type == "invalid_json");
    CHECK(c.usage.source == UsageSource::none);
    CHECK_FALSE(c.usage.input_tokens);
  }
}

TEST_CASE("gateway prefixes and Claude on Vertex AI") {
  Ex x;
  x.target = "/anthropic/v1/messages/";
  x.request_body = kRequest;
  x.body = {kResponse};
  CallInfo c = run(x, "openrouter");
  CHECK(c.provider == "openrouter");
  CHECK(c.operation == "chat");
  CHECK(c.usage.input_tokens == 3573);

  x = streamed();
  x.target =
      "/v1/projects/p1/locations/us-east5/publishers/anthropic/models/"
      "claude-sonnet-4-5@20250929:streamRawPredict";
  x.request_body = R"({"anthropic_version":"vertex-2023-10-16","max_tokens":64,"stream":true,"messages":[]})";
  c = run(x, "gcp.vertex_ai");
  CHECK(c.operation == "chat");
  CHECK(c.request_model == "claude-sonnet-4-5@20250929");
  CHECK(c.usage.input_tokens == 3573);
  CHECK(c.usage.output_tokens == 503);
}

TEST_CASE("other endpoints and a missing response") {
  Ex x;
  x.target = "/v1/messages/batches";
  x.request_body = R"({"requests":[]})";
  x.body = {R"({"id":"msgbatch_01","type":"message_batch","usage":{"input_tokens":5,"output_tokens":5}})"};
  CallInfo c = run(x);
  CHECK(c.operation.empty());
  CHECK(c.usage.source == UsageSource::none);
  CHECK(c.response_id.empty());

  x = streamed();
  x.response = false;
  x.complete = false;
  c = run(x);
  CHECK(c.operation == "chat");
  CHECK(c.request_model == "claude-sonnet-4-5");
  CHECK(c.stream);  // the request said so
  CHECK(c.usage.source == UsageSource::none);
}
