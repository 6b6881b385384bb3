#include "attribution/k8s/pod_watcher.h"

#include <algorithm>
#include <exception>
#include <mutex>
#include <thread>
#include <utility>

#include "attribution/k8s/api_client.h"
#include "attribution/k8s/owner.h"
#include "attribution/k8s/pod_json.h"

namespace shadowmeter::attribution::k8s {

std::string PodMeta::container_name(std::string_view container_id) const {
  const auto id = strip_runtime_scheme(container_id);
  if (id.empty()) return {};
  for (const auto& c : containers)
    if (c.id == id) return c.name;
  return {};
}

namespace {

using nlohmann::json;

enum class Resource { kPods, kNamespaces };

enum class Outcome {
  kListed,
  kWatchEnded,  // the server ended the watch: resume from the last resourceVersion
  kGone,        // 410: the resourceVersion is too old, relist
  kFailed,      // connection / TLS / HTTP error: retry after a backoff, keep what is known
  kCorrupt,     // bad data: relist after a backoff
  kAborted,
};

}  // namespace

struct PodWatcher::Impl {
  explicit Impl(WatcherOptions opts)
      : options(std::move(opts)), endpoint(parse_api_server(options.api_server)) {}

  WatcherOptions options;
  ApiEndpoint endpoint;

  mutable std::mutex mutex;
  std::map<std::string, PodMeta, std::less<>> pods;
  std::map<std::string, std::map<std::string, std::string>, std::less<>> namespaces;
  WatcherStats counters;

  std::unique_ptr<ApiConnection> pod_connection;
  std::unique_ptr<ApiConnection> namespace_connection;
  std::thread pod_thread;
  std::thread namespace_thread;

