// What a request path alone says about an AI call: the operation and, for APIs that put the model
// in the path (Gemini, Vertex AI, Bedrock), the model. Shared by the provider modules.
#pragma once

#include <string>
#include <string_view>

namespace shadowmeter::providers {

// Path without query string or fragment.
std::string_view path_only(std::string_view target);

// gen_ai.operation.name for the known endpoint shapes of every catalog format; "" when unknown.
std::string_view guess_operation(std::string_view path);

// True for endpoints that always answer with a stream (":streamGenerateContent", "/converse-stream").
bool streaming_endpoint(std::string_view path);

// ".../models/NAME:method" (Gemini, Vertex AI) or "/model/ID/..." (Bedrock, percent-decoded); "" if none.
std::string model_from_path(std::string_view path);

// Values copied into events (models, ids, header values) are cut at this length.
inline constexpr std::size_t kMaxValueLen = 256;
std::string bounded(std::string_view v, std::size_t max_len = kMaxValueLen);
// Same into an existing string, reusing its buffer.
void assign_bounded(std::string& dst, std::string_view v, std::size_t max_len = kMaxValueLen);

}  // namespace shadowmeter::providers
