// The agent: one Asio loop that drains the BPF ring buffer, feeds the capture layer, turns finished
// exchanges into usage events, keeps the attach manager current and serves the HTTP endpoints.
#pragma once

#include <memory>

#include "config/config.h"

namespace shadowmeter {

class Agent {
 public:
  // Throws std::runtime_error with a clear message when it cannot start (privileges, BTF, config).
  explicit Agent(config::AgentConfig cfg);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Runs until SIGINT/SIGTERM; returns the process exit code.
  int run();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace shadowmeter
