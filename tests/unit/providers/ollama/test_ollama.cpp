// Ollama native API: NDJSON streams (on by default) split at every byte, oversized and malformed
// lines, streams cut anywhere, non-streamed bodies, embeddings, errors, estimates, the NDJSON line
// splitter itself, and the OpenAI-compatible /v1 endpoints.
#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "providers/ollama/ollama.h"

using namespace shadowmeter::providers;

namespace {

struct Ex {
  std::string target = "/api/chat";
  std::string request_body;
  bool response = true;
  int status = 200;
  HeaderList response_headers{{"content-type", "application/x-ndjson"}};
  std::vector<std::string> body;
  bool complete = true;
};

CallInfo run(const Ex& x, std::string provider = "ollama") {
  auto p = make_ollama_provider(std::move(provider));
  auto s = p->start();
  const HeaderList request_headers{{"content-type", "application/json"}};
  RequestView rq;
  rq.method = "POST";
  rq.target = x.target;
  rq.host = "localhost";
  rq.headers = &request_headers;
  rq.body = x.request_body;
  s->on_request(rq);
  if (x.response) {
    s->on_response_head({.status = x.status, .headers = &x.response_headers, .event_stream = false});
    for (const auto& piece : x.body) s->on_response_body(piece);
  }
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

std::string attr(const CallInfo& c, std::string_view key) {
  for (const auto& [k, v] : c.attributes) {
    if (k == key) return v;
  }
  return "<absent>";
}

// "Why is the sky blue?": 20 ASCII bytes -> 5 tokens of estimated input.
const std::string kChatRequest =
    R"({"model":"llama3.2","messages":[{"role":"user","content":"Why is the sky blue?"}]})";

const std::string kLine1 =
    R"({"model":"llama3.2","created_at":"2025-10-17T23:14:07.1Z","message":{"role":"assistant","content":"The"},"done":false})";
const std::string kLine2 =
    R"({"model":"llama3.2","created_at":"2025-10-17T23:14:07.2Z","message":{"role":"assistant","content":" sky is"},"done":false})";
const std::string kFinal =
    R"({"model":"llama3.2","created_at":"2025-10-17T23:14:07.3Z","message":{"role":"assistant","content":""},)"
    R"("done":true,"done_reason":"stop","total_duration":4883583458,"load_duration":1334875,)"
    R"("prompt_eval_count":26,"prompt_eval_cached_count":20,"prompt_eval_duration":342546000,)"
    R"("eval_count":282,"eval_duration":4535599000})";

const std::string kChatStream = kLine1 + "\n" + kLine2 + "\n" + kFinal + "\n";

Ex chat_stream() {
  Ex x;
  x.request_body = kChatRequest;
  x.body = {kChatStream};
  return x;
}

}  // namespace

TEST_CASE("chat streams by default: NDJSON, usage from the done object") {
  const CallInfo c = run(chat_stream());
  CHECK(c.provider == "ollama");
  CHECK(c.operation == "chat");
  CHECK(c.request_model == "llama3.2");
  CHECK(c.response_model == "llama3.2");
  CHECK(c.response_id.empty());
  CHECK(c.stream);
  CHECK(c.usage.source == UsageSource::stream);
  CHECK(c.usage.input_tokens == 26);
  CHECK(c.usage.output_tokens == 282);
  CHECK(c.usage.cache_read_input_tokens == 20);
  CHECK_FALSE(c.usage.cache_write_input_tokens);
  CHECK_FALSE(c.usage.reasoning_output_tokens);
  CHECK(c.error_type.empty());
  CHECK(c.attributes.empty());
  CHECK(all_text(c).find("sky") == std::string::npos);
}

TEST_CASE("NDJSON split at every byte and every piece size gives the same result") {
  for (std::size_t n = 1; n <= kChatStream.size(); n = n < 16 ? n + 1 : n * 2) {
    INFO("piece size " << n);
    Ex x = chat_stream();
    x.body = pieces(kChatStream, n);
    const CallInfo c = run(x);
    CHECK(c.usage.source == UsageSource::stream);
    CHECK(c.usage.input_tokens == 26);
    CHECK(c.usage.output_tokens == 282);
    CHECK(c.usage.cache_read_input_tokens == 20);
    CHECK(c.error_type.empty());
  }
  SECTION("CRLF line ends and blank lines") {
    Ex x = chat_stream();
    x.body = pieces(kLine1 + "\r\n\r\n" + kLine2 + "\r\n" + kFinal + "\r\n", 1);
    const CallInfo c = run(x);
    CHECK(c.usage.input_tokens == 26);
    CHECK(c.usage.output_tokens == 282);
    CHECK(c.error_type.empty());
  }
  SECTION("the final line without a line end, body complete") {
    Ex x = chat_stream();
    x.body = pieces(kLine1 + "\n" + kLine2 + "\n" + kFinal, 5);
    const CallInfo c = run(x);
    CHECK(c.usage.source == UsageSource::stream);
    CHECK(c.usage.output_tokens == 282);
  }
}

TEST_CASE("a stream cut at every byte never reports a wrong figure") {
  // Estimates: input 5 (see kChatRequest); output "The" -> 1, "The sky is" -> 3. A text value
  // counts once its closing quote arrived, even in a line the cut left unfinished.
  const std::size_t end1 = kLine1.size() + 1;
  const std::size_t text1 = kLine1.find(R"("The")") + 5;
  const std::size_t text2 = end1 + kLine2.find(R"(" sky is")") + 9;
  const std::size_t final_closed = end1 + kLine2.size() + 1 + kFinal.size();  // the done object closed
  for (std::size_t cut = 0; cut <= kChatStream.size(); ++cut) {
    INFO("bytes before the cut: " << cut);
    Ex x = chat_stream();
    x.body = {kChatStream.substr(0, cut)};
    x.complete = false;
    const CallInfo c = run(x);
    CHECK(c.error_type.empty());
    if (cut >= final_closed) {
      CHECK(c.usage.source == UsageSource::stream);
      CHECK(c.usage.input_tokens == 26);
      CHECK(c.usage.output_tokens == 282);
    } else if (cut < text1) {
      CHECK(c.usage.source == UsageSource::none);
      CHECK_FALSE(c.usage.input_tokens);
      CHECK_FALSE(c.usage.output_tokens);
    } else {
      CHECK(c.usage.source == UsageSource::estimated);
      CHECK(c.usage.input_tokens == 5);
      CHECK(c.usage.output_tokens == (cut < text2 ? 1 : 3));
    }
  }
}

TEST_CASE("an oversized line is skipped whole, counted, and memory stays bounded") {
  Ex x = chat_stream();
  std::string big = R"({"model":"llama3.2","message":{"role":"assistant","content":")";
  big.append((5u << 20), 'a');  // over the 4 MiB line limit
  big += R"("},"done":false})";
  x.body = {kLine1 + "\n"};
  for (const auto& p : pieces(big, 65536)) x.body.push_back(p);
  x.body.push_back("\n" + kLine2 + "\n" + kFinal + "\n");
  const CallInfo c = run(x);
  CHECK(c.usage.source == UsageSource::stream);
  CHECK(c.usage.input_tokens == 26);
  CHECK(c.usage.output_tokens == 282);
  CHECK(c.error_type.empty());
  CHECK(attr(c, "shadowmeter.ndjson.oversized_lines") == "1");

  SECTION("the oversized line was the final one: no figure") {
    Ex y = chat_stream();
    std::string final_big = kFinal;
    final_big.insert(1, R"("pad":")" + std::string(5u << 20, 'p') + R"(",)");
    y.body = {kLine1 + "\n" + kLine2 + "\n", final_big + "\n"};
    const CallInfo d = run(y);
    CHECK(attr(d, "shadowmeter.ndjson.oversized_lines") == "1");
    CHECK(d.error_type.empty());
    // The done object never arrived, so only the estimate is left (never the skipped counts).
    CHECK(d.usage.source == UsageSource::estimated);
    CHECK(d.usage.output_tokens == 3);
  }
}

