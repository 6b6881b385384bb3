#include "dimensions/rules.h"

#include <array>
#include <set>
#include <stdexcept>

namespace shadowmeter::dimensions {
namespace {

// Request headers that carry credentials: their values must never leave the host, hashed or not
// (the API key is already fingerprinted by attribution).
constexpr std::array<std::string_view, 11> kCredentialHeaders = {
    "authorization", "proxy-authorization", "x-api-key",      "api-key",   "x-goog-api-key", "cookie",
    "set-cookie",    "x-amz-security-token", "x-auth-token", "x-api-token", "ocp-apim-subscription-key"};

// Top-level request-body keys that hold prompts, completions, tool definitions or media of any
// provider format (OpenAI chat/responses/embeddings/audio, Anthropic, Gemini, Bedrock, Cohere,
// Ollama): no field under them may be recorded.
constexpr std::array<std::string_view, 22> kContentRoots = {
    "messages",  "input",          "prompt",    "contents", "system",   "instructions", "tools",
    "functions", "tool_choice",    "documents", "query",    "text",     "chat_history", "preamble",
    "images",    "inputText",      "inputs",    "content",  "response_format", "prediction",
    "suffix",    "systemInstruction"};

[[noreturn]] void fail(const std::string& where, const std::string& what) { throw std::runtime_error(where + ": " + what); }

}  // namespace

std::string check_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameBytes) return "must be 1 to 32 characters";
  for (char ch : name)
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_'))
      return "may only hold a-z, 0-9 and _";
  return "";
}

void check_rules(const std::vector<Rule>& rules, const std::string& where) {
  std::set<std::string> names;
  std::size_t dims = 0;
  std::size_t tags = 0;
  for (const Rule& r : rules) {
    const std::string at = where + " '" + r.name + "'";
    if (auto why = check_name(r.name); !why.empty()) fail(at, "the name " + why);
    if (!names.insert(r.name).second) fail(at, "the name is used twice");
    if (r.header.empty() == r.field.empty()) fail(at, "needs exactly one of header or field");
    if (!r.header.empty()) {
      for (char ch : r.header)
        if (ch >= 'A' && ch <= 'Z') fail(at, "header names are matched lower-cased");
      if (r.header.front() == ':') fail(at, "header '" + r.header + "': pseudo-headers are not request fields");
      for (std::string_view c : kCredentialHeaders)
        if (r.header == c) fail(at, "header '" + r.header + "' carries credentials and cannot be recorded");
    }
    if (!r.field.empty()) {
      const std::string_view f = r.field;
      if (f.find("[") != std::string_view::npos || f.front() == '.' || f.back() == '.' ||
          f.find("..") != std::string_view::npos)
        fail(at, "field '" + r.field + "' is not a dot path of object keys (arrays cannot be named)");
      const std::string_view root = f.substr(0, f.find('.'));
      for (std::string_view c : kContentRoots)
        if (root == c)
          fail(at, "field '" + r.field + "' is under '" + std::string(c) +
                       "', which carries prompts, completions or tools, and cannot be recorded");
    }
    (r.kind == Kind::dimension ? dims : tags) += 1;
  }
  if (dims > kMaxDimensions)
    fail(where, std::to_string(dims) + " dimensions, at most " + std::to_string(kMaxDimensions) + " are allowed");
  if (tags > kMaxTags) fail(where, std::to_string(tags) + " tags, at most " + std::to_string(kMaxTags) + " are allowed");
}

}  // namespace shadowmeter::dimensions
