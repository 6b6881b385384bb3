// The report routes and the dashboard over real sockets, on a real SQLite store seeded with the report
// tests' dataset: bearer and HTTP Basic authentication (401 with the Basic challenge), 200 with JSON and
// CSV (content type, file name), 400 for bad queries, 404 for an unknown report, and /healthz untouched.
#include <catch2/catch.hpp>

#include "report_command.h"
#include "reports/focus.h"
#include "report_dataset.h"
#include "server/auth.h"
#include "server/server.h"
#include "server_test_util.h"
#include "store_fixture.h"

using namespace shadowmeter::collector;
using namespace smtest;
using namespace std::chrono_literals;
using nlohmann::json;
namespace data = shadowmeter::testing::reports_data;

namespace {

const std::string kToken = "report-token-0123456789";

std::string base64(const std::string& in) {
  static const char* const kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    for (int k = 18; k >= 0; k -= 6) out += kAlphabet[(v >> k) & 63];
  }
  if (i + 1 == in.size()) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += std::string{kAlphabet[(v >> 18) & 63], kAlphabet[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += std::string{kAlphabet[(v >> 18) & 63], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63], '='};
  }
  return out;
}

Request basic(const std::string& target, const std::string& user, const std::string& password) {
  Request r = get(target);
  r.set(http::field::authorization, "Basic " + base64(user + ":" + password));
  return r;
}

int status(const Response& r) { return static_cast<int>(r.result_int()); }

struct Fixture {
  explicit Fixture(bool with_tokens = true)
      : db(shadowmeter::testing::StoreFixture::make("sqlite")),
        queue([this](const std::vector<const IngestBatch*>& b) { return db->store().ingest_many(b); }, {}, {}) {
    data::seed(db->store());
    ServerOptions o;
    o.listen = "127.0.0.1:0";
    o.read_timeout = 20s;
    o.write_timeout = 20s;
    AuthPolicy auth;
    if (with_tokens) auth.tokens = TokenSet::parse(kToken + "\n", "test");
    ApiBackend api;
    Store& s = db->store();
    api.report = [&s](const std::string& name, const reports::ReportQuery& q) {
      return reports::run_report(s, name, q);
    };
    api.dashboard = [&s](const DashboardRequest& r) { return dashboard_page(s, r); };
    api.focus_csv = [&s](const reports::ReportQuery& q, const std::function<void(std::string_view)>& write) {
      reports::focus_csv(s, q, write);
    };
    server = std::make_unique<CollectorServer>(o, std::move(auth), queue, std::move(api), metrics);
    server->start();
  }
  ~Fixture() {
    server->stop(5s);
    queue.stop();
  }
  unsigned short port() const { return server->port(); }

  std::unique_ptr<shadowmeter::testing::StoreFixture> db;
  CollectorMetrics metrics;
  IngestQueue queue;
  std::unique_ptr<CollectorServer> server;
};

const std::string kRange = "from=2026-10-30&to=2026-11-03";

}  // namespace

TEST_CASE("basic_password reads HTTP Basic credentials", "[reports]") {
  CHECK(basic_password("Basic " + base64("user:secret")) == "secret");
  CHECK(basic_password("basic " + base64(":a:b")) == "a:b");  // any user name, even none
  CHECK_FALSE(basic_password("Basic " + base64("user:")));    // empty password
  CHECK_FALSE(basic_password("Basic " + base64("nocolon")));
  CHECK_FALSE(basic_password("Basic !!!!"));
  CHECK_FALSE(basic_password("Basic abc"));  // not a multiple of 4
  CHECK_FALSE(basic_password("Bearer " + base64("user:secret")));
  CHECK_FALSE(basic_password(""));
}

