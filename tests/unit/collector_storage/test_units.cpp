// The store's pieces that need no database: URL redaction, cursors, placeholders, typed columns,
// and open_store's errors (which must never echo a password).
#include <catch2/catch.hpp>
#include <string>

#include "storage/cursor.h"
#include "storage/db_url.h"
#include "storage/pg_connection.h"
#include "storage/records.h"
#include "storage/store.h"

using namespace shadowmeter::collector;

TEST_CASE("redact_db_url masks passwords only", "[storage][url]") {
  CHECK(redact_db_url("postgresql://meter:s3cret@db.example:5432/shadowmeter?sslmode=require") ==
        "postgresql://meter:***@db.example:5432/shadowmeter?sslmode=require");
  CHECK(redact_db_url("postgres://meter@db/shadowmeter") == "postgres://meter@db/shadowmeter");
  CHECK(redact_db_url("postgresql:///postgres") == "postgresql:///postgres");
  CHECK(redact_db_url("postgresql://u:p%40ss@h/db") == "postgresql://u:***@h/db");
  CHECK(redact_db_url("postgresql://u:a:b@c@h/db") == "postgresql://u:***@h/db");  // last '@' ends userinfo
  CHECK(redact_db_url("postgresql://h/db?user=u&password=hunter2&sslmode=verify-full") ==
        "postgresql://h/db?user=u&password=***&sslmode=verify-full");
  CHECK(redact_db_url("postgresql://h/db?PASSWORD=x") == "postgresql://h/db?PASSWORD=***");
  CHECK(redact_db_url("host=db user=u password=hunter2 dbname=x") == "host=db user=u password=*** dbname=x");
  CHECK(redact_db_url("host=db password='two words' dbname=x") == "host=db password=*** dbname=x");
  CHECK(redact_db_url("sqlite:/var/lib/shadowmeter/store.db") == "sqlite:/var/lib/shadowmeter/store.db");
  CHECK(redact_db_url("sqlite::memory:") == "sqlite::memory:");
  CHECK(redact_db_url("") == "");
}

TEST_CASE("secrets of a URL are scrubbed from messages, encoded or not", "[storage][url]") {
  const auto secrets = db_url::secrets("postgresql://u:p%40ss@h/db?password=other");
  CHECK(db_url::scrub("failed for p%40ss and p@ss and other", secrets) == "failed for *** and *** and ***");
  CHECK(db_url::scrub("nothing here", db_url::secrets("postgresql://h/db")) == "nothing here");
}

TEST_CASE("open_store refuses what it cannot open, without echoing a password", "[storage][url]") {
  CHECK_THROWS_AS(open_store("mysql://u:p@h/db"), StoreError);
  CHECK_THROWS_AS(open_store("sqlite:"), StoreError);
  CHECK_THROWS_AS(open_store("/var/lib/x.db"), StoreError);
  try {
    open_store("sqlite:/nonexistent-dir-for-shadowmeter/x.db");
    FAIL("opened a file in a missing directory");
  } catch (const StoreError& e) {
    CHECK(std::string(e.what()).find("/nonexistent-dir-for-shadowmeter/x.db") != std::string::npos);
  }
  for (const std::string url : {"postgresql://meter:Sup3rSecretPw@127.0.0.1:1/db?connect_timeout=2",
                                "postgresql://meter@127.0.0.1:1/db?password=Sup3rSecretPw&connect_timeout=2",
                                "postgresql://meter:Sup3rSecretPw@[::1/db"}) {
    INFO(url);
    try {
      open_store(url);
      FAIL("connected to a closed port");
    } catch (const StoreError& e) {
      const std::string what = e.what();
      INFO(what);
      CHECK(what.find("Sup3rSecretPw") == std::string::npos);
      CHECK(what.find("***") != std::string::npos);
    }
  }
  try {
    open_store("mysql://u:Sup3rSecretPw@h/db");
  } catch (const StoreError& e) {
    CHECK(std::string(e.what()).find("Sup3rSecretPw") == std::string::npos);
  }
}

