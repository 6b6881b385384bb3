#include "report_command.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string_view>

#include "dashboard/dashboard.h"
#include "reports/focus.h"
#include "reports/report.h"
#include "reports/time_text.h"

namespace shadowmeter::collector {
namespace {

constexpr int kExitStore = 1;
constexpr int kExitUsage = 2;

const char* const kUsage =
    "usage: shadowmeter-collector report NAME --db URL [--from TIME] [--to TIME] [--group-by a,b]\n"
    "         [--granularity total|day|week|month] [--owner OWNER] [--since TIME] [--limit N]\n"
    "         [--format json|csv|html] [--output FILE]\n"
    "  NAME: showback, shadow, coverage or focus. TIME: 2026-11-01T00:00:00Z, 2026-11-01 or unix nanoseconds.\n"
    "  Defaults: the last 30 days, --group-by owner, --format json (focus: csv), standard output.\n";

struct Usage : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

std::uint64_t now_unix_nano() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

// Writes `text` to `path` (0640, replacing it) or to stdout when empty.
// The report's destination (standard output for "" or "-"), written in pieces through stdio's buffer.
class Output {
 public:
  explicit Output(const std::string& path) : path_(path.empty() || path == "-" ? "standard output" : path) {
    if (path.empty() || path == "-") {
      file_ = stdout;
      return;
    }
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
    file_ = ::fdopen(fd, "w");
    if (file_ == nullptr) {
      ::close(fd);
      throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
    }
    owned_ = true;
  }
  ~Output() {
    if (owned_ && file_ != nullptr) std::fclose(file_);
  }
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;

  void write(std::string_view text) {
    if (std::fwrite(text.data(), 1, text.size(), file_) != text.size())
      throw std::runtime_error("cannot write " + path_ + ": " + std::strerror(errno));
  }
  void close() {
    const bool ok = owned_ ? std::fclose(file_) == 0 : std::fflush(file_) == 0;
    file_ = owned_ ? nullptr : file_;
    if (!ok) throw std::runtime_error("cannot write " + path_ + ": " + std::strerror(errno));
  }

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
  bool owned_ = false;
};

void write_output(const std::string& path, const std::string& text) {
  Output out(path);
  out.write(text);
  out.close();
}

}  // namespace

int run_report_command(int argc, char** argv) {
  std::map<std::string, std::string> opts;
  std::string name;
  try {
    static const char* const kOptions[] = {"--db",    "--from",  "--to",     "--group-by", "--granularity",
                                           "--owner", "--since", "--limit",  "--format",   "--output"};
    for (int i = 0; i < argc; ++i) {
      std::string arg = argv[i];
      if (arg == "--help" || arg == "-h") {
        std::fputs(kUsage, stdout);
        return 0;
      }
      if (arg.rfind("--", 0) != 0) {
        if (!name.empty()) throw Usage("unexpected argument '" + arg + "'");
        name = arg;
        continue;
      }
      std::string value;
      const auto eq = arg.find('=');
      if (eq != std::string::npos) {
        value = arg.substr(eq + 1);
        arg.resize(eq);
      } else {
        if (i + 1 >= argc) throw Usage(arg + " needs a value");
        value = argv[++i];
      }
      bool known = false;
      for (const char* o : kOptions) known = known || arg == o;
      if (!known) throw Usage("unknown option " + arg);
      if (!opts.emplace(arg, value).second) throw Usage(arg + " given twice");
    }
    if (name.empty()) throw Usage("which report? (showback, shadow, coverage, focus)");
    const auto& names = reports::report_names();
    if (std::find(names.begin(), names.end(), name) == names.end())
      throw Usage("unknown report '" + name + "' (showback, shadow, coverage, focus)");
    if (opts["--db"].empty()) throw Usage("--db URL is required (sqlite:PATH or postgresql://...)");
    std::string& format = opts["--format"];
    if (format.empty()) format = name == "focus" ? "csv" : "json";
    if (format != "json" && format != "csv" && format != "html") throw Usage("--format: json, csv or html");
  } catch (const Usage& e) {
    std::fprintf(stderr, "shadowmeter-collector report: %s\n%s", e.what(), kUsage);
    return kExitUsage;
  }

  reports::ReportQuery query;
  try {
    query = reports::parse_query(opts["--from"], opts["--to"], opts["--group-by"], opts["--granularity"],
                                 opts["--owner"], opts["--since"], now_unix_nano(), opts["--limit"]);
  } catch (const reports::BadReportQuery& e) {
    std::fprintf(stderr, "shadowmeter-collector report: %s\n", e.what());
    return kExitUsage;
  }
  try {
    // A report reads: a SQLite file that is not there is a mistake, not a new empty database.
    const std::string& url = opts["--db"];
    if (url.rfind("sqlite:", 0) == 0 && url != "sqlite::memory:") {
      std::string path = url.substr(7);
      if (path.rfind("//", 0) == 0) path.erase(0, 2);
      if (::access(path.c_str(), F_OK) != 0) throw std::runtime_error("no database at " + path);
    }
    const auto store = open_store(url);
    const std::string& format = opts["--format"];
    if (name == "focus" && format == "csv") {
      // Streamed row by row: a month of a large fleet comes out whole, in bounded memory.
      Output out(opts["--output"]);
      reports::focus_csv(*store, query, [&out](std::string_view piece) { out.write(piece); });
      out.close();
      return 0;
    }
    const nlohmann::json report = reports::run_report(*store, name, query);
    std::string text;
    if (format == "csv") {
      text = reports::to_csv(report);
    } else if (format == "html") {
      text = dashboard::render_report_html(report);
    } else {
      text = report.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    }
    write_output(opts["--output"], text);
    return 0;
  } catch (const reports::BadReportQuery& e) {
    std::fprintf(stderr, "shadowmeter-collector report: %s\n", e.what());
    return kExitUsage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "shadowmeter-collector report: %s\n", e.what());
    return kExitStore;
  }
}

std::string dashboard_page(Store& store, const DashboardRequest& request) {
  const reports::ReportQuery& q = request.query;
  dashboard::DashboardInput in;
  reports::ReportQuery by_owner_day = q;
  by_owner_day.group_by = {"owner"};
  by_owner_day.granularity = reports::Granularity::day;
  in.showback_by_owner_day = reports::run_report(store, "showback", by_owner_day);
  reports::ReportQuery by_model = q;
  by_model.group_by = {"provider", "model"};
  by_model.granularity = reports::Granularity::total;
  in.showback_by_model = reports::run_report(store, "showback", by_model);
  in.shadow = reports::run_report(store, "shadow", q);
  in.coverage = reports::run_report(store, "coverage", q);
  in.from = request.from.empty() ? reports::rfc3339(q.from_unix_nano) : request.from;
  in.to = request.to.empty() ? reports::rfc3339(q.to_unix_nano) : request.to;
  in.owner = request.owner;
  in.owners = reports::owners(store, q.from_unix_nano, q.to_unix_nano);
  in.generated_at = reports::rfc3339(q.now_unix_nano);
  return dashboard::render_dashboard(in);
}

}  // namespace shadowmeter::collector