TEST_CASE("NdjsonLines: lines across pieces, bounded, oversized lines skipped") {
  NdjsonLines lines(8);
  std::vector<std::string> got;
  auto feed = [&](std::string_view in) {
    std::string_view line;
    while (lines.next(in, line)) got.emplace_back(line);
  };
  feed("ab");
  feed("c\nd");
  feed("e\n\n  \r\n123456789");  // a 9-byte line: over the limit
  feed("0\nxy\r\n12345678\n");   // exactly 8 bytes is allowed
  feed("tail");
  std::string_view last;
  REQUIRE(lines.last(last));
  got.emplace_back(last);
  CHECK(got == std::vector<std::string>{"abc", "de", "xy", "12345678", "tail"});
  CHECK(lines.oversized() == 1);

  SECTION("a line made oversized by later pieces") {
    NdjsonLines l2(4);
    std::vector<std::string> g2;
    for (std::string_view in : {"ab", "cd", "e", "f\ngh\n"}) {
      std::string_view line;
      while (l2.next(in, line)) g2.emplace_back(line);
    }
    CHECK(g2 == std::vector<std::string>{"gh"});
    CHECK(l2.oversized() == 1);
    std::string_view none;
    CHECK_FALSE(l2.last(none));
  }
}

TEST_CASE("generate stream: text_completion, response text counted only for estimates") {
  Ex x;
  x.target = "/api/generate";
  x.request_body = R"({"model":"gemma3","prompt":"Why is the sky blue?"})";
  const std::string s =
      R"({"model":"gemma3","created_at":"2025-10-17T23:14:07.4Z","response":"Because","done":false})"
      "\n"
      R"({"model":"gemma3","created_at":"2025-10-17T23:14:07.5Z","response":"","done":true,"done_reason":"stop",)"
      R"("context":[1,2,3,4],"total_duration":174560334,"load_duration":101397084,"prompt_eval_count":11,)"
      R"("prompt_eval_duration":13074791,"eval_count":18,"eval_duration":52479709})"
      "\n";
  x.body = pieces(s, 3);
  const CallInfo c = run(x);
  CHECK(c.operation == "text_completion");
  CHECK(c.request_model == "gemma3");
  CHECK(c.response_model == "gemma3");
  CHECK(c.stream);
  CHECK(c.usage.source == UsageSource::stream);
  CHECK(c.usage.input_tokens == 11);
  CHECK(c.usage.output_tokens == 18);
  CHECK_FALSE(c.usage.cache_read_input_tokens);
}

