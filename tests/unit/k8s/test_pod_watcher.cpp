// The pod watcher against tests/e2e/fakek8s/server.py on loopback TLS, plus its pure helpers
// (owner resolution, URL parsing, kubeconfig and in-cluster settings).
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "attribution/k8s/api_client.h"
#include "attribution/k8s/owner.h"
#include "attribution/k8s/pod_watcher.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using namespace shadowmeter::attribution::k8s;
using namespace std::chrono_literals;

fs::path make_temp_dir() {
  std::string pattern = (fs::temp_directory_path() / "sm-k8s-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp");
  return pattern;
}

void write_file(const fs::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

void append_file(const fs::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out << content << '\n';
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Polls until `condition` holds, up to `limit`.
template <class F>
bool eventually(F condition, std::chrono::milliseconds limit = 10s) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (condition()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return condition();
}

// One CA and server certificate for the whole run (made by the fake provider's certs.py), removed at exit.
struct CertDir {
  fs::path root = make_temp_dir();
  ~CertDir() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }
};
fs::path cert_dir() {
  static const CertDir dir;
  return dir.root / "certs";
}

class FakeApiServer {
 public:
  FakeApiServer(const std::string& pods, const std::string& namespaces, std::vector<std::string> extra = {})
      : dir_(make_temp_dir()) {
    write_file(dir_ / "pods.json", pods);
    write_file(dir_ / "namespaces.json", namespaces);
    write_file(dir_ / "control", "");
    start(std::move(extra));
  }
  ~FakeApiServer() {
    kill();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  FakeApiServer(const FakeApiServer&) = delete;
  FakeApiServer& operator=(const FakeApiServer&) = delete;

  void start(std::vector<std::string> extra) {
    fs::remove(dir_ / "port");
    std::vector<std::string> args = {SM_PYTHON3,       SM_FAKEK8S_SERVER,
                                     "--cert-dir",     cert_dir().string(),
                                     "--port-file",    (dir_ / "port").string(),
                                     "--pods",         (dir_ / "pods.json").string(),
                                     "--namespaces",   (dir_ / "namespaces.json").string(),
                                     "--control-file", (dir_ / "control").string()};
    if (port_ != 0) {
      args.push_back("--port");
      args.push_back(std::to_string(port_));
    }
    for (auto& e : extra) args.push_back(std::move(e));
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (::posix_spawn(&pid_, argv[0], nullptr, nullptr, argv.data(), environ) != 0)
      throw std::runtime_error("cannot start the fake API server");
    if (!eventually([&] { return fs::exists(dir_ / "port"); }, 30s))
      throw std::runtime_error("the fake API server did not start");
    port_ = std::stoi(read_file(dir_ / "port"));
  }
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  void set_pods(const std::string& pods) { write_file(dir_ / "pods.json", pods); }
  // One control line (see server.py); newlines in `json` are turned into spaces.
  void control(std::string json) {
    std::replace(json.begin(), json.end(), '\n', ' ');
    append_file(dir_ / "control", json);
  }

  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  const fs::path& dir() const { return dir_; }

 private:
  fs::path dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

const char* kPods = R"([
 {"metadata": {"name": "web-7d9f8-x2k4q", "namespace": "shop", "uid": "uid-web",
   "labels": {"app": "web", "pod-template-hash": "7d9f8"},
   "annotations": {"note": "kept", "kubectl.kubernetes.io/last-applied-configuration": "{\"secret\":1}"},
   "ownerReferences": [{"kind": "ReplicaSet", "name": "web-7d9f8", "controller": true}],
   "managedFields": [{"manager": "kubectl"}]},
  "spec": {"nodeName": "node-a", "initContainers": [{"name": "init"}],
           "containers": [{"name": "app"}, {"name": "sidecar"}]},
  "status": {"initContainerStatuses": [{"name": "init", "containerID": "containerd://1111"}],
             "containerStatuses": [{"name": "app", "containerID": "containerd://aaaa"},
                                   {"name": "sidecar", "containerID": "cri-o://bbbb"}]}},
 {"metadata": {"name": "backup-28934520-abcde", "namespace": "ops", "uid": "uid-backup",
   "labels": {"job-name": "backup-28934520"},
   "ownerReferences": [{"kind": "Job", "name": "backup-28934520", "controller": true}]},
  "spec": {"nodeName": "node-a", "containers": [{"name": "backup"}]}},
 {"metadata": {"name": "elsewhere", "namespace": "shop", "uid": "uid-elsewhere"},
  "spec": {"nodeName": "node-b", "containers": [{"name": "app"}]}}
])";

const char* kNamespaces = R"([
 {"metadata": {"name": "shop", "labels": {"team": "payments"}}},
 {"metadata": {"name": "ops", "labels": {"team": "sre"}}}
])";