  void run(Resource resource, ApiConnection& connection);
  Outcome list(Resource resource, ApiConnection& connection, std::string& resource_version);
  Outcome watch(Resource resource, ApiConnection& connection, std::string& resource_version,
                bool& got_events);
  std::string target(Resource resource, const std::string* watch_from) const;
  void apply(Resource resource, std::string_view type, const json& object);
  void record_error(std::string what) {
    std::lock_guard lock(mutex);
    ++counters.errors;
    counters.last_error = std::move(what);
  }
};

std::string PodWatcher::Impl::target(Resource resource, const std::string* watch_from) const {
  std::string t = endpoint.base_path + (resource == Resource::kPods ? "/api/v1/pods" : "/api/v1/namespaces");
  char sep = '?';
  const auto add = [&](std::string_view key, const std::string& value) {
    t += sep;
    t += key;
    t += '=';
    t += url_encode(value);
    sep = '&';
  };
  if (resource == Resource::kPods && !options.node_name.empty())
    add("fieldSelector", "spec.nodeName=" + options.node_name);
  if (watch_from != nullptr) {
    add("watch", "1");
    add("resourceVersion", *watch_from);
    add("allowWatchBookmarks", "true");
    add("timeoutSeconds", std::to_string(options.watch_timeout_seconds));
  }
  return t;
}

Outcome PodWatcher::Impl::list(Resource resource, ApiConnection& connection, std::string& resource_version) {
  std::string body;
  bool too_big = false;
  const auto sink = [&](std::string_view piece) {
    if (body.size() + piece.size() > options.max_list_bytes) {
      too_big = true;
      return false;
    }
    body.append(piece);
    return true;
  };
  const GetLimits limits{options.connect_timeout, options.list_read_timeout};
  const auto got = connection.get(target(resource, nullptr), sink, limits);
  if (got.kind == GetResult::Kind::kAborted) return Outcome::kAborted;
  if (too_big) {
    record_error("list answer larger than " + std::to_string(options.max_list_bytes) + " bytes");
    return Outcome::kFailed;
  }
  if (got.kind != GetResult::Kind::kOk) {
    record_error("list: " + got.error);
    return Outcome::kFailed;
  }
  const json root = parse_api_json(body);
  body = std::string();
  const json* items = nullptr;
  if (root.is_object()) {
    const auto it = root.find("items");
    if (it != root.end() && (it->is_array() || it->is_null())) items = &*it;
  }
  if (items == nullptr) {
    record_error("list: the answer is not a Kubernetes list");
    return Outcome::kFailed;
  }
  std::string version = resource_version_of(root);
  std::uint64_t dropped = 0;
  std::lock_guard lock(mutex);
  if (resource == Resource::kPods) {
    std::map<std::string, PodMeta, std::less<>> fresh;
    if (items->is_array()) {
      for (const auto& item : *items) {
        auto pod = pod_from_json(item);
        if (!pod) continue;
        if (fresh.size() >= options.max_pods && fresh.find(pod->uid) == fresh.end()) {
          ++dropped;
          continue;
        }
        auto uid = pod->uid;
        fresh.insert_or_assign(std::move(uid), std::move(*pod));
      }
    }
    pods = std::move(fresh);
    counters.synced = true;
  } else {
    std::map<std::string, std::map<std::string, std::string>, std::less<>> fresh;
    if (items->is_array()) {
      for (const auto& item : *items) {
        auto ns = namespace_from_json(item);
        if (!ns) continue;
        if (fresh.size() >= options.max_namespaces && fresh.find(ns->name) == fresh.end()) {
          ++dropped;
          continue;
        }
        fresh.insert_or_assign(std::move(ns->name), std::move(ns->labels));
      }
    }
    namespaces = std::move(fresh);
  }
  counters.dropped += dropped;
  ++counters.lists;
  resource_version = std::move(version);
  return Outcome::kListed;
}

void PodWatcher::Impl::apply(Resource resource, std::string_view type, const json& object) {
  const bool deleted = type == "DELETED";
  std::lock_guard lock(mutex);
  if (resource == Resource::kPods) {
    auto pod = pod_from_json(object);
    if (!pod) return;
    if (deleted) {
      pods.erase(pod->uid);
    } else if (auto it = pods.find(pod->uid); it != pods.end()) {
      it->second = std::move(*pod);
    } else if (pods.size() >= options.max_pods) {
      ++counters.dropped;
      return;
    } else {
      auto uid = pod->uid;
      pods.emplace(std::move(uid), std::move(*pod));
    }
  } else {
    auto ns = namespace_from_json(object);
    if (!ns) return;
    if (deleted) {
      namespaces.erase(ns->name);
    } else if (auto it = namespaces.find(ns->name); it != namespaces.end()) {
      it->second = std::move(ns->labels);
    } else if (namespaces.size() >= options.max_namespaces) {
      ++counters.dropped;
      return;
    } else {
      namespaces.emplace(std::move(ns->name), std::move(ns->labels));
    }
  }
  ++counters.watch_events;
}

Outcome PodWatcher::Impl::watch(Resource resource, ApiConnection& connection, std::string& resource_version,
                                bool& got_events) {
  got_events = false;
  std::string line;
  bool gone = false;
  std::string problem;
  // One event per line. False ends the watch (gone or problem set).
  const auto handle_line = [&](std::string_view text) {
    while (!text.empty() && (text.back() == '\r' || text.back() == ' ')) text.remove_suffix(1);
    if (text.empty()) return true;
    const json event = parse_api_json(text);
    if (!event.is_object()) {
      problem = "watch: an event is not JSON";
      return false;
    }
    const auto type_it = event.find("type");
    const auto object_it = event.find("object");
    if (type_it == event.end() || !type_it->is_string() || object_it == event.end() ||
        !object_it->is_object()) {
      problem = "watch: an event has no type or object";
      return false;
    }
    const auto& type = type_it->get_ref<const std::string&>();
    if (type == "ADDED" || type == "MODIFIED" || type == "DELETED") {
      apply(resource, type, *object_it);
      got_events = true;
    } else if (type == "ERROR") {
      const auto code = object_it->find("code");
      if (code != object_it->end() && code->is_number_integer() && code->get<std::int64_t>() == 410) {
        gone = true;
      } else {
        problem = "watch: the server sent an ERROR event";
      }
      return false;
    } else if (type != "BOOKMARK") {
      problem = "watch: unknown event type";
      return false;
    }
    got_events = true;
    if (auto version = resource_version_of(*object_it); !version.empty())
      resource_version = std::move(version);
    return true;
  };
  const auto sink = [&](std::string_view piece) {
    while (!piece.empty()) {
      const auto newline = piece.find('\n');
      const auto part = piece.substr(0, newline);
      if (line.size() + part.size() > options.max_event_bytes) {
        problem = "watch: an event is longer than " + std::to_string(options.max_event_bytes) + " bytes";
        return false;
      }
      line.append(part);
      if (newline == std::string_view::npos) break;
      piece.remove_prefix(newline + 1);
      if (!handle_line(line)) return false;
      line.clear();
    }
    return true;
  };
  const GetLimits limits{options.connect_timeout,
                         std::chrono::seconds(options.watch_timeout_seconds) + std::chrono::seconds(60)};
  const auto got = connection.get(target(resource, &resource_version), sink, limits);
  switch (got.kind) {
    case GetResult::Kind::kAborted:
      return Outcome::kAborted;
    case GetResult::Kind::kHttpStatus:
      if (got.status == 410) return Outcome::kGone;
      record_error("watch: " + got.error);
      return Outcome::kFailed;
    case GetResult::Kind::kFailed:
      record_error("watch: " + got.error);
      return Outcome::kFailed;
    case GetResult::Kind::kStoppedByCaller:
      if (gone) return Outcome::kGone;
      record_error(problem);
      return Outcome::kCorrupt;
    case GetResult::Kind::kOk:
      if (!line.empty() && !handle_line(line)) {
        if (gone) return Outcome::kGone;
        record_error(problem);
        return Outcome::kCorrupt;
      }
      return Outcome::kWatchEnded;
  }
  return Outcome::kFailed;
}

void PodWatcher::Impl::run(Resource resource, ApiConnection& connection) {
  auto backoff = options.backoff_min;
  std::string resource_version;
  bool need_list = true;
  int gone_streak = 0;
  while (!connection.aborted()) {
    Outcome outcome = Outcome::kFailed;
    bool got_events = false;
    try {
      outcome = need_list ? list(resource, connection, resource_version)
                          : watch(resource, connection, resource_version, got_events);
    } catch (const std::exception& e) {
      record_error(std::string("watcher: ") + e.what());
    }
    bool wait = false;
    switch (outcome) {
      case Outcome::kAborted:
        return;
      case Outcome::kListed:
        need_list = false;
        backoff = options.backoff_min;
        break;
      case Outcome::kWatchEnded:
        // A watch that ends at once with nothing in it would otherwise be reopened in a tight loop.
        wait = !got_events;
        if (got_events) {
          backoff = options.backoff_min;
          gone_streak = 0;
        }
        break;
      case Outcome::kGone: {
        std::lock_guard lock(mutex);
        ++counters.relists_gone;
      }
        need_list = true;
        wait = ++gone_streak > 1;
        break;
      case Outcome::kCorrupt:
        need_list = true;
        wait = true;
        break;
      case Outcome::kFailed:
        wait = true;
        break;
    }
    if (wait) {
      if (!connection.sleep(backoff)) return;
      backoff = std::min(backoff * 2, options.backoff_max);
    }
  }
}

PodWatcher::PodWatcher(WatcherOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

PodWatcher::~PodWatcher() { stop(); }

void PodWatcher::start() {
  if (impl_->pod_thread.joinable()) return;
  impl_->pod_connection = std::make_unique<ApiConnection>(impl_->options, impl_->endpoint);
  impl_->namespace_connection = std::make_unique<ApiConnection>(impl_->options, impl_->endpoint);
  impl_->pod_thread =
      std::thread([impl = impl_.get()] { impl->run(Resource::kPods, *impl->pod_connection); });
  impl_->namespace_thread =
      std::thread([impl = impl_.get()] { impl->run(Resource::kNamespaces, *impl->namespace_connection); });
}

void PodWatcher::stop() {
  if (!impl_->pod_thread.joinable()) return;
  impl_->pod_connection->abort();
  impl_->namespace_connection->abort();
  impl_->pod_thread.join();
  impl_->namespace_thread.join();
}

std::optional<PodMeta> PodWatcher::by_uid(std::string_view pod_uid) const {
  std::lock_guard lock(impl_->mutex);
  const auto it = impl_->pods.find(pod_uid);
  if (it == impl_->pods.end()) return std::nullopt;
  PodMeta copy = it->second;
  if (const auto ns = impl_->namespaces.find(copy.namespace_name); ns != impl_->namespaces.end())
    copy.namespace_labels = ns->second;
  return copy;
}

WatcherStats PodWatcher::stats() const {
  std::lock_guard lock(impl_->mutex);
  WatcherStats s = impl_->counters;
  s.pods = impl_->pods.size();
  s.namespaces = impl_->namespaces.size();
  return s;
}

}  // namespace shadowmeter::attribution::k8s
