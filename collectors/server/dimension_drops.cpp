#include "server/dimension_drops.h"

#include "common/excerpt.h"
#include "common/log.h"

namespace shadowmeter::collector {

namespace {
constexpr const char* kReasons[] = {"bad_name", "not_a_string", "empty", "too_long", "not_utf8", "nul_character", "too_many"};
}

DimensionDrops::DimensionDrops(prometheus::Registry& registry)
    : family_(prometheus::BuildCounter()
                  .Name("shadowmeter_collector_dimension_attributes_dropped_total")
                  .Help("shadowmeter.dimension.* and shadowmeter.tag.* attributes dropped at ingest for "
                        "breaking their bounds (the rest of each event is stored), by reason")
                  .Register(registry)) {
  for (const char* r : kReasons) family_.Add({{"reason", r}});
}

std::size_t DimensionDrops::record(const std::vector<DroppedAttribute>& dropped) {
  std::size_t logged = 0;
  for (const DroppedAttribute& d : dropped) {
    family_.Add({{"reason", d.reason}}).Increment();
    bool first = false;
    {
      std::lock_guard lock(mu_);
      if (logged_.size() < kMaxLoggedNames) first = logged_.insert(d.attribute).second;
    }
    if (!first) continue;
    ++logged;
    log::warn("ingest: dropped attribute " + excerpt(d.attribute) + " (" + d.reason +
              "; a dimension or tag needs a name of [a-z0-9_]{1,32}, a string of 1 to 128 bytes of UTF-8, "
              "at most 8 dimensions and 4 tags per event); the rest of the event is stored. Later drops "
              "of this attribute are only counted");
  }
  return logged;
}

double DimensionDrops::total() {
  double sum = 0;
  for (const char* r : kReasons) sum += family_.Add({{"reason", r}}).Value();
  return sum;
}

}  // namespace shadowmeter::collector