std::string pod_json(const std::string& name, const std::string& uid, const std::string& node,
                     const std::string& labels = "{}", const std::string& annotations = "{}") {
  return R"({"metadata": {"name": ")" + name + R"(", "namespace": "shop", "uid": ")" + uid +
         R"(", "labels": )" + labels + R"(, "annotations": )" + annotations + R"(}, "spec": {"nodeName": ")" +
         node + R"(", "containers": [{"name": "main"}]}})";
}

std::string event(const std::string& type, const std::string& object, bool silent = false) {
  return R"({"resource": "pods", "type": ")" + type + R"(", "object": )" + object +
         (silent ? R"(, "silent": true})" : "}");
}

WatcherOptions options_for(const FakeApiServer& server, const fs::path& token_file = {}) {
  WatcherOptions o;
  o.api_server = server.url();
  o.ca_file = (cert_dir() / "ca.pem").string();
  o.token_file = token_file.string();
  o.node_name = "node-a";
  o.connect_timeout = 2000ms;
  o.backoff_min = 50ms;
  o.backoff_max = 200ms;
  return o;
}

std::string describe(const WatcherStats& s) {
  return "lists=" + std::to_string(s.lists) + " events=" + std::to_string(s.watch_events) +
         " errors=" + std::to_string(s.errors) + " gone=" + std::to_string(s.relists_gone) +
         " pods=" + std::to_string(s.pods) + " namespaces=" + std::to_string(s.namespaces) +
         " synced=" + std::to_string(s.synced) + " last_error='" + s.last_error + "'";
}

bool synced_with(const PodWatcher& w, std::size_t pods, std::size_t namespaces) {
  const auto s = w.stats();
  return s.synced && s.pods == pods && s.namespaces == namespaces;
}

}  // namespace

// Polls for the condition; on failure shows what the watcher went through.
#define WAIT_FOR(...)                             \
  do {                                            \
    const bool reached = eventually(__VA_ARGS__); \
    INFO(describe(watcher.stats()));              \
    REQUIRE(reached);                             \
  } while (false)

TEST_CASE("list: this node's pods with names, labels, owners and container ids", "[k8s][server]") {
  FakeApiServer server(kPods, kNamespaces, {"--require-token", "s3cret"});
  const auto token = server.dir() / "token";
  write_file(token, "s3cret\n");
  PodWatcher watcher(options_for(server, token));
  watcher.start();
  WAIT_FOR([&] { return synced_with(watcher, 2, 2); });

  const auto web = watcher.by_uid("uid-web");
  REQUIRE(web);
  CHECK(web->name == "web-7d9f8-x2k4q");
  CHECK(web->namespace_name == "shop");
  CHECK(web->labels == std::map<std::string, std::string>{{"app", "web"}, {"pod-template-hash", "7d9f8"}});
  CHECK(web->annotations == std::map<std::string, std::string>{{"note", "kept"}});
  CHECK(web->namespace_labels == std::map<std::string, std::string>{{"team", "payments"}});
  CHECK(web->owner_kind == "Deployment");
  CHECK(web->owner_name == "web");
  REQUIRE(web->containers.size() == 3);
  CHECK(web->containers[0].name == "init");
  CHECK(web->containers[0].id == "1111");
  CHECK(web->containers[1].name == "app");
  CHECK(web->containers[1].id == "aaaa");
  CHECK(web->containers[2].name == "sidecar");
  CHECK(web->containers[2].id == "bbbb");
  CHECK(web->container_name("aaaa") == "app");
  CHECK(web->container_name("cri-o://bbbb") == "sidecar");
  CHECK(web->container_name("cccc").empty());
  CHECK(web->container_name("").empty());

  const auto backup = watcher.by_uid("uid-backup");
  REQUIRE(backup);
  CHECK(backup->owner_kind == "CronJob");
  CHECK(backup->owner_name == "backup");
  CHECK(backup->namespace_labels == std::map<std::string, std::string>{{"team", "sre"}});
  REQUIRE(backup->containers.size() == 1);
  CHECK(backup->containers[0].name == "backup");
  CHECK(backup->containers[0].id.empty());

  CHECK_FALSE(watcher.by_uid("uid-elsewhere"));  // another node's pod
  const auto s = watcher.stats();
  CHECK(s.lists == 2);  // pods + namespaces
  CHECK(s.errors == 0);
  CHECK(s.relists_gone == 0);
  CHECK(s.dropped == 0);
}