TEST_CASE("cursors round-trip and reject anything else", "[storage][cursor]") {
  const sql::Cursor c{1767225600123456789, "0123456789abcdef0123456789abcdef"};
  const sql::Cursor back = sql::decode_cursor(sql::encode_cursor(c));
  CHECK(back.time_unix_nano == c.time_unix_nano);
  CHECK(back.event_id == c.event_id);
  CHECK(sql::decode_cursor("0-a").time_unix_nano == 0);
  CHECK(sql::decode_cursor("5-a-b").event_id == "a-b");
  for (const char* bad :
       {"", "-", "5", "5-", "-x", "+5-x", " 5-x", "5 -x", "9223372036854775808-x", "5-x y", "5-\xc3\xa9"}) {
    INFO(bad);
    CHECK_THROWS_AS(sql::decode_cursor(bad), std::invalid_argument);
  }
  CHECK_THROWS_AS(sql::decode_cursor("5-" + std::string(129, 'a')), std::invalid_argument);
}

TEST_CASE("placeholders become $n outside string literals", "[storage][sql]") {
  CHECK(sql::to_dollar_placeholders("SELECT ? , '?' , ?") == "SELECT $1 , '?' , $2");
  CHECK(sql::to_dollar_placeholders("x = 'it''s ?' AND y = ?") == "x = 'it''s ?' AND y = $1");
}

TEST_CASE("typed columns from a flat record", "[storage][records]") {
  const nlohmann::json e = {{"host.name", "n"},
                            {"a", ""},
                            {"big", 18446744073709551615ull},
                            {"neg", -1},
                            {"ok", 7},
                            {"s", std::string(records::kMaxColumnText, 'x')},
                            {"long", std::string(records::kMaxColumnText + 1, 'x')}};
  CHECK(records::text(e, "host.name") == "n");
  CHECK_FALSE(records::text(e, "a"));
  CHECK_FALSE(records::text(e, "missing"));
  CHECK_FALSE(records::text(e, "ok"));
  CHECK(records::text(e, "s"));
  CHECK_FALSE(records::text(e, "long"));
  CHECK_FALSE(records::unsigned_int(e, "big"));
  CHECK_FALSE(records::unsigned_int(e, "neg"));
  CHECK(records::unsigned_int(e, "ok") == 7);
  CHECK_FALSE(records::text(nlohmann::json::array(), "x"));

  CHECK(records::valid_event_id("0123456789abcdef0123456789abcdef"));
  CHECK(records::valid_event_id("A.b_c-9"));
  CHECK_FALSE(records::valid_event_id(""));
  CHECK_FALSE(records::valid_event_id("a b"));
  CHECK_FALSE(records::valid_event_id("a/b"));
  CHECK_FALSE(records::valid_event_id(std::string(129, 'a')));
  CHECK_FALSE(records::event_id_of({{"shadowmeter.event_id", 5}}));
  CHECK_FALSE(records::event_id_of(nlohmann::json("not an object")));
}

TEST_CASE("the workload column takes the outermost known kind", "[storage][records]") {
  const records::Arrival arrival{100, ""};
  auto workload = [&](const nlohmann::json& e) {
    const sql::Row row = records::call_values(e, "id", arrival);
    const auto& cols = records::call_columns();
    std::string kind, name;
    for (std::size_t i = 0; i < cols.size(); ++i) {
      if (cols[i] == "k8s_workload_kind") kind = sql::as_text(row[i]).value_or("-");
      if (cols[i] == "k8s_workload_name") name = sql::as_text(row[i]).value_or("-");
    }
    return kind + "/" + name;
  };
  CHECK(workload({{"k8s.deployment.name", "web"}, {"k8s.replicaset.name", "web-7d9f"}}) == "deployment/web");
  CHECK(workload({{"k8s.replicaset.name", "web-7d9f"}}) == "replicaset/web-7d9f");
  CHECK(workload({{"k8s.cronjob.name", "nightly"}, {"k8s.job.name", "nightly-123"}}) == "cronjob/nightly");
  CHECK(workload({{"k8s.rollout.name", "canary"}}) == "rollout/canary");
  CHECK(workload({{"k8s.pod.name", "p"}, {"k8s.namespace.name", "ns"}, {"k8s.container.name", "c"}}) ==
        "-/-");
  CHECK(workload({{"k8s.deployment.name", 5}}) == "-/-");
  CHECK(workload({{"k8s..name", "x"}, {"k8s.a.b.name", "y"}}) == "-/-");
  CHECK(records::call_values({}, "id", arrival).size() == records::call_columns().size());
}
