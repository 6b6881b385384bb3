// Events lost before they reached the collector (refused by a full spool, or refused for good by the
// collector), counted per reason until a gap record reporting them is acknowledged. A gap record keeps
// its event id and count from its first send until acknowledged, so a resend after a lost response
// or a restart is deduplicated by the collector; drops counted meanwhile wait for the next record.
// The state is persisted in the spool directory so that a restart does not forget drops.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shadowmeter::exporting::otlp_http {

inline constexpr const char* kGapSpoolFull = "spool_full";
inline constexpr const char* kGapRejected = "rejected";

struct GapRecord {
  std::string reason;
  std::uint64_t dropped = 0;
  std::uint64_t first_unix_ns = 0;  // first and last drop counted in this record
  std::uint64_t last_unix_ns = 0;
  std::string event_id;  // "" until the record is first sent
  bool operator==(const GapRecord&) const = default;
};

class GapState {
 public:
  void add(std::string_view reason, std::uint64_t count, std::uint64_t now_unix_ns);

  // The records the next request carries: per reason, the one already sent (unchanged) or else the
  // drops counted so far under a new id from new_id(). `new_ids` is set when an id was assigned (the
  // caller persists the state before sending, so a restart resends the same id).
  std::vector<GapRecord> to_send(const std::function<std::string()>& new_id, bool& new_ids);
  // The collector acknowledged these: their drops are reported.
  void acknowledged(const std::vector<GapRecord>& sent);

  std::uint64_t pending_events() const;
  bool empty() const { return pending_events() == 0; }

  nlohmann::json to_json() const;
  // nullopt when the document is not a state this class wrote.
  static std::optional<GapState> from_json(const nlohmann::json& doc);

  bool operator==(const GapState&) const = default;

 private:
  struct Entry {
    std::optional<GapRecord> sent;  // in flight: resent as is until acknowledged
    GapRecord open;                 // counted since; event_id unused
    bool operator==(const Entry&) const = default;
  };
  std::map<std::string, Entry, std::less<>> entries_;  // a few known reasons
};

// The flat gap record as exported (shadowmeter.record.type "gap").
nlohmann::json gap_record_json(const GapRecord& r, const std::string& host_name);

// "<dir>/gap.json", replaced atomically (temporary file, fsync, rename, directory fsync).
class GapFile {
 public:
  explicit GapFile(std::string dir) : dir_(std::move(dir)) {}
  enum class Load { missing, ok, corrupt };
  Load load(GapState& out) const;
  bool save(const GapState& state) const;  // false on an I/O error
  std::string path() const { return dir_ + "/gap.json"; }

 private:
  std::string dir_;
};

}  // namespace shadowmeter::exporting::otlp_http