TEST_CASE("watch: ADDED, MODIFIED and DELETED are applied", "[k8s][server]") {
  FakeApiServer server(kPods, kNamespaces);
  PodWatcher watcher(options_for(server));
  watcher.start();
  WAIT_FOR([&] { return synced_with(watcher, 2, 2); });

  server.control(event("ADDED", pod_json("new", "uid-new", "node-a", R"({"v": "1"})")));
  server.control(event("ADDED", pod_json("far", "uid-far", "node-b")));  // filtered by the server
  WAIT_FOR([&] { return watcher.by_uid("uid-new").has_value(); });
  server.control(event("MODIFIED", pod_json("new", "uid-new", "node-a", R"({"v": "2"})")));
  WAIT_FOR([&] {
    const auto p = watcher.by_uid("uid-new");
    return p && p->labels.at("v") == "2";
  });
  server.control(event("DELETED", pod_json("web-7d9f8-x2k4q", "uid-web", "node-a")));
  WAIT_FOR([&] { return !watcher.by_uid("uid-web").has_value(); });
  server.control(R"({"resource": "namespaces", "type": "MODIFIED",
                     "object": {"metadata": {"name": "shop", "labels": {"team": "checkout"}}}})");
  WAIT_FOR([&] {
    const auto p = watcher.by_uid("uid-new");
    return p && p->namespace_labels == std::map<std::string, std::string>{{"team", "checkout"}};
  });

  const auto s = watcher.stats();
  CHECK(s.watch_events == 4);
  CHECK(s.pods == 2);
  CHECK(s.lists == 2);
  CHECK(s.errors == 0);
  CHECK_FALSE(watcher.by_uid("uid-far"));
}

TEST_CASE("watch: 410 Gone is answered by a relist", "[k8s][server]") {
  FakeApiServer server(kPods, kNamespaces);
  PodWatcher watcher(options_for(server));
  watcher.start();
  WAIT_FOR([&] { return synced_with(watcher, 2, 2); });
  // A change the watch never reports: only a relist can find it.
  server.control(event("ADDED", pod_json("hidden", "uid-hidden", "node-a"), /*silent=*/true));
  server.control(R"({"resource": "pods", "type": "ERROR", "object": {"kind": "Status", "code": 410,
                     "reason": "Expired"}})");
  WAIT_FOR([&] { return watcher.by_uid("uid-hidden").has_value(); });
  auto s = watcher.stats();
  CHECK(s.relists_gone == 1);
  CHECK(s.lists == 3);
  CHECK(s.errors == 0);
  CHECK(s.pods == 3);

  // The watch after the relist works.
  server.control(event("ADDED", pod_json("after", "uid-after", "node-a")));
  WAIT_FOR([&] { return watcher.by_uid("uid-after").has_value(); });
}

TEST_CASE("watch: a server-side end resumes from the last resourceVersion", "[k8s][server]") {
  FakeApiServer server(kPods, kNamespaces);
  PodWatcher watcher(options_for(server));
  watcher.start();
  WAIT_FOR([&] { return synced_with(watcher, 2, 2); });
  server.control(event("ADDED", pod_json("one", "uid-one", "node-a")));
  WAIT_FOR([&] { return watcher.by_uid("uid-one").has_value(); });
  server.control(R"({"control": "close-watches"})");
  server.control(event("ADDED", pod_json("two", "uid-two", "node-a")));
  WAIT_FOR([&] { return watcher.by_uid("uid-two").has_value(); });
  const auto s = watcher.stats();
  CHECK(s.lists == 2);  // resumed, not relisted
  CHECK(s.relists_gone == 0);
  CHECK(s.errors == 0);
}

