// Helpers of the report tests: a store per back end seeded with report_dataset.h, and lookups.
#pragma once

#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "report_dataset.h"
#include "reports/report.h"
#include "store_fixture.h"

// Runs the rest of the test case once per back end, on the seeded store of that back end (seeded once
// per process: the reports only read).
#define SEEDED_STORE_PER_BACKEND(fx)                                                    \
  const std::string backend_name = GENERATE(as<std::string>{}, "sqlite", "postgresql"); \
  INFO("backend: " << backend_name);                                                    \
  auto* fx = shadowmeter::testing::seeded_store(backend_name);                          \
  if (!fx) return

namespace shadowmeter::testing {

namespace reports = shadowmeter::collector::reports;

// The seeded store of a back end, or null (after a WARN) when the back end cannot run here.
inline StoreFixture* seeded_store(const std::string& backend) {
  static std::map<std::string, std::unique_ptr<StoreFixture>> stores;
  auto it = stores.find(backend);
  if (it == stores.end()) {
    auto fx = StoreFixture::make(backend);
    if (fx) reports_data::seed(fx->store());
    it = stores.emplace(backend, std::move(fx)).first;
  }
  if (!it->second) WARN("the " << backend << " half is skipped");
  return it->second.get();
}

// The dataset's range, [2026-10-30, 2026-11-03), judged at 11-02 23:59.
inline reports::ReportQuery range_query() {
  reports::ReportQuery q;
  q.from_unix_nano = reports_data::kOct30;
  q.to_unix_nano = reports_data::kNov3;
  q.now_unix_nano = reports_data::kNow;
  return q;
}

// The element of `list` whose `key` equals `value` (null matches null); fails the test when absent.
inline const nlohmann::json& find_by(const nlohmann::json& list, const std::string& key, const nlohmann::json& value) {
  for (const auto& item : list) {
    if (item.contains(key) && item[key] == value) return item;
  }
  FAIL("no element with " << key << " = " << value.dump() << " in " << list.dump());
  static const nlohmann::json none;
  return none;
}

inline Approx usd(double v) { return Approx(v).margin(1e-9); }

}  // namespace shadowmeter::testing
