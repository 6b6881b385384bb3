// `shadowmeter-collector report NAME ...` (one report to stdout or a file, as JSON, CSV or HTML), and
// the dashboard page the server answers on GET /, both built from reports::run_report.
#pragma once

#include <string>

#include "server/server.h"
#include "storage/store.h"

namespace shadowmeter::collector {

// args: what follows "report" on the command line. Returns the exit code: 0, 1 (store error), 2
// (usage error, with a message on stderr).
int run_report_command(int argc, char** argv);

// The dashboard for one request: showback by owner and day, showback by provider and model, shadow
// findings and coverage over the request's range, with the owners of the range as filter choices.
std::string dashboard_page(Store& store, const DashboardRequest& request);

}  // namespace shadowmeter::collector
