// Root test: loads the real BPF programs, attaches them to the libssl this test links, drives a TLS
// client and server in-process over a socketpair, and checks every field of the records.
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "probes/bpf_probes.h"
#include "probes/proc_maps.h"
#include "shadowmeter.h"

using namespace shadowmeter::probes;

namespace {

struct Record {
  std::uint32_t type = 0;
  sm_data_event data{};
  sm_conn_end_event end{};
  std::string payload;
};

bool can_run(std::string& why) {
  if (geteuid() != 0) {
    why = "needs root";
    return false;
  }
  if (!std::filesystem::exists("/sys/kernel/btf/vmlinux")) {
    why = "no kernel BTF";
    return false;
  }
  return true;
}

// Skips the test case, printing why, where the machine lacks root or BTF.
#define SKIP_UNLESS_BPF()             \
  do {                                \
    std::string why;                  \
    if (!can_run(why)) {              \
      WARN("skipped: " << why);       \
      return;                         \
    }                                 \
  } while (0)

std::string own_libssl() {
  for (const auto& m : read_executable_mappings("/proc", getpid()))
    if (is_tls_library_name(m.path)) return m.path;
  return {};
}

struct SslCtxDeleter {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct SslDeleter {
  void operator()(SSL* s) const { SSL_free(s); }
};

// A self-signed certificate made on the spot: nothing on disk, nothing to leak.
std::unique_ptr<SSL_CTX, SslCtxDeleter> server_ctx() {
  std::unique_ptr<SSL_CTX, SslCtxDeleter> ctx(SSL_CTX_new(TLS_server_method()));
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("test"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509_sign(cert, key, EVP_sha256());
  SSL_CTX_use_certificate(ctx.get(), cert);
  SSL_CTX_use_PrivateKey(ctx.get(), key);
  X509_free(cert);
  EVP_PKEY_free(key);
  return ctx;
}

struct TlsPair {
  int fds[2] = {-1, -1};
  std::unique_ptr<SSL_CTX, SslCtxDeleter> cctx{SSL_CTX_new(TLS_client_method())};
  std::unique_ptr<SSL_CTX, SslCtxDeleter> sctx = server_ctx();
  std::unique_ptr<SSL, SslDeleter> client, server;

  TlsPair() {
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    client.reset(SSL_new(cctx.get()));
    server.reset(SSL_new(sctx.get()));
    SSL_set_fd(client.get(), fds[0]);
    SSL_set_fd(server.get(), fds[1]);
    std::thread t([this] { REQUIRE(SSL_accept(server.get()) == 1); });
    REQUIRE(SSL_connect(client.get()) == 1);
    t.join();
  }
  ~TlsPair() {
    client.reset();
    server.reset();
    close(fds[0]);
    close(fds[1]);
  }
  // Reads exactly n bytes on the server side with SSL_read_ex.
  std::string server_read(std::size_t n) {
    std::string out(n, '\0');
    std::size_t got = 0;
    while (got < n) {
      std::size_t r = 0;
      REQUIRE(SSL_read_ex(server.get(), out.data() + got, n - got, &r) == 1);
      got += r;
    }
    return out;
  }
};

struct Capture {
  std::vector<Record> records;
  std::unique_ptr<BpfProbes> probes;
  std::unique_ptr<UprobeSet> uprobes;

  Capture() {
    probes = std::make_unique<BpfProbes>(ProbeOptions{.ringbuf_bytes = 4u << 20, .agent_tgid = 0},
                                         [this](std::span<const std::uint8_t> r) { on_record(r); });
    const std::string lib = own_libssl();
    REQUIRE_FALSE(lib.empty());
    int fd = open(lib.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    auto syms = find_function_offsets(fd, ssl_symbol_names());
    close(fd);
    REQUIRE(syms);
    uprobes = probes->attach_ssl(lib, *syms);
    CHECK(uprobes->size() == 10);  // 4 entry + 4 return + SSL_free + SSL_shutdown
  }
  void on_record(std::span<const std::uint8_t> r) {
    Record rec;
    std::memcpy(&rec.type, r.data(), sizeof(rec.type));
    if (static_cast<std::uint32_t>(getpid()) != reinterpret_cast<const sm_event_header*>(r.data())->tgid) return;
    if (rec.type == SM_EV_DATA) {
      std::memcpy(&rec.data, r.data(), std::min(r.size(), sizeof(rec.data)));
      rec.payload.assign(reinterpret_cast<const char*>(rec.data.data), rec.data.len);
      REQUIRE(r.size() == offsetof(sm_data_event, data) + rec.data.len);
    } else if (rec.type == SM_EV_CONN_END) {
      std::memcpy(&rec.end, r.data(), sizeof(rec.end));
    } else {
      return;
    }
    records.push_back(std::move(rec));
  }
  std::vector<const Record*> data_for(const SSL* ssl, std::uint8_t dir) {
    probes->consume();
    std::vector<const Record*> out;
    for (const auto& r : records)
      if (r.type == SM_EV_DATA && r.data.ssl == reinterpret_cast<std::uint64_t>(ssl) && r.data.direction == dir)
        out.push_back(&r);
    return out;
  }
};

}  // namespace

TEST_CASE("BPF: SSL_write and SSL_read_ex plaintext with stream offsets and the socket fd") {
  SKIP_UNLESS_BPF();
  Capture cap;
  TlsPair tls;
  const std::string msg = "POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n\r\n";
  REQUIRE(SSL_write(tls.client.get(), msg.data(), static_cast<int>(msg.size())) == static_cast<int>(msg.size()));
  CHECK(tls.server_read(msg.size()) == msg);

  auto out = cap.data_for(tls.client.get(), SM_DIR_EGRESS);
  REQUIRE(out.size() == 1);
  CHECK(out[0]->payload == msg);
  CHECK(out[0]->data.stream_offset == 0u);
  CHECK(out[0]->data.fd == tls.fds[0]);
  CHECK(out[0]->data.hdr.tgid == static_cast<std::uint32_t>(getpid()));
  CHECK(std::string(out[0]->data.comm).size() > 0);

  auto in = cap.data_for(tls.server.get(), SM_DIR_INGRESS);
  REQUIRE_FALSE(in.empty());
  std::string joined;
  for (auto* r : in) joined += r->payload;
  CHECK(joined == msg);
  CHECK(in[0]->data.fd == tls.fds[1]);

  // A second write continues the stream offset.
  REQUIRE(SSL_write(tls.client.get(), "abc", 3) == 3);
  CHECK(tls.server_read(3) == "abc");
  out = cap.data_for(tls.client.get(), SM_DIR_EGRESS);
  REQUIRE(out.size() == 2);
  CHECK(out[1]->data.stream_offset == msg.size());
  CHECK(out[1]->payload == "abc");
}

TEST_CASE("BPF: a large SSL_write_ex is split into 16 KiB records, none cut") {
  SKIP_UNLESS_BPF();
  Capture cap;
  TlsPair tls;
  std::string big(100000, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  std::thread reader([&] { CHECK(tls.server_read(big.size()) == big); });
  std::size_t written = 0;
  REQUIRE(SSL_write_ex(tls.client.get(), big.data(), big.size(), &written) == 1);
  reader.join();
  REQUIRE(written == big.size());
  auto out = cap.data_for(tls.client.get(), SM_DIR_EGRESS);
  REQUIRE(out.size() == 7);  // ceil(100000 / 16384)
  std::string joined;
  for (std::size_t i = 0; i < out.size(); ++i) {
    CHECK(out[i]->data.stream_offset == i * SM_CHUNK_BYTES);
    joined += out[i]->payload;
  }
  CHECK(joined == big);
  CHECK(cap.probes->read_counters().ringbuf_drops == 0u);
}

TEST_CASE("BPF: a connection marked ignored produces no records; SSL_free ends tracked ones") {
  SKIP_UNLESS_BPF();
  Capture cap;
  TlsPair tls;
  REQUIRE(SSL_write(tls.client.get(), "seen", 4) == 4);
  CHECK(tls.server_read(4) == "seen");
  auto first = cap.data_for(tls.client.get(), SM_DIR_EGRESS);
  REQUIRE(first.size() == 1);
  const std::uint64_t conn_id = first[0]->data.conn_id;
  CHECK(conn_id != 0u);
  const auto me = static_cast<std::uint32_t>(getpid());
  const auto client_ssl = reinterpret_cast<std::uint64_t>(tls.client.get());
  // A mark for another connection id (a freed predecessor at the same address) is stale: ignored.
  cap.probes->mark_ignored(me, client_ssl, conn_id + 1);
  REQUIRE(SSL_write(tls.client.get(), "still", 5) == 5);
  CHECK(tls.server_read(5) == "still");
  CHECK(cap.data_for(tls.client.get(), SM_DIR_EGRESS).size() == 2);
  const auto before = cap.probes->read_counters();
  cap.probes->mark_ignored(me, client_ssl, conn_id);
  REQUIRE(SSL_write(tls.client.get(), "hidden", 6) == 6);
  CHECK(tls.server_read(6) == "hidden");
  CHECK(cap.data_for(tls.client.get(), SM_DIR_EGRESS).size() == 2);
  CHECK(cap.probes->read_counters().ignored_calls == before.ignored_calls + 1);
  // The server side was not marked: it is still seen.
  CHECK(cap.data_for(tls.server.get(), SM_DIR_INGRESS).size() >= 1);

  const auto server_ssl = reinterpret_cast<std::uint64_t>(tls.server.get());
  tls.server.reset();  // SSL_free
  cap.probes->consume();
  int ends = 0;
  for (const auto& r : cap.records)
    if (r.type == SM_EV_CONN_END && r.end.ssl == server_ssl) {
      ++ends;
      CHECK(r.end.reason == SM_END_SSL_FREE);
      CHECK(r.end.fd == tls.fds[1]);
    }
  CHECK(ends == 1);
}

#ifdef SM_GO_CLIENT_STRIPPED
TEST_CASE("BPF: the Go tap attaches to a stripped Go binary, through uprobe-multi links and perf events") {
  SKIP_UNLESS_BPF();
  std::ifstream in(SM_GO_CLIENT_STRIPPED, std::ios::binary);
  std::vector<std::uint8_t> image((std::istreambuf_iterator<char>(in)), {});
  const auto go = gotls::inspect_go_binary(gotls::Bytes(image.data(), image.size()), gotls::host_elf_machine());
  REQUIRE(go.refusal.empty());
  const std::size_t sites = 2 + go.write.rets.size() + go.read.rets.size();
  for (bool multi : {true, false}) {
    INFO("uprobe_multi " << multi);
    BpfProbes probes(ProbeOptions{.ringbuf_bytes = 1u << 20, .agent_tgid = 0, .uprobe_multi = multi},
                     [](std::span<const std::uint8_t>) {});
    auto set = probes.attach_go(SM_GO_CLIENT_STRIPPED, go);
    REQUIRE(set);
    CHECK(set->size() == sites);
    // A RET site that is not an instruction boundary of the file is refused by the kernel: all or nothing.
    auto bad = go;
    bad.read.rets.push_back(static_cast<std::uint64_t>(image.size()) + 4096);
    CHECK_THROWS_AS(probes.attach_go(SM_GO_CLIENT_STRIPPED, bad), std::runtime_error);
  }
}
#endif
