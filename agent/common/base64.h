// Standard base64 (RFC 4648 section 4) decoding: the `bytes` of Bedrock stream chunks, kubeconfig
// certificate data, HTTP Basic credentials.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace shadowmeter {

// Decodes `in` into `out` (replacing its contents, reusing its buffer). Padding is optional but may
// only end the text; any other byte outside the alphabet, a dangling single character, or an output
// over `max_out` bytes fails with `out` cleared.
bool base64_decode(std::string_view in, std::string& out, std::size_t max_out);

}  // namespace shadowmeter
