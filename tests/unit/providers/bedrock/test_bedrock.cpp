// Bedrock runtime: Converse, ConverseStream, InvokeModel (Anthropic body, header counts, other
// model bodies) and InvokeModelWithResponseStream, exceptions, corrupt and cut streams, estimates,
// model ids from the URL, and the base64 decoder of stream chunks.
#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "protocols/eventstream/encode_message.h"
#include "common/base64.h"
#include "providers/bedrock/bedrock.h"

using namespace shadowmeter::providers;
using shadowmeter::base64_decode;
namespace es = shadowmeter::eventstream::testing;

namespace {

struct Ex {
  std::string target = "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse";
  std::string request_body =
      R"({"messages":[{"role":"user","content":[{"text":"Describe the purpose of a 'hello world' program"}]}]})";
  bool response = true;
  int status = 200;
  HeaderList response_headers{{"content-type", "application/json"},
                              {"x-amzn-requestid", "7b0d2f8e-7a1f-4c3e-9b1a-2f5d1c0e9a11"}};
  std::string body;
  std::size_t piece = 7;
  bool complete = true;
};

CallInfo run(const Ex& x) {
  auto p = make_bedrock_provider("aws.bedrock");
  auto s = p->start();
  const HeaderList req_headers{{"content-type", "application/json"}};
  RequestView rq;
  rq.method = "POST";
  rq.target = x.target;
  rq.host = "bedrock-runtime.us-east-1.amazonaws.com";
  rq.headers = &req_headers;
  rq.body = x.request_body;
  s->on_request(rq);
  if (x.response) {
    s->on_response_head({.status = x.status, .headers = &x.response_headers, .event_stream = false});
    for (std::size_t i = 0; i < x.body.size(); i += x.piece)
      s->on_response_body(std::string_view(x.body).substr(i, x.piece));
  }
  return s->finish(x.complete);
}

std::string attr(const CallInfo& c, std::string_view key) {
  for (const auto& [k, v] : c.attributes) {
    if (k == key) return v;
  }
  return "<absent>";
}

std::string all_text(const CallInfo& c) {
  std::string s =
      c.provider + c.operation + c.request_model + c.response_model + c.response_id + c.error_type;
  for (const auto& [k, v] : c.attributes) s += k + v;
  return s;
}

std::string b64(std::string_view in) {
  static constexpr char kA[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  auto byte = [&](std::size_t i) -> unsigned {
    return i < in.size() ? static_cast<unsigned char>(in[i]) : 0u;
  };
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 3) {
    const unsigned v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    const std::size_t n = std::min<std::size_t>(in.size() - i, 3);  // bytes in this group
    for (std::size_t k = 0; k < 4; ++k) out.push_back(k <= n ? kA[(v >> (18 - 6 * k)) & 63] : '=');
  }
  return out;
}

std::string chunk(std::string_view native_json, es::Corrupt c = {}) {
  return es::event(
      "chunk", R"({"bytes":")" + b64(native_json) + R"(","p":"abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"})", c);
}

const std::string kConverseBody =
    R"({"output":{"message":{"role":"assistant","content":[{"text":"A hello world program prints a greeting."}]}},)"
    R"("stopReason":"end_turn","usage":{"inputTokens":30,"outputTokens":628,"totalTokens":4758,)"
    R"("cacheReadInputTokens":2048,"cacheWriteInputTokens":2052},"metrics":{"latencyMs":1275}})";

std::vector<std::string> converse_stream_events() {
  return {
      es::event("messageStart", R"({"p":"abcd","role":"assistant"})"),
      es::event("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"Hello, "},"p":"abcdefgh"})"),
      es::event("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"world!"},"p":"ab"})"),
      es::event("contentBlockStop", R"({"contentBlockIndex":0,"p":"abcdefghijk"})"),
      es::event("messageStop", R"({"p":"abcdefg","stopReason":"end_turn"})"),
      es::event("metadata", R"({"metrics":{"latencyMs":412},"p":"abc","usage":{"inputTokens":25,)"
                            R"("outputTokens":9,"totalTokens":39,"cacheReadInputTokens":5}})")};
}

std::string join(const std::vector<std::string>& v, std::size_t n = std::string::npos) {
  std::string s;
  for (std::size_t i = 0; i < v.size() && i < n; ++i) s += v[i];
  return s;
}

Ex converse_stream(std::string body) {
  Ex x;
  x.target = "/model/us.anthropic.claude-3-7-sonnet-20250219-v1%3A0/converse-stream";
  x.response_headers = {{"content-type", "application/vnd.amazon.eventstream"},
                        {"x-amzn-requestid", "req-stream-1"}};
  x.body = std::move(body);
  return x;
}

const std::string kClaudeStart =
    R"({"type":"message_start","message":{"id":"msg_bdrk_01JfPdA5ZLcGz9","type":"message","role":"assistant",)"
    R"("model":"claude-3-5-sonnet-20240620","content":[],"stop_reason":null,"usage":{"input_tokens":20,"output_tokens":1}}})";
const std::string kClaudeDelta =
    R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi there"}})";
const std::string kClaudeMessageDelta =
    R"({"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":12}})";
const std::string kClaudeStop =
    R"({"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":20,"outputTokenCount":12,)"
    R"("invocationLatency":681,"firstByteLatency":412,"cacheReadInputTokenCount":100,"cacheWriteInputTokenCount":7}})";

Ex invoke_stream(std::string body) {
  Ex x;
  x.target = "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/invoke-with-response-stream";
  x.request_body = R"({"anthropic_version":"bedrock-2023-05-31","max_tokens":256,)"
                   R"("messages":[{"role":"user","content":"Say hi"}]})";
  x.response_headers = {{"content-type", "application/vnd.amazon.eventstream"},
                        {"x-amzn-requestid", "req-inv-1"}};
  x.body = std::move(body);
  return x;
}

}  // namespace