TEST_CASE("report routes answer JSON and CSV to bearer and Basic credentials", "[reports]") {
  Fixture fx;
  const Response json_res = fetch(fx.port(), get("/api/v1/reports/showback?" + kRange + "&group_by=owner", kToken));
  REQUIRE(status(json_res) == 200);
  CHECK(json_res[http::field::content_type] == "application/json");
  CHECK(json_res[http::field::cache_control] == "no-store");
  const json r = json::parse(json_res.body());
  CHECK(r["totals"]["calls"] == 9);  // the dataset's two blind connections are no calls
  CHECK(r["totals"]["cost_usd"].get<double>() == Approx(0.0721));

  // A browser: Basic with any user name and a token as the password.
  const Response csv = fetch(fx.port(), basic("/api/v1/reports/shadow?" + kRange + "&format=csv", "alice", kToken));
  REQUIRE(status(csv) == 200);
  CHECK(csv[http::field::content_type] == "text/csv; charset=utf-8");
  CHECK(csv[http::field::content_disposition] ==
        "attachment; filename=\"shadowmeter-shadow-2026-10-30-2026-11-03.csv\"");
  CHECK(csv.body().rfind("workload,k8s.namespace.name,", 0) == 0);
  CHECK(csv.body().find("python3,search,python3,anthropic,api.anthropic.com,fp-c,unsanctioned provider") !=
        std::string::npos);

  // FOCUS defaults to CSV.
  const Response focus = fetch(fx.port(), get("/api/v1/reports/focus?" + kRange, kToken));
  REQUIRE(status(focus) == 200);
  CHECK(focus[http::field::content_type] == "text/csv; charset=utf-8");
  CHECK(focus.body().rfind("BilledCost,EffectiveCost,ListCost,", 0) == 0);
  // Streamed: chunked transfer encoding, no Content-Length, and the whole export.
  CHECK(focus[http::field::transfer_encoding] == "chunked");
  CHECK(focus.find(http::field::content_length) == focus.end());
  CHECK(focus[http::field::content_disposition] ==
        "attachment; filename=\"shadowmeter-focus-2026-10-30-2026-11-03.csv\"");
  std::string expected;
  reports::ReportQuery q;
  q.from_unix_nano = data::kOct30;
  q.to_unix_nano = data::kNov3;
  reports::focus_csv(fx.db->store(), q, [&expected](std::string_view p) { expected += p; });
  CHECK(focus.body() == expected);
  // A bad range is still a 400 before anything is streamed.
  CHECK(status(fetch(fx.port(), get("/api/v1/reports/focus?from=2026-11-03&to=2026-10-30", kToken))) == 400);
  const Response coverage = fetch(fx.port(), get("/api/v1/reports/coverage?" + kRange + "&format=json", kToken));
  REQUIRE(status(coverage) == 200);
  CHECK(json::parse(coverage.body())["visibility"]["overall"]["blind_connections"] == 2);
}

TEST_CASE("report routes refuse missing or wrong credentials with 401", "[reports]") {
  Fixture fx;
  for (const Request& req : {get("/api/v1/reports/showback"), get("/api/v1/reports/showback", "wrong-token"),
                             basic("/api/v1/reports/showback", "alice", "wrong-token")}) {
    const Response res = fetch(fx.port(), req);
    CHECK(status(res) == 401);
    CHECK(res[http::field::www_authenticate].find("Basic realm=\"shadowmeter\"") != std::string_view::npos);
    CHECK(res.body().find("0.0721") == std::string::npos);
  }
  const Response page = fetch(fx.port(), get("/"));
  CHECK(status(page) == 401);
  CHECK(page[http::field::www_authenticate].find("Basic realm=\"shadowmeter\"") == 0);
  CHECK(status(fetch(fx.port(), basic("/", "bob", "nope"))) == 401);
  // Health and metrics stay open.
  CHECK(status(fetch(fx.port(), get("/healthz"))) == 200);
}

TEST_CASE("report routes answer 400 for bad queries and 404 for unknown reports", "[reports]") {
  Fixture fx;
  for (const std::string q :
       {"from=2026-11-03&to=2026-11-01", "group_by=color", "granularity=hourly", "format=xml", "limit=0",
        "from=yesterday", "bogus=1", "owner=a&owner=b", "from=2020-01-01&to=2026-11-01"}) {
    INFO(q);
    const Response res = fetch(fx.port(), get("/api/v1/reports/showback?" + q, kToken));
    CHECK(status(res) == 400);
    CHECK(json::parse(res.body()).contains("error"));
  }
  CHECK(status(fetch(fx.port(), get("/api/v1/reports/invoice", kToken))) == 404);
  CHECK(status(fetch(fx.port(), get("/api/v1/reports/", kToken))) == 404);
  CHECK(status(fetch(fx.port(), get("/?from=nope", kToken))) == 400);
}

TEST_CASE("the dashboard is served to Basic credentials with the range's figures", "[reports]") {
  Fixture fx;
  const Response page = fetch(fx.port(), basic("/?" + kRange + "&owner=team-a", "carol", kToken));
  REQUIRE(status(page) == 200);
  CHECK(page[http::field::content_type] == "text/html; charset=utf-8");
  CHECK(page.body().find("<html") != std::string::npos);
  CHECK(page.body().find("team-a") != std::string::npos);
  CHECK(status(fetch(fx.port(), get("/index.html", kToken))) == 200);
}

TEST_CASE("without tokens (--insecure-no-auth) the report routes and dashboard are open", "[reports]") {
  Fixture fx(false);
  CHECK(status(fetch(fx.port(), get("/api/v1/reports/coverage?" + kRange))) == 200);
  CHECK(status(fetch(fx.port(), get("/"))) == 200);
}
