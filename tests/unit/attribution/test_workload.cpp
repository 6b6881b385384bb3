// cgroup → workload: Kubernetes (systemd and cgroupfs drivers, nested under kind/k3s), Docker,
// Podman, nerdctl, systemd units, /proc/PID/cgroup in v2/hybrid/v1 form, and malformed input.
#include <catch2/catch.hpp>
#include <string>

#include "attribution/workload.h"

using shadowmeter::attribution::parse_cgroup_path;
using shadowmeter::attribution::parse_proc_cgroup;
using shadowmeter::attribution::Workload;
using namespace std::string_literals;

namespace {

const std::string kId = "3f4b8d2a9c1e7f6b5a4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29";
const std::string kId2 = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
const std::string kUid = "8c6a3e2f-5b1d-4f7a-9e0c-2d4b6a8f1e3c";
const std::string kUidUnderscore = "8c6a3e2f_5b1d_4f7a_9e0c_2d4b6a8f1e3c";
const std::string kStaticUid = "0d9b5e3c7a1f2e4d6c8b0a9f7e5d3c1b";  // mirror pod: hash of the manifest

Workload make(std::string id, std::string runtime, std::string pod, std::string qos, std::string unit,
              std::string path) {
  return Workload{std::move(id), std::move(runtime), std::move(pod), std::move(qos), std::move(unit),
                  std::move(path)};
}

void check(const std::string& path, const Workload& want) {
  INFO(path);
  const Workload got = parse_cgroup_path(path);
  CHECK(got.container_id == want.container_id);
  CHECK(got.container_runtime == want.container_runtime);
  CHECK(got.pod_uid == want.pod_uid);
  CHECK(got.qos_class == want.qos_class);
  CHECK(got.systemd_unit == want.systemd_unit);
  CHECK(got.cgroup_path == want.cgroup_path);
}

void check_container(const std::string& path, const std::string& runtime) {
  check(path, make(kId, runtime, "", "", "", path));
}

void check_pod(const std::string& path, const std::string& id, const std::string& runtime, const std::string& uid,
               const std::string& qos) {
  check(path, make(id, runtime, uid, qos, "", path));
}

void check_unit(const std::string& path, const std::string& unit) { check(path, make("", "", "", "", unit, path)); }

}  // namespace

TEST_CASE("Kubernetes pods, systemd cgroup driver") {
  SECTION("burstable, containerd") {
    check_pod("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + kUidUnderscore +
                  ".slice/cri-containerd-" + kId + ".scope",
              kId, "containerd", kUid, "burstable");
  }
  SECTION("guaranteed has no QoS slice, CRI-O") {
    check_pod("/kubepods.slice/kubepods-pod" + kUidUnderscore + ".slice/crio-" + kId + ".scope", kId, "cri-o", kUid,
              "guaranteed");
  }
  SECTION("besteffort, docker (dockershim / cri-dockerd)") {
    check_pod("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + kUidUnderscore +
                  ".slice/docker-" + kId + ".scope",
              kId, "docker", kUid, "besteffort");
  }
  SECTION("CRI-O conmon: pod but no container, conmon is not inside the container") {
    check_pod("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + kUidUnderscore +
                  ".slice/crio-conmon-" + kId + ".scope",
              "", "", kUid, "burstable");
  }
  SECTION("static pod: 32-hex UID") {
    check_pod("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + kStaticUid +
                  ".slice/cri-containerd-" + kId + ".scope",
              kId, "containerd", kStaticUid, "burstable");
  }
  SECTION("pod-level cgroup only (no container yet)") {
    check_pod("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + kUidUnderscore + ".slice", "",
              "", kUid, "besteffort");
  }
  SECTION("sub-cgroup inside the container scope") {
    const std::string path =
        "/kubepods.slice/kubepods-pod" + kUidUnderscore + ".slice/crio-" + kId + ".scope/container";
    check_pod(path, kId, "cri-o", kUid, "guaranteed");
  }
}

