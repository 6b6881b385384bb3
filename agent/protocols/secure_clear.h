// Clearing buffers that held request heads: they carry credentials (Authorization, x-api-key), so
// their bytes are overwritten, not just released, before the memory is reused or dumped.
#pragma once

#include <string.h>  // explicit_bzero (glibc): not removed by the optimiser like memset can be

#include <string>
#include <utility>
#include <vector>

namespace shadowmeter {

inline void secure_clear(std::string& s) {
  if (!s.empty()) ::explicit_bzero(s.data(), s.size());
  s.clear();
}

// Header lists (name, value): every value is overwritten, then the list is emptied.
inline void secure_clear(std::vector<std::pair<std::string, std::string>>& headers) {
  for (auto& [name, value] : headers) secure_clear(value);
  headers.clear();
}

}  // namespace shadowmeter