TEST_CASE("Converse: cache reads and writes added to input, latency and request id") {
  Ex x;
  x.body = kConverseBody;
  for (std::size_t piece : {x.body.size(), std::size_t{7}, std::size_t{1}}) {
    x.piece = piece;
    const CallInfo c = run(x);
    CHECK(c.provider == "aws.bedrock");
    CHECK(c.operation == "chat");
    CHECK(c.request_model == "anthropic.claude-3-5-sonnet-20240620-v1:0");
    CHECK(c.response_model.empty());
    CHECK_FALSE(c.stream);
    CHECK(c.error_type.empty());
    CHECK(c.usage.source == UsageSource::response);
    CHECK(c.usage.input_tokens == 30 + 2048 + 2052);
    CHECK(c.usage.output_tokens == 628);
    CHECK(c.usage.cache_read_input_tokens == 2048);
    CHECK(c.usage.cache_write_input_tokens == 2052);
    CHECK_FALSE(c.usage.reasoning_output_tokens);
    CHECK(attr(c, "shadowmeter.aws.request_id") == "7b0d2f8e-7a1f-4c3e-9b1a-2f5d1c0e9a11");
    CHECK(attr(c, "shadowmeter.aws.bedrock.latency_ms") == "1275");
    CHECK(all_text(c).find("hello world") == std::string::npos);
  }
}

