// Gzip (RFC 1952) of a request body in one call, for Content-Encoding: gzip.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace shadowmeter::exporting::otlp_http {

// nullopt when zlib cannot allocate its state or the input is 4 GiB or more (zlib counts in 32
// bits; request bodies are far smaller). level: 1 (fast) .. 9 (small).
std::optional<std::string> gzip_compress(std::string_view in, int level = 6);

}  // namespace shadowmeter::exporting::otlp_http
