#include "pricing/model_names.h"

#include <algorithm>

namespace shadowmeter::pricing {
namespace {

constexpr std::array<ProviderKeys, 18> kProviders{{
    {"openai", {"", ""}, {"openai", "text-completion-openai"}},
    // Azure OpenAI and Azure AI Foundry deployments share our provider name.
    {"azure.ai.openai", {"azure/", "azure_ai/"}, {"azure", ""}},
    {"anthropic", {"", ""}, {"anthropic", ""}},
    {"gcp.gemini", {"gemini/", ""}, {"gemini", ""}},
    {"gcp.vertex_ai", {"vertex_ai/", ""}, {"vertex_ai", ""}},
    {"aws.bedrock", {"bedrock/", ""}, {"bedrock", ""}},
    {"mistral_ai", {"mistral/", ""}, {"mistral", ""}},
    {"groq", {"groq/", ""}, {"groq", ""}},
    {"deepseek", {"deepseek/", ""}, {"deepseek", ""}},
    {"x_ai", {"xai/", ""}, {"xai", ""}},
    {"openrouter", {"openrouter/", ""}, {"openrouter", ""}},
    {"together", {"together_ai/", ""}, {"together_ai", ""}},
    // Fireworks ids arrive either bare or already as "accounts/fireworks/models/<m>".
    {"fireworks", {"fireworks_ai/accounts/fireworks/models/", "fireworks_ai/"}, {"fireworks_ai", ""}},
    {"perplexity", {"perplexity/", ""}, {"perplexity", ""}},
    {"cerebras", {"cerebras/", ""}, {"cerebras", ""}},
    {"cohere", {"cohere/", ""}, {"cohere", ""}},
    {"ollama", {"ollama/", ""}, {"ollama", ""}},
    {"vllm", {"hosted_vllm/", ""}, {"hosted_vllm", "vllm"}},
}};

// Bedrock inference-profile prefixes that route a model across regions.
constexpr std::array<std::string_view, 8> kBedrockRegions{"us.", "eu.", "apac.", "global.",
                                                          "jp.", "au.", "ca.",   "us-gov."};

// Model vendors in Bedrock ids ("anthropic.claude-...", "amazon.nova-pro-v1:0").
constexpr std::array<std::string_view, 18> kBedrockVendors{
    "anthropic", "amazon",    "meta",       "mistral", "cohere", "ai21",    "deepseek", "openai",     "qwen",
    "writer",    "stability", "twelvelabs", "nvidia",  "google", "minimax", "moonshot", "moonshotai", "zai"};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool all_digits(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_digit); }

// Length of a leading "vendor." of a Bedrock id, 0 when there is none.
std::size_t bedrock_vendor_len(std::string_view id) {
  const auto dot = id.find('.');
  if (dot == std::string_view::npos) return 0;
  const std::string_view vendor = id.substr(0, dot);
  return std::find(kBedrockVendors.begin(), kBedrockVendors.end(), vendor) != kBedrockVendors.end() ? dot + 1
                                                                                                    : 0;
}

// "-v1:0", "-v2", ":0" at the end of a Bedrock id.
std::string_view strip_bedrock_version(std::string_view id) {
  if (const auto colon = id.rfind(':'); colon != std::string_view::npos && all_digits(id.substr(colon + 1)))
    id = id.substr(0, colon);
  if (const auto v = id.rfind("-v"); v != std::string_view::npos && all_digits(id.substr(v + 2)))
    id = id.substr(0, v);
  return id;
}

// Length of a dated suffix: "-2024-08-06" (OpenAI) or "-20240620" (Anthropic); 0 when none.
// Only 20xx years count, so version numbers such as "-0613" or "-2411" stay.
std::size_t dated_suffix_len(std::string_view id) {
  auto digits_at = [&](std::size_t from, std::size_t n) { return all_digits(id.substr(from, n)); };
  if (id.size() > 11) {
    const std::size_t s = id.size() - 11;  // "-YYYY-MM-DD"
    if (id[s] == '-' && id.substr(s + 1, 2) == "20" && digits_at(s + 1, 4) && id[s + 5] == '-' &&
        digits_at(s + 6, 2) && id[s + 8] == '-' && digits_at(s + 9, 2))
      return 11;
  }
  if (id.size() > 9) {
    const std::size_t s = id.size() - 9;  // "-YYYYMMDD"
    if (id[s] == '-' && id.substr(s + 1, 2) == "20" && digits_at(s + 1, 8)) return 9;
  }
  return 0;
}

void push_unique(std::vector<std::string>& out, std::string_view v) {
  if (v.empty()) return;
  if (std::find(out.begin(), out.end(), v) == out.end()) out.emplace_back(v);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

const ProviderKeys* provider_keys(std::string_view provider) {
  for (const auto& p : kProviders) {
    if (p.provider == provider) return &p;
  }
  return nullptr;
}

bool provider_fits(const ProviderKeys& keys, std::string_view litellm_provider) {
  for (std::string_view v : keys.litellm) {
    if (v.empty() || !litellm_provider.starts_with(v)) continue;
    if (litellm_provider.size() == v.size()) return true;
    const char next = litellm_provider[v.size()];
    if (next == '_' || next == '-') return true;
  }
  return false;
}

std::vector<std::string> model_variants(std::string_view model) {
  std::vector<std::string> out;
  model = trim(model);
  if (model.empty() || model.size() > kMaxModelIdLen) return out;
  const std::string lowered = to_lower(model);
  std::string_view cur = lowered;
  push_unique(out, cur);

  // arn:aws:bedrock:<region>:<account>:foundation-model/<id> or .../inference-profile/<id>
  if (cur.starts_with("arn:")) {
    if (const auto slash = cur.rfind('/'); slash != std::string_view::npos) cur = cur.substr(slash + 1);
    push_unique(out, cur);
  }
  // "models/<m>", "publishers/google/models/<m>", "projects/p/locations/l/publishers/x/models/<m>".
  if (const auto m = cur.rfind("models/"); m != std::string_view::npos && (m == 0 || cur[m - 1] == '/')) {
    cur = cur.substr(m + 7);
    push_unique(out, cur);
  }
  for (std::string_view region : kBedrockRegions) {
    if (cur.starts_with(region) && bedrock_vendor_len(cur.substr(region.size())) > 0) {
      cur = cur.substr(region.size());
      push_unique(out, cur);
      break;
    }
  }
  if (const std::size_t vendor = bedrock_vendor_len(cur); vendor > 0) {
    cur = strip_bedrock_version(cur);
    push_unique(out, cur);
    cur = cur.substr(vendor);
    push_unique(out, cur);
  }
  // OpenRouter and similar gateways: "vendor/model".
  if (const auto slash = cur.rfind('/'); slash != std::string_view::npos) {
    cur = cur.substr(slash + 1);
    push_unique(out, cur);
  }
  // Vertex "claude-3-5-sonnet@20240620" / "gemini-1.5-pro@001": try "-version" (the Anthropic and
  // Gemini API spelling), its dated fallbacks, and last the bare name.
  std::string dashed;
  std::string_view cut_at_version;
  if (const auto at = cur.find('@'); at != std::string_view::npos) {
    cut_at_version = cur.substr(0, at);
    dashed = std::string(cur);
    dashed[at] = '-';
    cur = dashed;
    push_unique(out, cur);
  }
  if (const std::size_t n = dated_suffix_len(cur); n > 0) {
    const std::string_view base = cur.substr(0, cur.size() - n);
    push_unique(out, std::string(base) + "-latest");
    push_unique(out, base);
  }
  push_unique(out, cut_at_version);
  return out;
}

}  // namespace shadowmeter::pricing