TEST_CASE("model ids: percent-encoded, ARNs with or without encoding, cross-region profiles") {
  Ex x;
  x.body = kConverseBody;
  x.target =
      "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2F"
      "us.anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse";
  CHECK(run(x).request_model ==
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/"
        "us.anthropic.claude-3-5-sonnet-20240620-v1:0");
  x.target =
      "/model/arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.meta.llama3-2-1b-instruct-v1:0/"
      "converse";
  CHECK(run(x).request_model ==
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.meta.llama3-2-1b-instruct-v1:0");
  x.target = "/model/us.amazon.nova-pro-v1:0/converse";
  CHECK(run(x).request_model == "us.amazon.nova-pro-v1:0");
  x.target = "/model/converse";  // no model id
  CHECK(run(x).request_model.empty());
}

TEST_CASE("ConverseStream: usage from the metadata event, at every split point") {
  const Ex whole = converse_stream(join(converse_stream_events()));
  for (std::size_t piece = 1; piece <= whole.body.size(); piece += (piece < 40 ? 1 : 37)) {
    Ex x = whole;
    x.piece = piece;
    const CallInfo c = run(x);
    INFO("pieces of " << piece);
    CHECK(c.operation == "chat");
    CHECK(c.request_model == "us.anthropic.claude-3-7-sonnet-20250219-v1:0");
    CHECK(c.stream);
    CHECK(c.error_type.empty());
    CHECK(c.usage.source == UsageSource::stream);
    CHECK(c.usage.input_tokens == 30);
    CHECK(c.usage.output_tokens == 9);
    CHECK(c.usage.cache_read_input_tokens == 5);
    CHECK_FALSE(c.usage.cache_write_input_tokens);
    CHECK(attr(c, "shadowmeter.aws.bedrock.latency_ms") == "412");
    CHECK(attr(c, "shadowmeter.aws.request_id") == "req-stream-1");
  }
}

TEST_CASE("ConverseStream cut before metadata: an estimate from the deltas; cut after it: exact") {
  const auto ev = converse_stream_events();
  Ex x = converse_stream(join(ev, 4) + ev[4].substr(0, 10));
  x.complete = false;
  CallInfo c = run(x);
  CHECK(c.error_type.empty());
  CHECK(c.usage.source == UsageSource::estimated);
  CHECK(c.usage.output_tokens == 4);  // "Hello, world!": 13 ASCII bytes
  CHECK(c.usage.input_tokens == 12);  // the prompt text: 47 ASCII bytes
  CHECK_FALSE(c.usage.cache_read_input_tokens);

  x = converse_stream(join(ev) + es::event("extra", "{}").substr(0, 5));
  x.complete = false;
  c = run(x);
  CHECK(c.error_type.empty());
  CHECK(c.usage.source == UsageSource::stream);
  CHECK(c.usage.input_tokens == 30);

  // The same leftover bytes on a capture said to be complete: a malformed stream.
  x.complete = true;
  c = run(x);
  CHECK(c.error_type == "eventstream_invalid");
  CHECK(c.usage.source == UsageSource::stream);  // metadata was final before the bad bytes
}

TEST_CASE("a bad CRC stops the stream: no usage unless the final one came first") {
  auto ev = converse_stream_events();
  ev[2] = es::event("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"world!"},"p":"ab"})",
                    {.message_crc = true});
  CallInfo c = run(converse_stream(join(ev)));
  CHECK(c.error_type == "eventstream_crc");
  CHECK(c.usage.source == UsageSource::none);
  CHECK_FALSE(c.usage.input_tokens);
  CHECK_FALSE(c.usage.output_tokens);

  ev = converse_stream_events();
  ev[1] = es::event("contentBlockDelta", R"({"delta":{"text":"x"}})", {.prelude_crc = true});
  c = run(converse_stream(join(ev)));
  CHECK(c.error_type == "eventstream_crc");
  CHECK(c.usage.source == UsageSource::none);

  ev = converse_stream_events();
  ev.push_back(
      es::event("metadata", R"({"usage":{"inputTokens":1,"outputTokens":1}})", {.message_crc = true}));
  c = run(converse_stream(join(ev)));
  CHECK(c.error_type == "eventstream_crc");
  CHECK(c.usage.source == UsageSource::stream);
  CHECK(c.usage.input_tokens == 30);  // the corrupt copy was never read
}

TEST_CASE("an oversized or malformed event-stream message is reported, not read") {
  std::string huge;
  es::put_be(huge, (16u << 20) + 1, 4);
  es::put_be(huge, 0, 4);
  es::put_be(huge, es::crc_of(huge), 4);
  CallInfo c = run(converse_stream(converse_stream_events()[0] + huge));
  CHECK(c.error_type == "eventstream_oversize");
  CHECK(c.usage.source == UsageSource::none);

  c = run(converse_stream(es::message(es::header("n", 42, ""), "{}")));
  CHECK(c.error_type == "eventstream_invalid");
}

TEST_CASE("stream exceptions: the exception type, in the same spelling as the error header") {
  auto ev = converse_stream_events();
  ev.resize(2);
  ev.push_back(es::exception("throttlingException",
                             R"({"message":"Too many tokens, please wait before trying again."})"));
  CallInfo c = run(converse_stream(join(ev)));
  CHECK(c.error_type == "ThrottlingException");
  CHECK(c.usage.source == UsageSource::none);  // no estimate for a failed call
  CHECK(all_text(c).find("Too many") == std::string::npos);

  ev.back() = es::exception("modelStreamErrorException", R"({"message":"x","originalStatusCode":424})");
  CHECK(run(converse_stream(join(ev))).error_type == "ModelStreamErrorException");

  ev.back() = es::message(es::str_header(":message-type", "error") +
                              es::str_header(":error-code", "InternalFailure") +
                              es::str_header(":error-message", "boom"),
                          "");
  CHECK(run(converse_stream(join(ev))).error_type == "InternalFailure");
}

TEST_CASE("error responses: x-amzn-errortype up to the colon") {
  Ex x;
  x.status = 429;
  x.response_headers = {
      {"content-type", "application/json"},
      {"x-amzn-requestid", "req-429"},
      {"x-amzn-errortype", "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/"}};
  x.body = R"({"message":"Too many requests, please wait before trying again."})";
  CallInfo c = run(x);
  CHECK(c.error_type == "ThrottlingException");
  CHECK(c.usage.source == UsageSource::none);
  CHECK(attr(c, "shadowmeter.aws.request_id") == "req-429");
  CHECK(all_text(c).find("Too many") == std::string::npos);

  // A stream call refused before it started answers with JSON, not an event stream.
  x.target = "/model/anthropic.claude-v2/converse-stream";
  x.status = 400;
  x.response_headers = {{"content-type", "application/json"},
                        {"x-amzn-errortype", "ValidationException:http://x/"}};
  x.body = R"({"message":"Malformed input request"})";
  c = run(x);
  CHECK(c.error_type == "ValidationException");
  CHECK_FALSE(c.stream);
}

TEST_CASE("InvokeModel with an Anthropic body: the body's usage wins over the headers") {
  Ex x;
  x.target = "/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke";
  x.request_body = R"({"anthropic_version":"bedrock-2023-05-31","max_tokens":100,)"
                   R"("messages":[{"role":"user","content":"Hello"}]})";
  x.response_headers = {{"content-type", "application/json"},
                        {"x-amzn-bedrock-input-token-count", "999"},
                        {"x-amzn-bedrock-output-token-count", "999"},
                        {"x-amzn-bedrock-invocation-latency", "523"}};
  x.body =
      R"({"id":"msg_bdrk_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant",)"
      R"("model":"claude-3-haiku-20240307","content":[{"type":"text","text":"Hi!"}],"stop_reason":"end_turn",)"
      R"("stop_sequence":null,"usage":{"input_tokens":10,"cache_creation_input_tokens":3,)"
      R"("cache_read_input_tokens":200,"output_tokens":25}})";
  const CallInfo c = run(x);
  CHECK(c.operation == "chat");
  CHECK(c.request_model == "anthropic.claude-3-haiku-20240307-v1:0");
  CHECK(c.response_model == "claude-3-haiku-20240307");
  CHECK(c.response_id == "msg_bdrk_01XFDUDYJgAACzvnptvVoYEL");
  CHECK_FALSE(c.stream);
  CHECK(c.usage.source == UsageSource::response);
  CHECK(c.usage.input_tokens == 213);
  CHECK(c.usage.output_tokens == 25);
  CHECK(c.usage.cache_read_input_tokens == 200);
  CHECK(c.usage.cache_write_input_tokens == 3);
  CHECK(attr(c, "shadowmeter.aws.bedrock.latency_ms") == "523");
}

TEST_CASE("InvokeModel with another model's body: the header counts") {
  Ex x;
  x.target = "/model/meta.llama3-8b-instruct-v1%3A0/invoke";
  x.request_body = R"({"prompt":"What is the capital of France?","max_gen_len":64})";
  x.response_headers = {{"content-type", "application/json"},
                        {"x-amzn-bedrock-input-token-count", "17"},
                        {"x-amzn-bedrock-output-token-count", " 8 "},
                        {"x-amzn-bedrock-cache-read-input-token-count", "4"},
                        {"x-amzn-bedrock-cache-write-input-token-count", "0"}};
  x.body =
      R"({"generation":" Paris.","prompt_token_count":17,"generation_token_count":8,"stop_reason":"stop"})";
  CallInfo c = run(x);
  CHECK(c.operation == "text_completion");
  CHECK(c.usage.source == UsageSource::header);
  CHECK(c.usage.input_tokens == 21);
  CHECK(c.usage.output_tokens == 8);
  CHECK(c.usage.cache_read_input_tokens == 4);
  CHECK(c.usage.cache_write_input_tokens == 0);

  // Headers that are not plain counts are not used: the text gives an estimate instead.
  x.response_headers = {{"content-type", "application/json"},
                        {"x-amzn-bedrock-input-token-count", "17"},
                        {"x-amzn-bedrock-output-token-count", "8a"}};
  c = run(x);
  CHECK(c.usage.source == UsageSource::estimated);
  CHECK(c.usage.input_tokens == 8);   // "What is the capital of France?": 30 bytes
  CHECK(c.usage.output_tokens == 2);  // " Paris.": 7 bytes

  x.target = "/model/amazon.titan-embed-text-v2%3A0/invoke";
  x.request_body = R"({"inputText":"hello"})";
  x.response_headers = {{"content-type", "application/json"},
                        {"x-amzn-bedrock-input-token-count", "2"},
                        {"x-amzn-bedrock-output-token-count", "0"}};
  x.body = R"({"embedding":[0.1,0.2],"inputTextTokenCount":2})";
  c = run(x);
  CHECK(c.operation == "embeddings");
  CHECK(c.usage.source == UsageSource::header);
  CHECK(c.usage.input_tokens == 2);
  CHECK(c.usage.output_tokens == 0);
}

TEST_CASE("InvokeModelWithResponseStream (Claude): the invocation metrics of the last chunk") {
  const Ex whole = invoke_stream(chunk(kClaudeStart) + chunk(kClaudeDelta) + chunk(kClaudeMessageDelta) +
                                 chunk(kClaudeStop));
  for (std::size_t piece : {whole.body.size(), std::size_t{4096}, std::size_t{13}, std::size_t{1}}) {
    Ex x = whole;
    x.piece = piece;
    const CallInfo c = run(x);
    INFO("pieces of " << piece);
    CHECK(c.operation == "chat");
    CHECK(c.stream);
    CHECK(c.error_type.empty());
    CHECK(c.response_model == "claude-3-5-sonnet-20240620");
    CHECK(c.response_id == "msg_bdrk_01JfPdA5ZLcGz9");
    CHECK(c.usage.source == UsageSource::stream);
    CHECK(c.usage.input_tokens == 127);
    CHECK(c.usage.output_tokens == 12);
    CHECK(c.usage.cache_read_input_tokens == 100);
    CHECK(c.usage.cache_write_input_tokens == 7);
    CHECK(attr(c, "shadowmeter.aws.bedrock.latency_ms") == "681");
    CHECK(attr(c, "shadowmeter.aws.request_id") == "req-inv-1");
  }
}

TEST_CASE(
    "InvokeModelWithResponseStream cut before the last chunk: an estimate, never Anthropic's running "
    "counts") {
  Ex x = invoke_stream(chunk(kClaudeStart) + chunk(kClaudeDelta) + chunk(kClaudeMessageDelta));
  x.complete = false;
  const CallInfo c = run(x);
  CHECK(c.error_type.empty());
  CHECK(c.usage.source == UsageSource::estimated);
  CHECK(c.usage.input_tokens == 2);   // "Say hi"
  CHECK(c.usage.output_tokens == 2);  // "Hi there"
}

TEST_CASE("a stream chunk whose bytes are not base64 JSON is a malformed stream") {
  Ex x = invoke_stream(chunk(kClaudeStart) + es::event("chunk", R"({"bytes":"not*base64"})") +
                       chunk(kClaudeStop));
  CallInfo c = run(x);
  CHECK(c.error_type == "invalid_json");
  CHECK(c.usage.source == UsageSource::stream);  // the last chunk still came, whole and checked

  x = invoke_stream(chunk(kClaudeStart) + es::event("chunk", R"({"bytes":")" + b64("{\"type\":") + R"("})"));
  c = run(x);
  CHECK(c.error_type == "invalid_json");
  CHECK(c.usage.source == UsageSource::none);
}

