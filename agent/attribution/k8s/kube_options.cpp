// in_cluster_options() and kubeconfig_options(): where the API server is and how to authenticate.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "attribution/k8s/pod_watcher.h"
#include "common/base64.h"

namespace shadowmeter::attribution::k8s {
namespace {

namespace fs = std::filesystem;

class KubeconfigError : public std::runtime_error {
 public:
  KubeconfigError(const std::string& path, const std::string& what)
      : std::runtime_error("kubeconfig '" + path + "': " + what) {}
};

// Standard base64 (RFC 4648) with whitespace ignored and padding required; nullopt on any other
// character or bad padding.
std::optional<std::string> base64_decode(std::string_view text) {
  std::string symbols;
  for (const char c : text)
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') symbols += c;
  std::string out;
  if (symbols.empty() || symbols.size() % 4 != 0 || !shadowmeter::base64_decode(symbols, out, symbols.size()))
    return std::nullopt;
  return out;
}

// Writes `content` to a new file only the current user can read; returns its path.
std::string write_private_temp(const std::string& config_path, const std::string& content) {
  const char* tmpdir = std::getenv("TMPDIR");
  std::string pattern =
      std::string(tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp") + "/shadowmeter-kube-XXXXXX";
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  const int fd = ::mkstemp(name.data());  // created 0600
  if (fd < 0) throw KubeconfigError(config_path, "cannot create a temporary file in " + pattern);
  std::size_t done = 0;
  while (done < content.size()) {
    const auto n = ::write(fd, content.data() + done, content.size() - done);
    if (n <= 0) {
      ::close(fd);
      ::unlink(name.data());
      throw KubeconfigError(config_path, "cannot write a temporary file");
    }
    done += static_cast<std::size_t>(n);
  }
  ::fchmod(fd, S_IRUSR | S_IWUSR);
  ::close(fd);
  return std::string(name.data());
}

std::string scalar(const YAML::Node& map, const char* key) {
  const auto value = map[key];
  return value && value.IsScalar() ? value.as<std::string>() : std::string();
}

// The `inner` map of the entry of `list` (contexts, clusters, users) named `name`.
YAML::Node named(const std::string& path, const YAML::Node& root, const char* list, const char* inner,
                 const std::string& name) {
  const auto entries = root[list];
  if (entries && entries.IsSequence()) {
    for (const auto& entry : entries) {
      if (entry.IsMap() && scalar(entry, "name") == name) {
        const auto value = entry[inner];
        if (value && value.IsMap()) return value;
        return YAML::Node(YAML::NodeType::Map);
      }
    }
  }
  throw KubeconfigError(path, std::string("no ") + inner + " named '" + name + "' in " + list);
}

// A file named in the kubeconfig (relative to its directory), or the decoded *-data value in a
// private temp file; "" when neither is set.
std::string file_or_data(const std::string& path, const YAML::Node& map, const std::string& key) {
  const auto data = scalar(map, (key + "-data").c_str());
  if (!data.empty()) {
    const auto decoded = base64_decode(data);
    if (!decoded || decoded->empty()) throw KubeconfigError(path, key + "-data is not valid base64");
    return write_private_temp(path, *decoded);
  }
  const auto file = scalar(map, key.c_str());
  if (file.empty()) return {};
  const fs::path p(file);
  return p.is_absolute() ? file : (fs::path(path).parent_path() / p).lexically_normal().string();
}

}  // namespace

std::optional<WatcherOptions> in_cluster_options(const std::string& node_name, const std::string& sa_dir) {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (host == nullptr || *host == '\0' || port == nullptr || *port == '\0') return std::nullopt;
  WatcherOptions options;
  const std::string h(host);
  options.api_server = "https://" + (h.find(':') != std::string::npos ? "[" + h + "]" : h) + ":" + port;
  options.token_file = (fs::path(sa_dir) / "token").string();
  options.ca_file = (fs::path(sa_dir) / "ca.crt").string();
  std::error_code ec;
  if (!fs::exists(options.token_file, ec) || !fs::exists(options.ca_file, ec)) return std::nullopt;
  options.node_name = node_name;
  return options;
}

WatcherOptions kubeconfig_options(const std::string& path, const std::string& node_name) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    throw KubeconfigError(path, "cannot be read");
  } catch (const YAML::Exception& e) {
    throw KubeconfigError(path, std::string("not valid YAML: ") + e.what());
  }
  if (!root.IsMap()) throw KubeconfigError(path, "not a kubeconfig (expected a YAML map)");
  try {
    const auto current = scalar(root, "current-context");
    if (current.empty()) throw KubeconfigError(path, "no current-context");
    const auto context = named(path, root, "contexts", "context", current);
    const auto cluster_name = scalar(context, "cluster");
    if (cluster_name.empty()) throw KubeconfigError(path, "context '" + current + "' names no cluster");
    const auto cluster = named(path, root, "clusters", "cluster", cluster_name);

    WatcherOptions options;
    options.node_name = node_name;
    options.api_server = scalar(cluster, "server");
    if (options.api_server.rfind("https://", 0) != 0)
      throw KubeconfigError(path, "cluster '" + cluster_name + "' has no https:// server");
    options.ca_file = file_or_data(path, cluster, "certificate-authority");

    const auto user_name = scalar(context, "user");
    if (!user_name.empty()) {
      const auto user = named(path, root, "users", "user", user_name);
      if (user["exec"] || user["auth-provider"])
        throw KubeconfigError(
            path, "user '" + user_name + "' uses exec / auth-provider credentials (not supported)");
      const auto token = scalar(user, "token");
      if (!token.empty()) {
        options.token_file = write_private_temp(path, token);
      } else {
        options.token_file = file_or_data(path, user, "tokenFile");
      }
      options.client_cert_file = file_or_data(path, user, "client-certificate");
      options.client_key_file = file_or_data(path, user, "client-key");
      if (options.client_cert_file.empty() != options.client_key_file.empty())
        throw KubeconfigError(
            path, "user '" + user_name + "' has a client certificate without a key or the reverse");
    }
    return options;
  } catch (const YAML::Exception& e) {
    throw KubeconfigError(path, std::string("unexpected structure: ") + e.what());
  }
}

}  // namespace shadowmeter::attribution::k8s
