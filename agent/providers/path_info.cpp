#include "providers/path_info.h"

#include <array>
#include <utility>

namespace shadowmeter::providers {
namespace {

using Rule = std::pair<std::string_view, std::string_view>;  // path suffix -> operation

// Most specific suffixes first: "/chat/completions" must win over "/completions".
constexpr std::array kRules{
    Rule{"/chat/completions", "chat"},
    Rule{"/completions", "text_completion"},
    Rule{"/embeddings", "embeddings"},
    Rule{"/responses", "chat"},
    Rule{"/messages", "chat"},             // Anthropic (also on Vertex AI / Bedrock proxies)
    Rule{"/complete", "text_completion"},  // Anthropic legacy
    Rule{":generateContent", "generate_content"},
    Rule{":streamGenerateContent", "generate_content"},
    Rule{":embedContent", "embeddings"},
    Rule{":batchEmbedContents", "embeddings"},
    Rule{"/converse", "chat"},  // Bedrock
    Rule{"/converse-stream", "chat"},
    Rule{"/v1/chat", "chat"},  // Cohere
    Rule{"/v2/chat", "chat"},
    Rule{"/v1/embed", "embeddings"},
    Rule{"/v2/embed", "embeddings"},
    Rule{"/v1/generate", "text_completion"},
    Rule{"/api/chat", "chat"},  // Ollama native
    Rule{"/api/generate", "text_completion"},
    Rule{"/api/embed", "embeddings"},
    Rule{"/api/embeddings", "embeddings"},
};

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = hex(s[i + 1]);
      const int lo = hex(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

}  // namespace

std::string_view path_only(std::string_view target) { return target.substr(0, target.find_first_of("?#")); }

std::string_view guess_operation(std::string_view path) {
  path = path_only(path);
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  for (const auto& [suffix, op] : kRules) {
    if (path.ends_with(suffix)) return op;
  }
  return {};
}

bool streaming_endpoint(std::string_view path) {
  path = path_only(path);
  return path.ends_with(":streamGenerateContent") || path.ends_with("/converse-stream") ||
         path.ends_with("/invoke-with-response-stream");
}

std::string model_from_path(std::string_view path) {
  path = path_only(path);
  if (auto m = path.rfind("/models/"); m != std::string_view::npos) {
    std::string_view rest = path.substr(m + 8);
    const auto colon = rest.find(':');
    if (colon == std::string_view::npos || colon == 0) return {};
    return bounded(percent_decode(rest.substr(0, colon)));
  }
  if (path.starts_with("/model/")) {
    std::string_view rest = path.substr(7);
    const auto slash = rest.find('/');
    if (slash == std::string_view::npos || slash == 0) return {};
    return bounded(percent_decode(rest.substr(0, slash)));
  }
  return {};
}

void assign_bounded(std::string& dst, std::string_view v, std::size_t max_len) {
  if (v.size() > max_len) {
    // Do not split a UTF-8 sequence: back off continuation bytes.
    std::size_t n = max_len;
    while (n > 0 && (static_cast<unsigned char>(v[n]) & 0xC0) == 0x80) --n;
    v = v.substr(0, n);
  }
  dst.assign(v);
}

std::string bounded(std::string_view v, std::size_t max_len) {
  std::string s;
  assign_bounded(s, v, max_len);
  return s;
}

}  // namespace shadowmeter::providers
