// The exporter over TLS against a receiver on loopback, with certificates made by the openssl CLI in
// a temporary directory: the pinned CA, a wrong CA, the peer name check (IP and host name, and the
// server_name override), client certificates (mTLS), and unusable certificate files.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>

#include "export/otlp_http/exporter.h"
#include "otlp_http/exporter_fixture.h"

using namespace shadowmeter::exporting;
using namespace shadowmeter::testing;
using namespace std::chrono_literals;

namespace {

// A CA with a server certificate for 127.0.0.1/localhost, one for the name collector.test only, and
// a client certificate; and a second, unrelated CA. Made once per test run.
struct Pki {
  TempDir dir;
  std::string file(const std::string& name) const { return dir.path() + "/" + name; }

  Pki() {
    const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    const auto ca = [&](const std::string& name) {
      return "openssl req -x509 " + ec + " -keyout " + name + ".key -out " + name +
             ".pem -days 2 -subj /CN=" + name +
             " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign";
    };
    const auto leaf = [&](const std::string& name, const std::string& cn, const std::string& ext) {
      return "openssl req " + ec + " -keyout " + name + ".key -out " + name + ".csr -subj /CN=" + cn +
             " -addext " + ext + " && openssl x509 -req -in " + name +
             ".csr -CA ca.pem -CAkey ca.key -CAcreateserial -out " + name +
             ".pem -days 2 -copy_extensions copy";
    };
    const std::string script = "cd " + dir.path() + " && " + ca("ca") + " && " + ca("other-ca") + " && " +
                               leaf("server", "sm-test-server", "subjectAltName=IP:127.0.0.1,DNS:localhost") +
                               " && " +
                               leaf("named", "sm-named-server", "subjectAltName=DNS:collector.test") +
                               " && " + leaf("client", "agent-1", "extendedKeyUsage=clientAuth");
    REQUIRE(std::system(("(" + script + ") >/dev/null 2>&1").c_str()) == 0);
  }
};

const Pki& pki() {
  static const auto p = std::make_unique<Pki>();
  return *p;
}

TestServer::Tls server_tls(const std::string& name, bool require_client_cert = false) {
  return {.cert_file = pki().file(name + ".pem"),
          .key_file = pki().file(name + ".key"),
          .client_ca_file = require_client_cert ? pki().file("ca.pem") : std::string()};
}

}  // namespace

TEST_CASE("TLS with the pinned CA: delivered over one verified connection") {
  TempDir dir;
  TestServer server(0, server_tls("server"));
  auto o = fast_options(server.url(), dir);
  o.ca_file = pki().file("ca.pem");
  o.bearer_token = "tls-token";
  Exporter ex(o);
  for (int i = 0; i < 12; ++i) REQUIRE(ex.enqueue(test_event(i)));
  REQUIRE(eventually([&] { return all_delivered(server, 0, 12) && spool_pending(ex) == 0; }));
  CHECK(ex.stats().requests_failed == 0);
  CHECK(server.connections() == 1);
  for (const auto& r : server.requests()) {
    CHECK(r.headers.at("authorization") == "Bearer tls-token");
    CHECK(r.client_cert_subject.empty());
  }
}

TEST_CASE("TLS with a wrong CA: refused, retried, nothing acknowledged") {
  TempDir dir;
  TestServer server(0, server_tls("server"));
  auto o = fast_options(server.url(), dir);
  o.ca_file = pki().file("other-ca.pem");
  Exporter ex(o);
  for (int i = 0; i < 4; ++i) REQUIRE(ex.enqueue(test_event(i)));
  REQUIRE(eventually([&] { return ex.stats().requests_failed >= 3; }));
  const auto st = ex.stats();
  CHECK(st.events_sent == 0);
  CHECK(st.spool.pending_records == 4);
  CHECK(st.spool.acked == 0);
  CHECK(st.last_error.find("certificate verify failed") != std::string::npos);
  CHECK(server.request_count() == 0);
  CHECK(server.handshake_failures() >= 1);
  ex.stop(10ms);
}

