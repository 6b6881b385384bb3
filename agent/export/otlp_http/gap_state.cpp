#include "export/otlp_http/gap_state.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "export/otlp_json.h"

namespace shadowmeter::exporting::otlp_http {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxFileBytes = 64 * 1024;
constexpr std::size_t kMaxReasons = 16;
constexpr std::size_t kMaxStringBytes = 128;

void count_into(GapRecord& r, std::uint64_t count, std::uint64_t first_ns, std::uint64_t last_ns) {
  if (count == 0) return;
  r.first_unix_ns = r.dropped == 0 ? first_ns : std::min(r.first_unix_ns, first_ns);
  r.last_unix_ns = std::max(r.last_unix_ns, last_ns);
  r.dropped += count;
}

json record_json(const GapRecord& r) {
  return {{"dropped", r.dropped}, {"first", r.first_unix_ns}, {"last", r.last_unix_ns}, {"id", r.event_id}};
}

bool short_string(const json& v) {
  return v.is_string() && v.get_ref<const std::string&>().size() <= kMaxStringBytes;
}

std::optional<GapRecord> record_from(const json& v, const std::string& reason) {
  if (!v.is_object()) return std::nullopt;
  const auto d = v.find("dropped"), f = v.find("first"), l = v.find("last"), id = v.find("id");
  if (d == v.end() || f == v.end() || l == v.end() || id == v.end() || !d->is_number_unsigned() ||
      !f->is_number_unsigned() || !l->is_number_unsigned() || !short_string(*id))
    return std::nullopt;
  GapRecord r;
  r.reason = reason;
  r.dropped = d->get<std::uint64_t>();
  r.first_unix_ns = f->get<std::uint64_t>();
  r.last_unix_ns = l->get<std::uint64_t>();
  r.event_id = id->get<std::string>();
  return r;
}

bool write_all(int fd, const std::string& s) {
  std::size_t done = 0;
  while (done < s.size()) {
    const ssize_t n = ::write(fd, s.data() + done, s.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

void GapState::add(std::string_view reason, std::uint64_t count, std::uint64_t now_unix_ns) {
  auto it = entries_.find(reason);
  if (it == entries_.end()) {
    if (entries_.size() >= kMaxReasons) return;  // only the exporter's few reasons ever get here
    it = entries_.emplace(std::string(reason), Entry{}).first;
    it->second.open.reason = std::string(reason);
  }
  count_into(it->second.open, count, now_unix_ns, now_unix_ns);
}

std::vector<GapRecord> GapState::to_send(const std::function<std::string()>& new_id, bool& new_ids) {
  new_ids = false;
  std::vector<GapRecord> out;
  for (auto& [reason, e] : entries_) {
    if (!e.sent && e.open.dropped > 0) {
      e.sent = e.open;
      e.sent->event_id = new_id();
      e.open = GapRecord{};
      e.open.reason = reason;
      new_ids = true;
    }
    if (e.sent) out.push_back(*e.sent);
  }
  return out;
}

void GapState::acknowledged(const std::vector<GapRecord>& sent) {
  for (const GapRecord& r : sent) {
    const auto it = entries_.find(r.reason);
    if (it != entries_.end() && it->second.sent && it->second.sent->event_id == r.event_id)
      it->second.sent.reset();
  }
  std::erase_if(entries_, [](const auto& kv) { return !kv.second.sent && kv.second.open.dropped == 0; });
}

std::uint64_t GapState::pending_events() const {
  std::uint64_t n = 0;
  for (const auto& [reason, e] : entries_) n += e.open.dropped + (e.sent ? e.sent->dropped : 0);
  return n;
}

json GapState::to_json() const {
  json reasons = json::object();
  for (const auto& [reason, e] : entries_) {
    json j = {{"open", record_json(e.open)}};
    if (e.sent) j["sent"] = record_json(*e.sent);
    reasons[reason] = std::move(j);
  }
  return {{"version", 1}, {"reasons", std::move(reasons)}};
}

std::optional<GapState> GapState::from_json(const json& doc) {
  if (!doc.is_object()) return std::nullopt;
  const auto version = doc.find("version");
  if (version == doc.end() || !version->is_number_integer() || version->get<int>() != 1) return std::nullopt;
  const auto reasons = doc.find("reasons");
  if (reasons == doc.end() || !reasons->is_object() || reasons->size() > kMaxReasons) return std::nullopt;
  GapState s;
  for (auto it = reasons->begin(); it != reasons->end(); ++it) {
    const std::string& reason = it.key();
    if (reason.empty() || reason.size() > kMaxStringBytes || !it.value().is_object()) return std::nullopt;
    Entry e;
    const auto open = record_from(it.value().value("open", json()), reason);
    if (!open) return std::nullopt;
    e.open = *open;
    e.open.event_id.clear();
    if (it.value().contains("sent")) {
      auto sent = record_from(it.value()["sent"], reason);
      if (!sent || sent->event_id.empty()) return std::nullopt;
      e.sent = std::move(sent);
    }
    if (e.sent || e.open.dropped > 0) s.entries_.emplace(reason, std::move(e));
  }
  return s;
}

json gap_record_json(const GapRecord& r, const std::string& host_name) {
  json j = {{kRecordTypeKey, "gap"},
            {"shadowmeter.event_id", r.event_id},
            {"time_unix_nano", r.first_unix_ns},
            {"end_time_unix_nano", r.last_unix_ns},
            {"shadowmeter.gap.dropped_events", r.dropped},
            {"shadowmeter.gap.reason", r.reason}};
  if (!host_name.empty()) j["host.name"] = host_name;
  return j;
}

GapFile::Load GapFile::load(GapState& out) const {
  const int fd = ::open(path().c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? Load::missing : Load::corrupt;
  std::string bytes(kMaxFileBytes + 1, '\0');
  std::size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (got > kMaxFileBytes) return Load::corrupt;
  bytes.resize(got);
  const json doc = json::parse(bytes, nullptr, false);
  if (doc.is_discarded()) return Load::corrupt;
  auto state = GapState::from_json(doc);
  if (!state) return Load::corrupt;
  out = std::move(*state);
  return Load::ok;
}

bool GapFile::save(const GapState& state) const {
  const std::string tmp = path() + ".tmp";
  const std::string bytes = state.to_json().dump();
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  const bool written = write_all(fd, bytes) && ::fsync(fd) == 0;
  ::close(fd);
  if (!written || std::rename(tmp.c_str(), path().c_str()) != 0) {
    ::unlink(tmp.c_str());
    return false;
  }
  const int dir = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return false;
  const bool synced = ::fsync(dir) == 0;
  ::close(dir);
  return synced;
}

}  // namespace shadowmeter::exporting::otlp_http