TEST_CASE("an over-long watch event is an error answered by a relist", "[k8s][server]") {
  FakeApiServer server(kPods, kNamespaces);
  auto options = options_for(server);
  options.max_event_bytes = 1024;
  PodWatcher watcher(options);
  watcher.start();
  WAIT_FOR([&] { return synced_with(watcher, 2, 2); });
  const std::string big = R"({"big": ")" + std::string(2000, 'x') + R"("})";
  server.control(event("ADDED", pod_json("big", "uid-big", "node-a", "{}", big)));
  // The relist (no line limit) brings the pod; its 2000-byte annotation is within the 4 KiB value cap.
  WAIT_FOR([&] { return watcher.by_uid("uid-big").has_value(); });
  const auto s = watcher.stats();
  CHECK(s.errors == 1);
  CHECK(s.lists == 3);
  CHECK(s.last_error == "watch: an event is longer than 1024 bytes");
  CHECK(watcher.by_uid("uid-big")->annotations.at("big").size() == 2000);
}

TEST_CASE("max_pods bounds what is kept", "[k8s][server]") {
  FakeApiServer server(kPods, kNamespaces);
  auto options = options_for(server);
  options.max_pods = 1;
  PodWatcher watcher(options);
  watcher.start();
  WAIT_FOR([&] { return synced_with(watcher, 1, 2); });
  server.control(event("ADDED", pod_json("more", "uid-more", "node-a")));
  WAIT_FOR([&] { return watcher.stats().dropped == 2; });
  CHECK(watcher.stats().pods == 1);
  CHECK_FALSE(watcher.by_uid("uid-more"));
}

TEST_CASE("a wrong token: errors counted, nothing known", "[k8s][server]") {
  FakeApiServer server(kPods, kNamespaces, {"--require-token", "s3cret"});
  const auto token = server.dir() / "token";
  write_file(token, "wrong");
  PodWatcher watcher(options_for(server, token));
  watcher.start();
  WAIT_FOR([&] { return watcher.stats().errors >= 4; });
  auto s = watcher.stats();
  CHECK_FALSE(s.synced);
  CHECK(s.pods == 0);
  CHECK(s.lists == 0);
  CHECK(s.last_error == "list: HTTP status 401");
  CHECK_FALSE(watcher.by_uid("uid-web"));

  // The token is re-read at each connect: fixing the file is enough.
  write_file(token, "s3cret");
  WAIT_FOR([&] { return synced_with(watcher, 2, 2); });
}

TEST_CASE("the server certificate must match the host name", "[k8s][server]") {
  FakeApiServer server(kPods, kNamespaces);
  auto options = options_for(server);
  options.api_server = "https://localhost:" + std::to_string(server.port());  // not in the certificate
  PodWatcher watcher(options);
  watcher.start();
  WAIT_FOR([&] { return watcher.stats().errors >= 2; });
  const auto s = watcher.stats();
  CHECK_FALSE(s.synced);
  CHECK(s.pods == 0);
  CHECK(s.last_error.find("TLS handshake") != std::string::npos);
}

TEST_CASE("server down: metadata kept; back with compacted history: resynced", "[k8s][server]") {
  FakeApiServer server(kPods, kNamespaces);
  PodWatcher watcher(options_for(server));
  watcher.start();
  WAIT_FOR([&] { return synced_with(watcher, 2, 2); });

  server.kill();
  WAIT_FOR([&] { return watcher.stats().errors >= 3; });
  CHECK(watcher.stats().pods == 2);
  REQUIRE(watcher.by_uid("uid-web"));
  CHECK(watcher.by_uid("uid-web")->owner_name == "web");

  // Back on the same port with other pods and a history that starts after what the watcher saw.
  server.set_pods("[" + pod_json("reborn", "uid-reborn", "node-a") + "]");
  server.start({"--start-rv", "5000", "--min-rv", "5000"});
  WAIT_FOR([&] { return watcher.by_uid("uid-reborn").has_value(); });
  WAIT_FOR([&] { return watcher.stats().pods == 1; });
  CHECK_FALSE(watcher.by_uid("uid-web"));
  CHECK(watcher.stats().relists_gone >= 1);
}