TEST_CASE("TLS: the system store does not stand in for a private CA") {
  TempDir dir;
  TestServer server(0, server_tls("server"));
  auto o = fast_options(server.url(), dir);  // no ca_file: system CAs only
  Exporter ex(o);
  REQUIRE(ex.enqueue(test_event(0)));
  REQUIRE(eventually([&] { return ex.stats().requests_failed >= 2; }));
  CHECK(server.request_count() == 0);
  CHECK(spool_pending(ex) == 1);
  ex.stop(10ms);
}

TEST_CASE("TLS: the certificate must be for the name or IP the exporter expects") {
  TempDir dir;
  TestServer server(0, server_tls("named"));  // valid for collector.test only
  auto o = fast_options(server.url(), dir);   // https://127.0.0.1:port
  o.ca_file = pki().file("ca.pem");

  SECTION("the URL's IP is not in the certificate") {
    Exporter ex(o);
    REQUIRE(ex.enqueue(test_event(0)));
    REQUIRE(eventually([&] { return ex.stats().requests_failed >= 2; }));
    CHECK(server.request_count() == 0);
    CHECK(ex.stats().last_error.find("certificate verify failed") != std::string::npos);
    ex.stop(10ms);
  }
  SECTION("server_name names another host") {
    o.server_name = "other.test";
    Exporter ex(o);
    REQUIRE(ex.enqueue(test_event(0)));
    REQUIRE(eventually([&] { return ex.stats().requests_failed >= 2; }));
    CHECK(server.request_count() == 0);
    ex.stop(10ms);
  }
  SECTION("server_name names the certificate's host") {
    o.server_name = "collector.test";
    Exporter ex(o);
    REQUIRE(ex.enqueue(test_event(0)));
    REQUIRE(eventually([&] { return all_delivered(server, 0, 1) && spool_pending(ex) == 0; }));
    CHECK(ex.stats().requests_failed == 0);
  }
}

TEST_CASE("mTLS: the client certificate is presented and checked by the server") {
  TempDir dir;
  TestServer server(0, server_tls("server", true));
  auto o = fast_options(server.url(), dir);
  o.ca_file = pki().file("ca.pem");

  SECTION("with the client certificate") {
    o.client_cert_file = pki().file("client.pem");
    o.client_key_file = pki().file("client.key");
    Exporter ex(o);
    for (int i = 0; i < 3; ++i) REQUIRE(ex.enqueue(test_event(i)));
    REQUIRE(eventually([&] { return all_delivered(server, 0, 3) && spool_pending(ex) == 0; }));
    for (const auto& r : server.requests())
      CHECK(r.client_cert_subject.find("CN=agent-1") != std::string::npos);
  }
  SECTION("without one, the server refuses and nothing is acknowledged") {
    Exporter ex(o);
    for (int i = 0; i < 3; ++i) REQUIRE(ex.enqueue(test_event(i)));
    REQUIRE(eventually([&] { return ex.stats().requests_failed >= 2; }));
    CHECK(server.accepted().empty());
    CHECK(spool_pending(ex) == 3);
    CHECK(ex.stats().spool.acked == 0);
    ex.stop(10ms);
  }
}

TEST_CASE("TLS: unusable certificate files stop the start with the file's name") {
  TempDir dir;
  auto o = fast_options("https://127.0.0.1:9/v1/traces", dir);
  o.ca_file = dir.path() + "/missing-ca.pem";
  CHECK_THROWS_WITH(Exporter(o), Catch::Contains("missing-ca.pem"));

  const std::string garbage = dir.path() + "/garbage.pem";
  std::ofstream(garbage) << "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n";
  o.ca_file = garbage;
  CHECK_THROWS_WITH(Exporter(o), Catch::Contains("garbage.pem"));

  o.ca_file = pki().file("ca.pem");
  o.client_cert_file = pki().file("client.pem");
  CHECK_THROWS_WITH(Exporter(o), Catch::Contains("key"));  // a certificate without its key

  o.client_key_file = pki().file("server.key");  // the wrong key
  CHECK_THROWS_AS(Exporter(o), std::runtime_error);

  o.client_key_file = pki().file("client.key");
  CHECK_NOTHROW(Exporter(o));
}