TEST_CASE("Kubernetes pods, cgroupfs driver: runtime unknown from the path") {
  check_pod("/kubepods/burstable/pod" + kUid + "/" + kId, kId, "", kUid, "burstable");
  check_pod("/kubepods/pod" + kUid + "/" + kId, kId, "", kUid, "guaranteed");
  check_pod("/kubepods/besteffort/pod" + kUid + "/" + kId, kId, "", kUid, "besteffort");
  check_pod("/kubepods/besteffort/pod" + kUid, "", "", kUid, "besteffort");
  // A non-hex child of the pod is not a container id.
  check_pod("/kubepods/burstable/pod" + kUid + "/not-a-container", "", "", kUid, "burstable");
}

TEST_CASE("Kubernetes nested under kind / k3s / node prefixes") {
  SECTION("k3s: kubepods under containerd.service, runc systemd colon spelling") {
    check_pod("/system.slice/containerd.service/kubepods-burstable-pod" + kUidUnderscore +
                  ".slice:cri-containerd:" + kId,
              kId, "containerd", kUid, "burstable");
  }
  SECTION("k3s: guaranteed pod, colon spelling") {
    check_pod("/system.slice/containerd.service/kubepods-pod" + kUidUnderscore + ".slice:cri-containerd:" + kId, kId,
              "containerd", kUid, "guaranteed");
  }
  SECTION("kind node view: kubelet.slice prefix") {
    check_pod("/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/"
              "kubelet-kubepods-besteffort-pod" +
                  kUidUnderscore + ".slice/cri-containerd-" + kId + ".scope",
              kId, "containerd", kUid, "besteffort");
  }
  SECTION("kind seen from the host: the pod's container wins over the node's docker container") {
    check_pod("/system.slice/docker-" + kId2 +
                  ".scope/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-pod" + kUidUnderscore +
                  ".slice/cri-containerd-" + kId + ".scope",
              kId, "containerd", kUid, "guaranteed");
  }
  SECTION("kind node's own kubelet is in the node container, no pod") {
    const std::string path = "/system.slice/docker-" + kId + ".scope/kubelet.slice/kubelet.service";
    check_container(path, "docker");
  }
  SECTION("cgroupfs kubepods under a node prefix") {
    check_pod("/k3s/kubepods/burstable/pod" + kUid + "/" + kId, kId, "", kUid, "burstable");
  }
}

TEST_CASE("Docker") {
  check_container("/system.slice/docker-" + kId + ".scope", "docker");
  check_container("/docker/" + kId, "docker");
  // Rootless docker with the systemd driver.
  check_container("/user.slice/user-1000.slice/user@1000.service/user.slice/docker-" + kId + ".scope", "docker");
  // Docker-in-docker: the inner container.
  check(("/docker/" + kId2 + "/docker/" + kId), make(kId, "docker", "", "", "", "/docker/" + kId2 + "/docker/" + kId));
}

