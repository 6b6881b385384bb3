// shadowmeter-agent: per-node daemon that meters AI API calls seen through TLS uprobes.
#include <cstdio>
#include <cstring>
#include <exception>
#include <string_view>
#include <vector>

#include "agent.h"
#include "common/log.h"
#include "config/config.h"
#include "preflight/preflight.h"

int main(int argc, char** argv) {
  try {
    std::vector<const char*> args(argv, argv + argc);
    if (argc > 1 && std::string_view(argv[1]) == "check") {
      // The agent's own flags (--config, --collector, ...): the collector check uses its settings.
      auto cfg = shadowmeter::config::parse_command_line(argc - 1, args.data() + 1);
      if (!cfg) return 0;
      return shadowmeter::preflight::print_report(
          shadowmeter::preflight::run_checks({.load_bpf = true, .config = &*cfg}));
    }
    auto cfg = shadowmeter::config::parse_command_line(static_cast<int>(args.size()), args.data());
    if (!cfg) return 0;  // --help / --version
    shadowmeter::Agent agent(std::move(*cfg));
    return agent.run();
  } catch (const std::exception& e) {
    shadowmeter::log::error(std::string("shadowmeter-agent: ") + e.what());
    return 1;
  }
}
