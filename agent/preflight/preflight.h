// `shadowmeter-agent check`: whether this host can run the agent, one OK/FAIL line per requirement
// with the fix. The agent runs the blocking checks at start too and refuses to start on a failure.
#pragma once

#include <string>
#include <vector>

namespace shadowmeter::preflight {

struct Check {
  std::string name;
  bool ok = false;
  bool blocking = true;  // a failure stops the agent
  std::string detail;    // what was found
  std::string fix;       // what to do about a failure
};

// Runs every check. `load_bpf` also loads (not attaches) the BPF programs: the most faithful test
// of BTF, verifier and privileges.
std::vector<Check> run_checks(bool load_bpf);

// Prints the checks; returns the exit code (1 if a blocking check failed).
int print_report(const std::vector<Check>& checks);

}  // namespace shadowmeter::preflight
