// `shadowmeter-agent check`: whether this host can run the agent, one OK/FAIL line per requirement
// with the fix. The agent runs the same checks at start and refuses to start on a blocking failure.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "config/config.h"

namespace shadowmeter::preflight {

struct Check {
  std::string name;
  bool ok = false;
  bool blocking = true;  // a failure stops the agent
  std::string detail;    // what was found
  std::string fix;       // what to do about a failure
};

struct CheckOptions {
  // Also load and attach the BPF programs: the most faithful test of BTF, verifier and privileges
  // (`check` does; the agent at start does not, it loads them right after).
  bool load_bpf = false;
  // Collector settings (URL, CA, client certificate) for the reachability check; none when the URL
  // is empty.
  const config::AgentConfig* config = nullptr;
  std::chrono::milliseconds collector_timeout{3000};
};

std::vector<Check> run_checks(const CheckOptions& options);

// Prints the checks to stdout, one "OK" or "FAIL" line each, a failure followed by its fix (marked
// when it does not block the agent); returns the exit code: 1 if a blocking check failed.
int print_report(const std::vector<Check>& checks);

}  // namespace shadowmeter::preflight
