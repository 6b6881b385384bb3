// The OpenAI wire format: Chat Completions, Completions, Embeddings and the Responses API, as served
// by api.openai.com, Azure OpenAI and the OpenAI-compatible APIs (groq, mistral_ai, x_ai, ...).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "providers/provider.h"

namespace shadowmeter::providers {

// `provider_name` is what events report as gen_ai.provider.name ("openai", "groq", ...).
std::unique_ptr<Provider> make_openai_provider(std::string provider_name);

// A provider whose API also serves OpenAI-compatible endpoints (Ollama's /v1, Cohere's
// /compatibility/v1): its sessions get an OpenAI module under the same provider name to hand those
// calls to. Session is constructed as Session(provider_name, const Provider& openai).
template <class Session>
class ProviderWithOpenAi final : public Provider {
 public:
  explicit ProviderWithOpenAi(std::string name) : name_(std::move(name)), openai_(make_openai_provider(name_)) {}
  std::string_view name() const override { return name_; }
  std::unique_ptr<ExchangeSession> start() const override { return std::make_unique<Session>(name_, *openai_); }

 private:
  std::string name_;
  std::unique_ptr<Provider> openai_;
};

}  // namespace shadowmeter::providers
