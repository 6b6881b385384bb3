// Registry (format -> module, one instance per provider) and the generic provider.
#include <catch2/catch.hpp>
#include <string>

#include "providers/registry.h"

using namespace shadowmeter::providers;

namespace {

CallInfo run(const Provider& p, std::string_view target, std::string_view body, bool event_stream = false,
             const HeaderList& response_headers = {}) {
  auto s = p.start();
  HeaderList req_headers;
  RequestView rq;
  rq.method = "POST";
  rq.target = target;
  rq.headers = &req_headers;
  rq.body = body;
  s->on_request(rq);
  s->on_response_head({.status = 200, .headers = &response_headers, .event_stream = event_stream});
  s->on_response_body(R"({"usage":{"input_tokens":1,"output_tokens":2}})");
  return s->finish(true);
}

}  // namespace

TEST_CASE("openai format gives the OpenAI module under the entry's provider name") {
  Registry r;
  const Provider& openai = r.for_entry({"openai", "api.openai.com", "openai"});
  const Provider& groq = r.for_entry({"groq", "api.groq.com", "openai"});
  CHECK(openai.name() == "openai");
  CHECK(groq.name() == "groq");
  CHECK(&openai != &groq);
  CHECK(&r.for_entry({"openai", "api.openai.com", "openai"}) == &openai);
  CHECK(&r.for_entry({"groq", "other.groq.example", "openai"}) == &groq);  // same provider, another host
  CHECK(r.instances() == 2);

  const CallInfo c = run(groq, "/openai/v1/chat/completions", R"({"model":"llama-3.1-8b-instant"})", false,
                         {{"content-type", "application/json"}});
  CHECK(c.provider == "groq");
  CHECK(c.operation == "chat");
  CHECK(c.request_model == "llama-3.1-8b-instant");
  CHECK(c.usage.source == UsageSource::response);
  CHECK(c.usage.input_tokens == 1);
  CHECK(c.usage.output_tokens == 2);
}

TEST_CASE("every built-in format has its module; a format without one gets the generic provider") {
  Registry r;
  const Provider& anthropic = r.for_entry({"anthropic", "api.anthropic.com", "anthropic"});
  const Provider& vertex = r.for_entry({"gcp.vertex_ai", "aiplatform.googleapis.com", "gemini"});
  const Provider& gemini = r.for_entry({"gcp.gemini", "generativelanguage.googleapis.com", "gemini"});
  const Provider& gateway = r.for_entry({"company_gateway", "gw.corp.example", ""});
  CHECK(anthropic.name() == "anthropic");
  CHECK(vertex.name() == "gcp.vertex_ai");
  CHECK(gemini.name() == "gcp.gemini");
  CHECK(gateway.name() == "company_gateway");
  CHECK(&vertex != &gemini);
  CHECK(r.instances() == 4);

  // The Anthropic module reads the Anthropic usage in the body run() answers with.
  CallInfo c =
      run(anthropic, "/v1/messages",
          R"({"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[{"role":"user","content":"hi"}]})");
  CHECK(c.provider == "anthropic");
  CHECK(c.operation == "chat");
  CHECK(c.request_model == "claude-sonnet-4-5");
  CHECK(c.usage.source == UsageSource::response);
  CHECK(c.usage.input_tokens == 1);
  CHECK(c.usage.output_tokens == 2);

  // Generic: provider, operation guessed from the path, request model; never a token figure.
  c = run(gateway, "/v1/messages", R"({"model":"claude-haiku-4-5","stream":true})", true);
  CHECK(c.provider == "company_gateway");
  CHECK(c.operation == "chat");
  CHECK(c.stream);
  CHECK(c.request_model == "claude-haiku-4-5");
  CHECK(c.usage.source == UsageSource::none);
  CHECK_FALSE(c.usage.input_tokens);
  CHECK(c.error_type.empty());

  for (const char* format : {"openai", "anthropic", "gemini", "bedrock", "cohere", "ollama"}) {
    const Provider& p = r.for_entry({std::string("p_") + format, "h", format});
    CHECK(p.name() == std::string("p_") + format);
  }
}

TEST_CASE("generic provider: operation and model from the path when the body has none") {
  Registry r;
  const Provider& gemini = r.for_entry({"gcp.gemini", "generativelanguage.googleapis.com", "gemini"});
  CallInfo c = run(gemini, "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse&key=AIzaSECRET",
                   R"({"contents":[{"parts":[{"text":"hi"}]}]})", true);
  CHECK(c.operation == "generate_content");
  CHECK(c.request_model == "gemini-2.5-flash");
  CHECK(c.stream);

  const Provider& vertex = r.for_entry({"gcp.vertex_ai", "aiplatform.googleapis.com", "gemini"});
  c = run(vertex,
          "/v1/projects/p1/locations/us-central1/publishers/google/models/gemini-2.0-flash-001:embedContent",
          "{}");
  CHECK(c.operation == "embeddings");
  CHECK(c.request_model == "gemini-2.0-flash-001");

  const Provider& bedrock = r.for_entry({"aws.bedrock", "bedrock-runtime.*.amazonaws.com", "bedrock"});
  c = run(bedrock, "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse", R"({"messages":[]})");
  CHECK(c.operation == "chat");
  CHECK(c.request_model == "anthropic.claude-3-haiku-20240307-v1:0");
  CHECK_FALSE(c.stream);
  c = run(bedrock, "/model/amazon.nova-lite-v1%3A0/invoke-with-response-stream", "{}", false,
          {{"content-type", "application/vnd.amazon.eventstream"}});
  CHECK(c.operation.empty());
  CHECK(c.request_model == "amazon.nova-lite-v1:0");
  CHECK(c.stream);

  const Provider& cohere = r.for_entry({"cohere", "api.cohere.com", "cohere"});
  c = run(cohere, "/v2/embed", R"({"model":"embed-v4.0","texts":["a"]})");
  CHECK(c.operation == "embeddings");
  CHECK(c.request_model == "embed-v4.0");
  c = run(cohere, "/v2/rerank", "not json");
  CHECK(c.operation.empty());
  CHECK(c.request_model.empty());
}