TEST_CASE("stop() returns promptly while a watch is open", "[k8s][server]") {
  FakeApiServer server(kPods, kNamespaces);
  PodWatcher watcher(options_for(server));
  watcher.start();
  WAIT_FOR([&] { return synced_with(watcher, 2, 2); });
  std::this_thread::sleep_for(200ms);  // the watches are open and idle
  const auto before = std::chrono::steady_clock::now();
  watcher.stop();
  CHECK(std::chrono::steady_clock::now() - before < 1s);
  CHECK(watcher.stats().pods == 2);  // kept after stop
}

TEST_CASE("stop() returns promptly while backing off from an unreachable server", "[k8s]") {
  WatcherOptions options;
  options.api_server = "https://127.0.0.1:1";
  options.backoff_min = 10s;
  options.backoff_max = 10s;
  PodWatcher watcher(options);
  watcher.start();
  WAIT_FOR([&] { return watcher.stats().errors >= 2; });
  const auto before = std::chrono::steady_clock::now();
  watcher.stop();
  CHECK(std::chrono::steady_clock::now() - before < 1s);
  CHECK_FALSE(watcher.stats().synced);
}

TEST_CASE("workload_owner resolves Deployments and CronJobs by name", "[k8s]") {
  const std::map<std::string, std::string> hash{{"pod-template-hash", "5c8d7f"}};
  CHECK(workload_owner("ReplicaSet", "api-5c8d7f", hash) == Owner{"Deployment", "api"});
  CHECK(workload_owner("ReplicaSet", "api-v2-5c8d7f", hash) == Owner{"Deployment", "api-v2"});
  CHECK(workload_owner("ReplicaSet", "api-99", hash) == Owner{"ReplicaSet", "api-99"});
  CHECK(workload_owner("ReplicaSet", "api-5c8d7f", {}) == Owner{"ReplicaSet", "api-5c8d7f"});
  CHECK(workload_owner("ReplicaSet", "-5c8d7f", hash) == Owner{"ReplicaSet", "-5c8d7f"});
  CHECK(workload_owner("Job", "nightly-28934520", {}) == Owner{"CronJob", "nightly"});
  CHECK(workload_owner("Job", "migrate-2", {}) == Owner{"Job", "migrate-2"});
  CHECK(workload_owner("Job", "-28934520", {}) == Owner{"Job", "-28934520"});
  CHECK(workload_owner("Job", "x-2893452a", {}) == Owner{"Job", "x-2893452a"});
  CHECK(workload_owner("StatefulSet", "db", {}) == Owner{"StatefulSet", "db"});
  CHECK(strip_runtime_scheme("containerd://abc") == "abc");
  CHECK(strip_runtime_scheme("abc") == "abc");
}

TEST_CASE("parse_api_server and url_encode", "[k8s]") {
  auto ep = parse_api_server("https://10.96.0.1:443");
  CHECK(ep.host == "10.96.0.1");
  CHECK(ep.port == "443");
  CHECK(ep.host_is_ip);
  CHECK(ep.host_header == "10.96.0.1:443");
  CHECK(ep.base_path.empty());
  ep = parse_api_server("https://[fd00::1]:6443/prefix/");
  CHECK(ep.host == "fd00::1");
  CHECK(ep.port == "6443");
  CHECK(ep.host_is_ip);
  CHECK(ep.host_header == "[fd00::1]:6443");
  CHECK(ep.base_path == "/prefix");
  ep = parse_api_server("https://kube.example.com");
  CHECK(ep.host == "kube.example.com");
  CHECK(ep.port == "443");
  CHECK_FALSE(ep.host_is_ip);
  CHECK_THROWS_AS(parse_api_server("http://10.0.0.1"), std::invalid_argument);
  CHECK_THROWS_AS(parse_api_server("https://"), std::invalid_argument);
  CHECK_THROWS_AS(parse_api_server("https://h:44x"), std::invalid_argument);
  CHECK_THROWS_AS(parse_api_server("https://[::1"), std::invalid_argument);
  CHECK_THROWS_AS(PodWatcher(WatcherOptions{}), std::invalid_argument);
  CHECK(url_encode("spec.nodeName=node-a_1~") == "spec.nodeName%3Dnode-a_1~");
  CHECK(url_encode("a b/é") == "a%20b%2F%C3%A9");
}