TEST_CASE("chat with stream false: one JSON body") {
  Ex x;
  x.request_body =
      R"({"model":"llama3.2","stream":false,"messages":[{"role":"user","content":"Why is the sky blue?"}]})";
  x.response_headers = {{"content-type", "application/json; charset=utf-8"}};
  x.body = pieces(
      R"({"model":"llama3.2","created_at":"2025-10-17T23:14:07Z","message":{"role":"assistant",)"
      R"("content":"Rayleigh scattering."},"done_reason":"stop","done":true,"total_duration":5191566416,)"
      R"("load_duration":2154458,"prompt_eval_count":26,"prompt_eval_duration":383809000,"eval_count":298,)"
      R"("eval_duration":4799921000})",
      11);
  CallInfo c = run(x);
  CHECK_FALSE(c.stream);
  CHECK(c.operation == "chat");
  CHECK(c.response_model == "llama3.2");
  CHECK(c.usage.source == UsageSource::response);
  CHECK(c.usage.input_tokens == 26);
  CHECK(c.usage.output_tokens == 298);
  CHECK_FALSE(c.usage.cache_read_input_tokens);
  CHECK(all_text(c).find("Rayleigh") == std::string::npos);

  SECTION("no response seen: the request said no stream") {
    x.response = false;
    x.complete = false;
    c = run(x);
    CHECK_FALSE(c.stream);
    CHECK(c.usage.source == UsageSource::none);
  }
  SECTION("no response seen, no stream field: Ollama's default is to stream") {
    x.request_body = kChatRequest;
    x.response = false;
    x.complete = false;
    c = run(x);
    CHECK(c.stream);
  }
}