TEST_CASE("Podman") {
  check_container("/machine.slice/libpod-" + kId + ".scope", "podman");
  check_container("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + kId + ".scope", "podman");
  check_container("/machine.slice/libpod-" + kId + ".scope/container", "podman");
  // A podman pod is not a Kubernetes pod.
  check_container("/machine.slice/machine-libpod_pod_" + kId2 + ".slice/libpod-" + kId + ".scope", "podman");
  check_container("/libpod_parent/libpod-" + kId, "podman");
  SECTION("conmon is a host process in its own scope, not the container") {
    const std::string path = "/machine.slice/libpod-conmon-" + kId + ".scope";
    check_unit(path, "libpod-conmon-" + kId + ".scope");
  }
}

TEST_CASE("containerd without Kubernetes (nerdctl)") {
  check_container("/system.slice/nerdctl-" + kId + ".scope", "containerd");
  check_container("/default/" + kId, "containerd");
}

TEST_CASE("systemd units for host processes") {
  check_unit("/system.slice/nginx.service", "nginx.service");
  check_unit("/system.slice/system-getty.slice/getty@tty1.service", "getty@tty1.service");
  check_unit("/user.slice/user-1000.slice/user@1000.service/app.slice/foo.service", "foo.service");
  // Session scopes are units too: reported as such (they tell an ssh login from a service).
  check_unit("/user.slice/user-1000.slice/session-3.scope", "session-3.scope");
  check_unit("/init.scope", "init.scope");
  // A delegated service's own sub-cgroup still belongs to the service.
  check_unit("/system.slice/myapp.service/payload", "myapp.service");
  check_unit("/system.slice/docker.service", "docker.service");
  check_unit("/system.slice/containerd.service", "containerd.service");
  check_unit("/system.slice/var-lib-docker.mount", "var-lib-docker.mount");
  // A slice is not a unit a process runs in.
  check_unit("/user.slice/user-1000.slice", "");
  check_unit("/", "");
}

TEST_CASE("random scope names are never taken for container ids") {
  // Too short, upper case, not hex, 65 chars.
  check_unit("/system.slice/docker-deadbeef.scope", "docker-deadbeef.scope");
  std::string upper = kId;
  for (char& c : upper)
    if (c >= 'a' && c <= 'f') c = static_cast<char>(c - 'a' + 'A');
  check_unit("/system.slice/docker-" + upper + ".scope", "docker-" + upper + ".scope");
  check_unit("/system.slice/libpod-mycontainer.scope", "libpod-mycontainer.scope");
  check_unit("/system.slice/cri-containerd-" + kId + "0.scope", "cri-containerd-" + kId + "0.scope");
  check_unit("/system.slice/run-r" + kId.substr(0, 32) + ".scope", "run-r" + kId.substr(0, 32) + ".scope");
  // Hex, right length, but under an unknown parent: not a container.
  check("/other/" + kId, make("", "", "", "", "", "/other/" + kId));
  // Malformed pod UIDs are not pods.
  check_unit("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podnotauid.slice", "");
  check_unit("/kubepods/burstable/pod" + kUid.substr(1) + "/" + kId, "");
  check_unit("/mykubepods-pod" + kUidUnderscore + ".slice", "");
  // A cgroupfs pod needs the kubepods parent.
  check("/burstable/pod" + kUid + "/" + kId, make("", "", "", "", "", "/burstable/pod" + kUid + "/" + kId));
}

TEST_CASE("malformed cgroup paths give an empty workload") {
  CHECK(parse_cgroup_path("") == Workload{});
  CHECK(parse_cgroup_path("system.slice/nginx.service") == Workload{});
  CHECK(parse_cgroup_path("/system.slice/nginx\n.service") == Workload{});
  CHECK(parse_cgroup_path("/docker/"s + kId + '\0') == Workload{});
  const std::string huge = "/" + std::string(5000, 'a') + "/docker-" + kId + ".scope";
  CHECK(parse_cgroup_path(huge) == Workload{});
  // Colon spelling with missing parts.
  const std::string cut = "/system.slice/kubepods-pod" + kUidUnderscore + ".slice:cri-containerd";
  check(cut, make("", "", "", "", "", cut));
  const std::string bad_prefix = "/kubepods-pod" + kUidUnderscore + ".slice:runx:" + kId;
  check(bad_prefix, make("", "", kUid, "guaranteed", "", bad_prefix));
  // Double slashes are tolerated.
  check("//docker//" + kId, make(kId, "docker", "", "", "", "//docker//" + kId));
}

TEST_CASE("/proc/PID/cgroup: pure v2") {
  const std::string path = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + kUidUnderscore +
                           ".slice/cri-containerd-" + kId + ".scope";
  CHECK(parse_proc_cgroup("0::" + path + "\n") == make(kId, "containerd", kUid, "burstable", "", path));
  CHECK(parse_proc_cgroup("0::/system.slice/nginx.service\n") ==
        make("", "", "", "", "nginx.service", "/system.slice/nginx.service"));
  // No trailing newline, CRLF.
  CHECK(parse_proc_cgroup("0::/system.slice/nginx.service") ==
        make("", "", "", "", "nginx.service", "/system.slice/nginx.service"));
  CHECK(parse_proc_cgroup("0::/system.slice/nginx.service\r\n") ==
        make("", "", "", "", "nginx.service", "/system.slice/nginx.service"));
  // Inside a cgroup namespace the process sees only the root.
  CHECK(parse_proc_cgroup("0::/\n") == make("", "", "", "", "", "/"));
}

TEST_CASE("/proc/PID/cgroup: hybrid") {
  SECTION("docker container: v1 controllers carry it, v2 only the root") {
    const std::string text = "12:memory:/docker/" + kId + "\n" + "11:cpu,cpuacct:/docker/" + kId + "\n" +
                             "1:name=systemd:/docker/" + kId + "\n" + "0::/\n";
    CHECK(parse_proc_cgroup(text) == make(kId, "docker", "", "", "", "/docker/" + kId));
  }
  SECTION("v2 names the container: v2 preferred and its path reported") {
    const std::string v2 = "/system.slice/docker-" + kId + ".scope";
    const std::string text = "12:memory:/docker/" + kId2 + "\n1:name=systemd:" + v2 + "\n0::" + v2 + "\n";
    CHECK(parse_proc_cgroup(text) == make(kId, "docker", "", "", "", v2));
  }
  SECTION("host service: unit from v2") {
    const std::string text =
        "12:memory:/system.slice/nginx.service\n1:name=systemd:/system.slice/nginx.service\n"
        "0::/system.slice/nginx.service\n";
    CHECK(parse_proc_cgroup(text) == make("", "", "", "", "nginx.service", "/system.slice/nginx.service"));
  }
  SECTION("host service: unit from name=systemd when v2 is bare") {
    const std::string text = "12:memory:/\n1:name=systemd:/system.slice/x.service\n0::/\n";
    CHECK(parse_proc_cgroup(text) == make("", "", "", "", "x.service", "/system.slice/x.service"));
  }
  SECTION("a v1 line with a container beats an earlier one with only a pod") {
    const std::string pod_only = "/kubepods/burstable/pod" + kUid;
    const std::string full = pod_only + "/" + kId;
    const std::string text = "5:pids:" + pod_only + "\n4:memory:" + full + "\n0::/\n";
    CHECK(parse_proc_cgroup(text) == make(kId, "", kUid, "burstable", "", full));
  }
}

TEST_CASE("/proc/PID/cgroup: v1 only") {
  const std::string path = "/kubepods/besteffort/pod" + kUid + "/" + kId;
  std::string text;
  for (const char* line : {"11:blkio:", "10:memory:", "9:cpu,cpuacct:", "1:name=systemd:"})
    text += line + path + "\n";
  CHECK(parse_proc_cgroup(text) == make(kId, "", kUid, "besteffort", "", path));
  CHECK(parse_proc_cgroup("3:cpu:/\n1:name=systemd:/user.slice/user-1000.slice/session-3.scope\n") ==
        make("", "", "", "", "session-3.scope", "/user.slice/user-1000.slice/session-3.scope"));
}

TEST_CASE("/proc/PID/cgroup: malformed lines are skipped") {
  const std::string good = "0::/system.slice/docker-" + kId + ".scope\n";
  const Workload want = make(kId, "docker", "", "", "", "/system.slice/docker-" + kId + ".scope");
  CHECK(parse_proc_cgroup("garbage\n" + good) == want);
  CHECK(parse_proc_cgroup("x:memory:/docker/" + kId2 + "\n" + good) == want);  // non-numeric hierarchy
  CHECK(parse_proc_cgroup("12:memory\n" + good) == want);                       // one colon only
  CHECK(parse_proc_cgroup("12:memory:relative/path\n" + good) == want);         // not absolute
  CHECK(parse_proc_cgroup(":memory:/docker/" + kId2 + "\n" + good) == want);    // empty hierarchy
  CHECK(parse_proc_cgroup("\n\n\n" + good) == want);
  // A line over 4 KiB is ignored whole, even if it would name a container.
  const std::string long_line = "0::/" + std::string(4200, 'a') + "/docker/" + kId2 + "\n";
  CHECK(parse_proc_cgroup(long_line + good) == want);
  CHECK(parse_proc_cgroup(long_line) == Workload{});
  CHECK(parse_proc_cgroup("") == Workload{});
  CHECK(parse_proc_cgroup("not a cgroup file at all") == Workload{});
  // Only the first of duplicate v2 lines counts.
  CHECK(parse_proc_cgroup(good + "0::/docker/" + kId2 + "\n") == want);
  // A flood of lines is bounded: only the first 256 are looked at.
  std::string flood;
  for (int i = 0; i < 300; ++i) flood += "7:memory:/\n";
  CHECK(parse_proc_cgroup(flood + good) == Workload{});
}
