// Kubernetes pod metadata for the pods of this node: a list + watch on the API server
// (fieldSelector=spec.nodeName=<node>) and on namespaces (for their labels), over TLS with
// Boost.Beast + OpenSSL, authenticated with the in-cluster service-account token (re-read as it
// rotates) or a kubeconfig. Runs on its own thread; lookups are thread-safe and never block on the
// network. When the API server is unreachable it keeps what it knew and retries with backoff.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shadowmeter::attribution::k8s {

struct ContainerRef {
  std::string name;  // spec container name
  std::string id;    // container id without the "containerd://" style prefix ("" until running)
};

struct PodMeta {
  std::string uid;
  std::string name;
  std::string namespace_name;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::map<std::string, std::string> namespace_labels;
  std::vector<ContainerRef> containers;  // regular, init and ephemeral containers
  std::string owner_kind;  // the workload: "Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job", "ReplicaSet", "" ...
  std::string owner_name;
  // The container's name for a container id (as found in the cgroup), "" when unknown.
  std::string container_name(std::string_view container_id) const;
};

struct WatcherOptions {
  std::string api_server;        // "https://10.96.0.1:443"
  std::string token_file;        // bearer token, re-read on every (re)connect; "" = none
  std::string ca_file;           // PEM bundle to verify the API server
  std::string client_cert_file;  // optional client certificate (kubeconfig)
  std::string client_key_file;
  std::string node_name;         // only pods scheduled here
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds backoff_min{500};
  std::chrono::milliseconds backoff_max{30000};
  std::size_t max_pods = 4096;   // bound on what is kept (a node runs at most a few hundred pods)
  std::size_t max_namespaces = 4096;
  std::size_t max_list_bytes = 64u << 20;   // a longer list answer is an error (nothing replaced)
  std::size_t max_event_bytes = 4u << 20;   // a longer watch line is an error, answered by a relist
  std::chrono::milliseconds list_read_timeout{60000};  // per read of a list body
  unsigned watch_timeout_seconds = 300;     // asked of the server; reads time out 60 s after that
};

// In-cluster settings: KUBERNETES_SERVICE_HOST/PORT and /var/run/secrets/kubernetes.io/serviceaccount
// (the directory can be overridden for tests); nullopt when not running in a cluster.
std::optional<WatcherOptions> in_cluster_options(const std::string& node_name,
                                                 const std::string& sa_dir = "/var/run/secrets/kubernetes.io/serviceaccount");
// From a kubeconfig file (current-context: server, certificate-authority(-data), token(-file),
// client-certificate(-data)/client-key(-data); *-data values are written to private temp files).
// Throws std::runtime_error naming the file and the problem.
WatcherOptions kubeconfig_options(const std::string& path, const std::string& node_name);

struct WatcherStats {
  std::uint64_t lists = 0;          // full (re)lists done
  std::uint64_t watch_events = 0;   // ADDED/MODIFIED/DELETED applied
  std::uint64_t errors = 0;         // connection, TLS, HTTP and parse errors
  std::uint64_t relists_gone = 0;   // 410 Gone (resourceVersion too old) answered by a relist
  std::uint64_t dropped = 0;        // pods / namespaces not kept because of max_pods / max_namespaces
  std::size_t pods = 0;
  std::size_t namespaces = 0;
  bool synced = false;              // a pod list has completed at least once
  std::string last_error;           // the latest error, for logs (never holds the token)
};

class PodWatcher {
 public:
  // Throws std::invalid_argument when api_server is not "https://HOST[:PORT][/PREFIX]".
  explicit PodWatcher(WatcherOptions options);
  ~PodWatcher();  // stops the thread
  PodWatcher(const PodWatcher&) = delete;
  PodWatcher& operator=(const PodWatcher&) = delete;

  void start();
  void stop();
  // A copy of what is known about the pod with this UID.
  std::optional<PodMeta> by_uid(std::string_view pod_uid) const;
  WatcherStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace shadowmeter::attribution::k8s
