#include "capture/connection_table.h"

#include <algorithm>

#include "capture/connection.h"
#include "common/log.h"

namespace shadowmeter::capture {

const char* to_string(Verdict v) {
  switch (v) {
    case Verdict::ai: return "ai";
    case Verdict::not_ai: return "not_ai";
    case Verdict::server: return "server";
    case Verdict::http2: return "http2";
    case Verdict::not_http: return "not_http";
  }
  return "unknown";
}

ConnectionTable::ConnectionTable(const providers::Catalog& catalog, providers::Registry& registry,
                                 CaptureLimits limits, CaptureCallbacks callbacks)
    : catalog_(catalog), registry_(registry), limits_(limits), cb_(std::move(callbacks)) {}

ConnectionTable::~ConnectionTable() = default;

bool ConnectionTable::is_tombstoned(const ConnKey& key) const {
  auto it = tombstones_.find(key.tgid);
  return it != tombstones_.end() && it->second.count(key);
}

void ConnectionTable::tombstone(const ConnKey& key, Verdict v) {
  ++stats_.verdicts[static_cast<int>(v)];
  if (cb_.ignore) cb_.ignore(key);
  if (tombstone_count_ >= limits_.max_tombstones) {
    // Forgetting is safe: the kernel still skips the connection; a late chunk only re-marks it.
    tombstones_.clear();
    tombstone_count_ = 0;
  }
  if (tombstones_[key.tgid].insert(key).second) ++tombstone_count_;
}

void ConnectionTable::evict_one(std::uint64_t now_ns) {
  auto victim = std::min_element(conns_.begin(), conns_.end(),
                                 [](const auto& a, const auto& b) { return a.second->last_ns() < b.second->last_ns(); });
  if (victim == conns_.end()) return;
  ++stats_.evicted_connections;
  end(victim->first, now_ns, true);
}

Connection* ConnectionTable::find_or_create(const Chunk& c) {
  auto it = conns_.find(c.key);
  if (it != conns_.end()) return it->second.get();
  if (conns_.size() >= limits_.max_connections) evict_one(c.ts_ns);
  auto conn = std::make_unique<Connection>(*this, c);
  Connection* raw = conn.get();
  conns_.emplace(c.key, std::move(conn));
  by_tgid_[c.key.tgid].insert(c.key);
  if (cb_.new_connection) cb_.new_connection(c.key, c.comm);
  return raw;
}

void ConnectionTable::on_chunk(const Chunk& c) {
  ++stats_.chunks;
  stats_.bytes += c.data.size();
  if (is_tombstoned(c.key)) {
    // Already classified; the kernel may have lost the mark (LRU), so set it again.
    ++stats_.ignored_chunks;
    if (cb_.ignore) cb_.ignore(c.key);
    return;
  }
  Connection* conn = find_or_create(c);
  conn->feed(c);
  if (auto v = conn->rejected()) {
    if (log::enabled(log::Level::debug)) {
      std::string head;
      for (char ch : c.data.substr(0, 24)) head += (ch >= 0x20 && ch < 0x7f) ? ch : '.';
      log::debug("not following pid " + std::to_string(c.key.tgid) + " (" + std::string(c.comm) + ") ssl " +
                 std::to_string(c.key.ssl) + ": " + to_string(*v) + ", " +
                 (c.direction == Direction::egress ? "sent" : "received") + " first at offset " +
                 std::to_string(c.stream_offset) + ": \"" + head + "\"");
    }
    ConnKey key = c.key;
    conns_.erase(key);
    auto t = by_tgid_.find(key.tgid);
    if (t != by_tgid_.end()) {
      t->second.erase(key);
      if (t->second.empty()) by_tgid_.erase(t);
    }
    tombstone(key, *v);
  }
  while (buffered_ > limits_.max_total_buffer_bytes && conns_.size() > 1) evict_one(c.ts_ns);
}

void ConnectionTable::end(const ConnKey& key, std::uint64_t ts_ns, bool eof) {
  auto it = conns_.find(key);
  if (it != conns_.end()) {
    // Move out first: finish() emits through callbacks that must see a consistent table.
    std::unique_ptr<Connection> conn = std::move(it->second);
    conns_.erase(it);
    if (eof) conn->finish(ts_ns);
  }
  auto t = by_tgid_.find(key.tgid);
  if (t != by_tgid_.end()) {
    t->second.erase(key);
    if (t->second.empty()) by_tgid_.erase(t);
  }
}

void ConnectionTable::on_connection_end(const ConnKey& key, std::uint64_t ts_ns) {
  end(key, ts_ns, true);
  // The SSL* may be reused for a new connection: it must be classified afresh.
  auto t = tombstones_.find(key.tgid);
  if (t != tombstones_.end() && t->second.erase(key)) {
    --tombstone_count_;
    if (t->second.empty()) tombstones_.erase(t);
  }
}

void ConnectionTable::on_process_end(std::uint32_t tgid, std::uint64_t ts_ns) {
  auto t = by_tgid_.find(tgid);
  if (t != by_tgid_.end()) {
    std::vector<ConnKey> keys(t->second.begin(), t->second.end());
    for (const auto& key : keys) end(key, ts_ns, true);
  }
  auto tomb = tombstones_.find(tgid);
  if (tomb != tombstones_.end()) {
    tombstone_count_ -= std::min(tombstone_count_, tomb->second.size());
    tombstones_.erase(tomb);
  }
}

void ConnectionTable::expire(std::uint64_t now_ns) {
  std::vector<ConnKey> idle;
  for (const auto& [key, conn] : conns_)
    if (now_ns > conn->last_ns() && now_ns - conn->last_ns() > limits_.idle_ns) idle.push_back(key);
  for (const auto& key : idle) end(key, now_ns, true);
}

void ConnectionTable::end_all(std::uint64_t ts_ns) {
  std::vector<ConnKey> keys;
  keys.reserve(conns_.size());
  for (const auto& [key, conn] : conns_) keys.push_back(key);
  for (const auto& key : keys) end(key, ts_ns, true);
}

}  // namespace shadowmeter::capture
