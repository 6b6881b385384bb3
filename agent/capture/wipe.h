// Request heads carry credentials: their bytes are overwritten once the exchange is emitted, so no
// copy outlives its use (core dumps, reused heap).
#pragma once

#include <openssl/crypto.h>

#include <string>

#include "providers/provider.h"

namespace shadowmeter::capture {

inline void wipe_string(std::string& s) {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

inline void wipe_request(providers::HeaderList& headers, std::string& target) {
  for (auto& [name, value] : headers) wipe_string(value);
  headers.clear();
  wipe_string(target);
}

}  // namespace shadowmeter::capture