TEST_CASE("embed: input only; the legacy embeddings endpoint has no counts") {
  Ex x;
  x.target = "/api/embed";
  x.request_body = R"({"model":"all-minilm","input":["Why is the sky blue?","Why is the grass green?"]})";
  x.response_headers = {{"content-type", "application/json; charset=utf-8"}};
  x.body = {R"({"model":"all-minilm","embeddings":[[0.010071029,-0.0017594862],[-0.0098027075,0.06042469]],)"
            R"("total_duration":14143917,"load_duration":1019500,"prompt_eval_count":8})"};
  CallInfo c = run(x);
  CHECK(c.operation == "embeddings");
  CHECK_FALSE(c.stream);  // embed does not stream
  CHECK(c.request_model == "all-minilm");
  CHECK(c.response_model == "all-minilm");
  CHECK(c.usage.source == UsageSource::response);
  CHECK(c.usage.input_tokens == 8);
  CHECK_FALSE(c.usage.output_tokens);

  x.target = "/api/embeddings";
  x.request_body = R"({"model":"all-minilm","prompt":"Here is an article about llamas..."})";
  x.body = {R"({"embedding":[0.5670403838157654,0.009260174818336964]})"};
  c = run(x);
  CHECK(c.operation == "embeddings");
  CHECK(c.usage.source == UsageSource::none);
  CHECK_FALSE(c.usage.input_tokens);
}

TEST_CASE("errors: an error body, an error line mid-stream, malformed lines") {
  Ex x;
  x.request_body = R"({"model":"nope","messages":[]})";
  x.status = 404;
  x.response_headers = {{"content-type", "application/json; charset=utf-8"}};
  x.body = {R"({"error":"model \"nope\" not found, try pulling it first"})"};
  CallInfo c = run(x);
  CHECK(c.error_type == "error");
  CHECK(c.usage.source == UsageSource::none);
  CHECK_FALSE(c.stream);
  CHECK(all_text(c).find("pulling") == std::string::npos);

  SECTION("an error object in a stream") {
    Ex y = chat_stream();
    y.body = {kLine1 + "\n" +
              R"({"error":"an error was encountered while running the model: unexpected EOF"})" + "\n"};
    c = run(y);
    CHECK(c.error_type == "error");
    CHECK(c.usage.source == UsageSource::none);  // no estimate for a failed call
  }
  SECTION("a malformed complete line spoils the stream") {
    Ex y = chat_stream();
    y.body = {kLine1 + "\n" + R"({"model":"llama3.2","message":{)" + "\n" + kFinal + "\n"};
    c = run(y);
    CHECK(c.error_type == "invalid_json");
    CHECK(c.usage.source == UsageSource::none);
    CHECK_FALSE(c.usage.input_tokens);
  }
  SECTION("lines after the done object are ignored") {
    Ex y = chat_stream();
    y.body.push_back(R"({"done":true,"prompt_eval_count":1000,"eval_count":1000})"
                     "\n");
    c = run(y);
    CHECK(c.usage.input_tokens == 26);
    CHECK(c.usage.output_tokens == 282);
  }
}

TEST_CASE("the OpenAI-compatible /v1 endpoints go through the OpenAI module as ollama") {
  Ex x;
  x.target = "/v1/chat/completions";
  x.request_body =
      R"({"model":"llama3.2","stream":true,"stream_options":{"include_usage":true},"messages":[]})";
  x.response_headers = {{"content-type", "application/json"}};
  x.body = {
      R"({"id":"chatcmpl-94","object":"chat.completion","created":1741569952,"model":"llama3.2",)"
      R"("system_fingerprint":"fp_ollama","choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},)"
      R"("finish_reason":"stop"}],"usage":{"prompt_tokens":31,"completion_tokens":11,"total_tokens":42,)"
      R"("prompt_tokens_details":{"cached_tokens":30}}})"};
  const CallInfo c = run(x);
  CHECK(c.provider == "ollama");
  CHECK(c.operation == "chat");
  CHECK(c.request_model == "llama3.2");
  CHECK(c.response_id == "chatcmpl-94");
  CHECK(c.usage.source == UsageSource::response);
  CHECK(c.usage.input_tokens == 31);
  CHECK(c.usage.output_tokens == 11);
  CHECK(c.usage.cache_read_input_tokens == 30);
}

TEST_CASE("other /api endpoints are not read") {
  Ex x;
  x.target = "/api/show";
  x.request_body = R"({"model":"llama3.2"})";
  x.response_headers = {{"content-type", "application/json; charset=utf-8"}};
  x.body = {R"({"modelfile":"...","details":{"family":"llama"},"prompt_eval_count":3})"};
  const CallInfo c = run(x);
  CHECK(c.operation.empty());
  CHECK(c.usage.source == UsageSource::none);
}