TEST_CASE("other paths: operation from the path, no usage") {
  Ex x;
  x.target = "/guardrail/gr-123/version/1/apply";
  x.request_body = R"({"source":"INPUT","content":[{"text":{"text":"hi"}}]})";
  x.body = R"({"usage":{"topicPolicyUnits":1},"action":"NONE"})";
  const CallInfo c = run(x);
  CHECK(c.operation.empty());
  CHECK(c.request_model.empty());
  CHECK(c.usage.source == UsageSource::none);
  CHECK(attr(c, "shadowmeter.aws.request_id") == "7b0d2f8e-7a1f-4c3e-9b1a-2f5d1c0e9a11");
}

TEST_CASE("a Converse body cut before its usage closed: no exact figure") {
  Ex x;
  x.body = kConverseBody.substr(0, kConverseBody.find("cacheWriteInputTokens"));
  x.complete = false;
  CallInfo c = run(x);
  CHECK(c.error_type.empty());
  CHECK(c.usage.source == UsageSource::estimated);
  CHECK(c.usage.output_tokens == 10);  // "A hello world program prints a greeting.": 40 bytes
  x.complete = true;
  c = run(x);
  CHECK(c.error_type == "invalid_json");
  CHECK(c.usage.source == UsageSource::none);
}

TEST_CASE("no response seen: the stream flag from the endpoint") {
  Ex x = converse_stream("");
  x.response = false;
  const CallInfo c = run(x);
  CHECK(c.stream);
  CHECK(c.operation == "chat");
  CHECK(c.usage.source == UsageSource::none);
}

