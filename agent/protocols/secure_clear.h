// Clearing buffers that held request heads: they carry credentials (Authorization, x-api-key), so
// their bytes are overwritten, not just released, before the memory is reused or dumped.
#pragma once

#include <string.h>  // explicit_bzero (glibc): not removed by the optimiser like memset can be

#include <string>

namespace shadowmeter {

inline void secure_clear(std::string& s) {
  if (!s.empty()) ::explicit_bzero(s.data(), s.size());
  s.clear();
}

}  // namespace shadowmeter
