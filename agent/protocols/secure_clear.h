// Clearing buffers that held request heads: they carry credentials (Authorization, x-api-key), so
// their bytes are overwritten, not just released, before the memory is reused or dumped.
#pragma once

#include <string.h>  // explicit_bzero (glibc): not removed by the optimiser like memset can be

#include <string>
#include <string_view>
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

// A credential held a little longer than the head it came from (until the call's event has been
// scrubbed of it): never copied, wiped when dropped or moved from, whatever its length.
class SecretString {
 public:
  SecretString() = default;
  explicit SecretString(std::string_view s) : s_(s) {}
  SecretString(const SecretString&) = delete;
  SecretString& operator=(const SecretString&) = delete;
  // A copy, then the source wiped: moving a short std::string leaves its bytes in the source's
  // inline buffer.
  SecretString(SecretString&& o) noexcept : s_(o.s_) { o.clear(); }
  SecretString& operator=(SecretString&& o) noexcept {
    if (this != &o) {
      clear();
      s_ = o.s_;
      o.clear();
    }
    return *this;
  }
  ~SecretString() { clear(); }
  void clear() {
    if (!s_.empty()) ::explicit_bzero(s_.data(), s_.size());
    s_.clear();
  }
  std::string_view view() const { return s_; }
  bool empty() const { return s_.empty(); }

 private:
  std::string s_;
};

}  // namespace shadowmeter
