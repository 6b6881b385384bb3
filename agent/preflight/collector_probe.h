// Whether the configured collector answers: name resolution, TCP connect, TLS handshake with the
// configured CA (and client certificate), then GET /healthz, all within one deadline. Used by
// `shadowmeter-agent check` and at start (a failure only warns: the spool covers outages).
#pragma once

#include <chrono>
#include <string>

#include "config/config.h"

namespace shadowmeter::preflight {

struct CollectorProbe {
  bool ok = false;
  std::string detail;  // the steps done, or the one that failed and why (never the token)
};

// cfg.collector_url must be set. Takes at most about `timeout`.
CollectorProbe probe_collector(const config::AgentConfig& cfg, std::chrono::milliseconds timeout);

}  // namespace shadowmeter::preflight
