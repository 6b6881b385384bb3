// Counts and logs the dimension and tag attributes the collector dropped at ingest (record_check.h):
// shadowmeter_collector_dimension_attributes_dropped_total{reason}, and one warning per attribute
// name (the first kMaxLoggedNames names; later ones are only counted, so a sender cannot grow memory).
#pragma once

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <cstddef>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "server/record_check.h"

namespace shadowmeter::collector {

class DimensionDrops {
 public:
  static constexpr std::size_t kMaxLoggedNames = 1000;

  explicit DimensionDrops(prometheus::Registry& registry);
  // Thread-safe; returns how many of `dropped` were logged (first time their name was seen).
  std::size_t record(const std::vector<DroppedAttribute>& dropped);
  double total();  // all reasons together

 private:
  prometheus::Family<prometheus::Counter>& family_;
  std::mutex mu_;
  std::set<std::string> logged_;
};

}  // namespace shadowmeter::collector