TEST_CASE("base64: padding, limits and bad input") {
  std::string out;
  CHECK(base64_decode("aGVsbG8=", out, 100));
  CHECK(out == "hello");
  CHECK(base64_decode("aGVsbG8", out, 100));  // padding left out
  CHECK(out == "hello");
  CHECK(base64_decode("aGk=", out, 100));
  CHECK(out == "hi");
  CHECK(base64_decode("aA==", out, 100));
  CHECK(out == "h");
  CHECK(base64_decode("", out, 100));
  CHECK(out.empty());
  CHECK(base64_decode("+/+/", out, 100));
  CHECK(out == "\xfb\xff\xbf");
  CHECK(base64_decode("aGVsbG8=", out, 5));
  CHECK_FALSE(base64_decode("aGVsbG8=", out, 4));
  CHECK(out.empty());
  CHECK_FALSE(base64_decode("aGVsb", out, 100));      // a dangling character
  CHECK_FALSE(base64_decode("aGk*", out, 100));       // outside the alphabet
  CHECK_FALSE(base64_decode("aG=k", out, 100));       // padding inside
  CHECK_FALSE(base64_decode("aA===", out, 100));      // three pads
  CHECK_FALSE(base64_decode("aGVsbA=", out, 100));    // one pad where two are due
  CHECK_FALSE(base64_decode("aGVs bG8=", out, 100));  // whitespace
  CHECK(out.empty());
}
