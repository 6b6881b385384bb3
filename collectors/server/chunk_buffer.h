// Gathers the pieces of a streamed response into chunks of at most `chunk_bytes` and hands each full
// chunk on: what a streamed answer holds in the server at any time is one chunk, whatever its length.
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

namespace shadowmeter::collector {

class ChunkBuffer {
 public:
  ChunkBuffer(std::size_t chunk_bytes, std::function<void(std::string&&)> flush)
      : chunk_bytes_(std::max<std::size_t>(chunk_bytes, 1)), flush_(std::move(flush)) {}

  void append(std::string_view piece) {
    while (!piece.empty()) {
      const std::size_t n = std::min(piece.size(), chunk_bytes_ - buffer_.size());
      buffer_.append(piece.substr(0, n));
      piece.remove_prefix(n);
      max_buffered_ = std::max(max_buffered_, buffer_.size());
      if (buffer_.size() == chunk_bytes_) send();
    }
  }
  // Hands on what is left (nothing when empty).
  void finish() {
    if (!buffer_.empty()) send();
  }

  std::size_t max_buffered() const { return max_buffered_; }  // never above chunk_bytes
  std::size_t chunks() const { return chunks_; }

 private:
  void send() {
    std::string out;
    out.swap(buffer_);
    ++chunks_;
    flush_(std::move(out));
    buffer_.reserve(chunk_bytes_);
  }

  std::size_t chunk_bytes_;
  std::function<void(std::string&&)> flush_;
  std::string buffer_;
  std::size_t max_buffered_ = 0;
  std::size_t chunks_ = 0;
};

}  // namespace shadowmeter::collector