TEST_CASE("kubeconfig with file paths", "[k8s][kubeconfig]") {
  const auto dir = make_temp_dir();
  write_file(dir / "kubeconfig", R"(apiVersion: v1
kind: Config
current-context: prod
contexts:
- name: dev
  context: {cluster: devc, user: devu}
- name: prod
  context: {cluster: prodc, user: produ}
clusters:
- name: devc
  cluster: {server: "https://dev:6443"}
- name: prodc
  cluster:
    server: https://10.0.0.1:6443
    certificate-authority: certs/ca.crt
users:
- name: devu
  user: {token: dev-token}
- name: produ
  user:
    tokenFile: /var/run/token
    client-certificate: /etc/k/client.crt
    client-key: keys/client.key
)");
  const auto o = kubeconfig_options((dir / "kubeconfig").string(), "node-7");
  CHECK(o.api_server == "https://10.0.0.1:6443");
  CHECK(o.ca_file == (dir / "certs/ca.crt").string());
  CHECK(o.token_file == "/var/run/token");
  CHECK(o.client_cert_file == "/etc/k/client.crt");
  CHECK(o.client_key_file == (dir / "keys/client.key").string());
  CHECK(o.node_name == "node-7");
  fs::remove_all(dir);
}

TEST_CASE("kubeconfig with inline data and token", "[k8s][kubeconfig]") {
  const auto dir = make_temp_dir();
  // base64 of "CA PEM", "CERT PEM", "KEY PEM"
  write_file(dir / "kubeconfig", R"(current-context: c
contexts: [{name: c, context: {cluster: k, user: u}}]
clusters: [{name: k, cluster: {server: "https://[fd00::1]:443", certificate-authority-data: Q0EgUEVN}}]
users:
- name: u
  user:
    token: abc.def
    client-certificate-data: Q0VSVCBQRU0=
    client-key-data: "S0VZ
      IFBFTQ=="
)");
  const auto o = kubeconfig_options((dir / "kubeconfig").string(), "n");
  CHECK(o.api_server == "https://[fd00::1]:443");
  CHECK(read_file(o.ca_file) == "CA PEM");
  CHECK(read_file(o.client_cert_file) == "CERT PEM");
  CHECK(read_file(o.client_key_file) == "KEY PEM");
  CHECK(read_file(o.token_file) == "abc.def");
  struct stat st {};
  REQUIRE(::stat(o.token_file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  for (const auto& f : {o.ca_file, o.client_cert_file, o.client_key_file, o.token_file}) fs::remove(f);
  fs::remove_all(dir);
}

TEST_CASE("kubeconfig errors name the file and the problem", "[k8s][kubeconfig]") {
  const auto dir = make_temp_dir();
  const auto path = (dir / "kc").string();
  const auto fails_with = [&](const std::string& content, const std::string& expected) {
    write_file(path, content);
    try {
      kubeconfig_options(path, "n");
    } catch (const std::runtime_error& e) {
      INFO(e.what());
      return std::string(e.what()) == "kubeconfig '" + path + "': " + expected;
    }
    return false;
  };
  const std::string base = "contexts: [{name: c, context: {cluster: k, user: u}}]\n";
  CHECK(fails_with("clusters: []\n", "no current-context"));
  CHECK(fails_with("- a\n- b\n", "not a kubeconfig (expected a YAML map)"));
  CHECK(fails_with("current-context: x\n" + base, "no context named 'x' in contexts"));
  CHECK(fails_with("current-context: c\n" + base, "no cluster named 'k' in clusters"));
  CHECK(fails_with("current-context: c\n" + base + "clusters: [{name: k, cluster: {server: 'http://a'}}]\n",
                   "cluster 'k' has no https:// server"));
  CHECK(fails_with(
      "current-context: c\n" + base +
          "clusters: [{name: k, cluster: {server: 'https://a', certificate-authority-data: '@@@'}}]\n",
      "certificate-authority-data is not valid base64"));
  const std::string cluster = "clusters: [{name: k, cluster: {server: 'https://a'}}]\n";
  CHECK(fails_with("current-context: c\n" + base + cluster + "users: []\n", "no user named 'u' in users"));
  CHECK(fails_with(
      "current-context: c\n" + base + cluster + "users: [{name: u, user: {client-certificate: /c}}]\n",
      "user 'u' has a client certificate without a key or the reverse"));
  CHECK(
      fails_with("current-context: c\n" + base + cluster + "users: [{name: u, user: {exec: {command: x}}}]\n",
                 "user 'u' uses exec / auth-provider credentials (not supported)"));
  CHECK(fails_with("current-context: [\n",
                   "not valid YAML: yaml-cpp: error at line 2, column 1: end of sequence flow not found"));
  CHECK_THROWS_WITH(kubeconfig_options((dir / "absent").string(), "n"),
                    "kubeconfig '" + (dir / "absent").string() + "': cannot be read");
  fs::remove_all(dir);
}

TEST_CASE("a kubeconfig with inline CA data and token reaches the fake server", "[k8s][kubeconfig][server]") {
  FakeApiServer server(kPods, kNamespaces, {"--require-token", "kc-token"});
  // The CA as certificate-authority-data (base64 of the PEM text) and an inline token.
  const auto ca = read_file(cert_dir() / "ca.pem");
  static constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string b64;
  for (std::size_t i = 0; i < ca.size(); i += 3) {
    const auto byte = [&](std::size_t k) { return k < ca.size() ? static_cast<unsigned char>(ca[k]) : 0u; };
    const unsigned v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    b64 += kB64[(v >> 18) & 63];
    b64 += kB64[(v >> 12) & 63];
    b64 += i + 1 < ca.size() ? kB64[(v >> 6) & 63] : '=';
    b64 += i + 2 < ca.size() ? kB64[v & 63] : '=';
  }
  const auto path = server.dir() / "kubeconfig";
  write_file(path,
             "current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
             "clusters: [{name: k, cluster: {server: '" +
                 server.url() + "', certificate-authority-data: " + b64 +
                 "}}]\nusers: [{name: u, user: {token: kc-token}}]\n");
  auto options = kubeconfig_options(path.string(), "node-a");
  options.backoff_min = 50ms;
  PodWatcher watcher(options);
  watcher.start();
  WAIT_FOR([&] { return synced_with(watcher, 2, 2); });
  CHECK(watcher.stats().errors == 0);
  watcher.stop();
  fs::remove(options.ca_file);
  fs::remove(options.token_file);
}

TEST_CASE("in_cluster_options from the environment and the service-account directory", "[k8s]") {
  const auto sa = make_temp_dir();
  ::unsetenv("KUBERNETES_SERVICE_HOST");
  ::unsetenv("KUBERNETES_SERVICE_PORT");
  CHECK_FALSE(in_cluster_options("n", sa.string()));

  ::setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
  ::setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  CHECK_FALSE(in_cluster_options("n", sa.string()));  // no token / CA files yet
  write_file(sa / "token", "t");
  write_file(sa / "ca.crt", "c");
  auto o = in_cluster_options("node-9", sa.string());
  REQUIRE(o);
  CHECK(o->api_server == "https://10.96.0.1:443");
  CHECK(o->token_file == (sa / "token").string());
  CHECK(o->ca_file == (sa / "ca.crt").string());
  CHECK(o->node_name == "node-9");
  CHECK(o->client_cert_file.empty());

  ::setenv("KUBERNETES_SERVICE_HOST", "fd00:10:96::1", 1);
  o = in_cluster_options("node-9", sa.string());
  REQUIRE(o);
  CHECK(o->api_server == "https://[fd00:10:96::1]:443");
  ::unsetenv("KUBERNETES_SERVICE_HOST");
  ::unsetenv("KUBERNETES_SERVICE_PORT");
  fs::remove_all(sa);
}
