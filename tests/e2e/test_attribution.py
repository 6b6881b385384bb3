"""Attribution end to end: a client in a cgroup shaped like a Kubernetes pod's containerd container
(under the cgroup v2 mount, in its own mount namespace), a fake Kubernetes API server on loopback TLS
serving that pod, and the agent's owner and shadow-AI policy from its config. Then the same with the
API server down: only what the cgroup says."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

from harness import (HERE, PYTHON, Agent, E2ECase, FakeServer, client_cmd, client_env, fingerprint, http_get,
                     skip_reason, tail, _reap)

CGROUP_ROOT = "/sys/fs/cgroup/unified"
POD_UID = "5f3c2a1b-7d4e-4f60-9a8b-1c2d3e4f5a6b"
CONTAINER_ID = "a3f9c2d14b5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8"
POD_CGROUP = ("kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod%s.slice/cri-containerd-%s.scope"
              % (POD_UID.replace("-", "_"), CONTAINER_ID))
NODE = "e2e-node-1"
TOKEN = "fake-k8s-token-0123456789"
CLIENT_KEY = "sk-test-fake-key-0000"  # what clients/common.py sends

POD = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "checkout-7d9f8b6c5-x2x4p", "namespace": "payments", "uid": POD_UID,
                 "resourceVersion": "1001",
                 "labels": {"app": "checkout", "team": "payments-team", "pod-template-hash": "7d9f8b6c5"},
                 "annotations": {"cost-center": "cc-4711"},
                 "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "checkout-7d9f8b6c5",
                                      "uid": "0000", "controller": True}]},
    "spec": {"nodeName": NODE, "containers": [{"name": "app", "image": "checkout:1"}]},
    "status": {"phase": "Running",
               "containerStatuses": [{"name": "app", "containerID": "containerd://" + CONTAINER_ID,
                                      "ready": True}]},
}
NAMESPACE = {"apiVersion": "v1", "kind": "Namespace",
             "metadata": {"name": "payments", "uid": "ns-1", "resourceVersion": "1000",
                          "labels": {"environment": "prod", "kubernetes.io/metadata.name": "payments"}}}


def cgroup_available():
    return os.path.isdir(CGROUP_ROOT) and os.access(CGROUP_ROOT, os.W_OK)


class FakeK8s:
    def __init__(self, workdir):
        self.dir = os.path.join(workdir, "k8s")
        os.makedirs(self.dir, exist_ok=True)
        pods, nss = os.path.join(self.dir, "pods.json"), os.path.join(self.dir, "namespaces.json")
        with open(pods, "w") as f:
            json.dump([POD], f)
        with open(nss, "w") as f:
            json.dump([NAMESPACE], f)
        port_file = os.path.join(self.dir, "port")
        self.log = os.path.join(self.dir, "server.log")
        self.ca = os.path.join(workdir, "certs", "ca.pem")
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                [PYTHON, os.path.join(HERE, "fakek8s", "server.py"), "--cert-dir", os.path.join(workdir, "certs"),
                 "--port-file", port_file, "--pods", pods, "--namespaces", nss, "--require-token", TOKEN,
                 "--verbose"], stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.time() + 20
        while not os.path.exists(port_file):
            if self.proc.poll() is not None or time.time() > deadline:
                self.stop()
                raise RuntimeError("fake k8s did not start:\n" + tail(self.log))
            time.sleep(0.05)
        time.sleep(0.05)
        with open(port_file) as f:
            self.port = int(f.read())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)


def write_kubeconfig(path, server, ca, token_file):
    with open(path, "w") as f:
        f.write("""apiVersion: v1
kind: Config
current-context: e2e
clusters:
- name: e2e
  cluster: {server: "%s", certificate-authority: "%s"}
users:
- name: agent
  user: {tokenFile: "%s"}
contexts:
- name: e2e
  context: {cluster: e2e, user: agent}
""" % (server, ca, token_file))


class TestAttribution(E2ECase):
    start_agent = False

    @classmethod
    def setUpClass(cls):
        reason = skip_reason() or (None if cgroup_available() else "no writable cgroup v2 mount at " + CGROUP_ROOT)
        if reason:
            print("SKIP: " + reason, file=sys.stderr)
            raise unittest.SkipTest(reason)
        super().setUpClass()
        cls.k8s = FakeK8s(cls.workdir)
        cls.token_file = os.path.join(cls.workdir, "k8s", "token")
        with open(cls.token_file, "w") as f:
            f.write(TOKEN + "\n")
        cls.kubeconfig = os.path.join(cls.workdir, "kubeconfig")
        write_kubeconfig(cls.kubeconfig, "https://127.0.0.1:%d" % cls.k8s.port, cls.k8s.ca, cls.token_file)
        cls.config = os.path.join(cls.workdir, "agent.yaml")
        with open(cls.config, "w") as f:
            f.write("""owner:
  keys: [team, cost-center]
  rules:
    - {executable: "python3*", owner: host-scripts}
policy:
  gateways: [llm-gateway.corp.example]
  sanctioned:
    - name: payments-openai
      providers: [openai]
      namespaces: [payments]
      key_fingerprints: [%s]
""" % fingerprint(CLIENT_KEY))
        cls.cgroups = []
        try:
            cls.agent = cls.start(cls.kubeconfig)
        except Exception:
            cls.k8s.stop()
            raise

    @classmethod
    def start(cls, kubeconfig):
        return Agent(cls.workdir, extra_args=["--config", cls.config, "--kubeconfig", kubeconfig,
                                             "--node-name", NODE])

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.k8s.stop()
            for path in reversed(cls.cgroups):
                try:
                    os.rmdir(path)
                except OSError:
                    pass

    def make_pod_cgroup(self):
        path = CGROUP_ROOT
        for part in POD_CGROUP.split("/"):
            path = os.path.join(path, part)
            if not os.path.isdir(path):
                os.mkdir(path)
                type(self).cgroups.append(path)
        return path

    def wait_pods_known(self, want, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            text = http_get(self.agent.port, "/metrics")[1]
            for line in text.splitlines():
                if line.startswith("shadowmeter_k8s_pods ") and float(line.split()[1]) >= want:
                    return
            time.sleep(0.1)
        self.fail("the agent did not learn the pod from the fake API:\n" + self.agent.stderr())

    def pod_call(self):
        """A python client moved into the pod's cgroup (same pid all the way) in its own mount namespace."""
        cg = self.make_pod_cgroup()
        wrap = ["unshare", "-m", "--propagation", "private", "sh", "-c",
                'echo $$ > "$1/cgroup.procs" && shift && exec "$@"', "sh", cg]
        proc = self.start_client("python", "--usage", "prompt=321,completion=54,cached=0,reasoning=0", wrap=wrap)
        self.finish_client(proc)
        ev, = self.events_of(proc.pid)
        return ev

    def test_pod_client_is_attributed_owned_and_sanctioned(self):
        self.wait_pods_known(1)
        ev = self.pod_call()
        want = {
            "container.id": CONTAINER_ID, "container.runtime": "containerd",
            "k8s.pod.uid": POD_UID, "k8s.pod.name": "checkout-7d9f8b6c5-x2x4p", "k8s.namespace.name": "payments",
            "k8s.container.name": "app", "k8s.deployment.name": "checkout", "shadowmeter.k8s.qos_class": "burstable",
            "shadowmeter.owner": "payments-team", "deployment.environment": "prod",
            "shadowmeter.api_key.fingerprint": fingerprint(CLIENT_KEY), "shadowmeter.api_key.hint": "sk",
            "shadowmeter.shadow": False, "shadowmeter.shadow.reason": "rule payments-openai",
            "gen_ai.usage.input_tokens": 321, "gen_ai.usage.output_tokens": 54,
        }
        self.assertEqual({k: ev.get(k) for k in want}, want, json.dumps(ev))

    def test_host_client_is_shadow_with_a_reason(self):
        pid, _ = self.call("python", "--usage", "prompt=11,completion=7,cached=0,reasoning=0")
        ev, = self.events_of(pid)
        self.assertNotIn("container.id", ev)
        self.assertNotIn("k8s.pod.uid", ev)
        self.assertEqual(ev.get("shadowmeter.owner"), "host-scripts")
        self.assertIs(ev.get("shadowmeter.shadow"), True)
        reason = ev.get("shadowmeter.shadow.reason", "")
        self.assertTrue(reason.startswith("direct access to openai (api.openai.com)"), reason)
        self.assertNotIn(CLIENT_KEY, json.dumps(ev))

    def test_zz_api_server_down_keeps_cgroup_fields(self):
        """Named to run last: the agent is restarted against an API server that is not there."""
        dead = os.path.join(self.workdir, "kubeconfig-dead")
        write_kubeconfig(dead, "https://127.0.0.1:1", self.k8s.ca, self.token_file)
        self.assert_no_secrets(type(self).agent)
        type(self).agent.stop()
        type(self).agent = self.start(dead)
        ev = self.pod_call()
        self.assertEqual(ev.get("container.id"), CONTAINER_ID)
        self.assertEqual(ev.get("container.runtime"), "containerd")
        self.assertEqual(ev.get("k8s.pod.uid"), POD_UID)
        for k in ("k8s.pod.name", "k8s.namespace.name", "k8s.container.name", "k8s.deployment.name"):
            self.assertNotIn(k, ev)
        self.assertEqual(ev.get("shadowmeter.owner"), "host-scripts")  # the rule: no labels known
        self.assertIs(ev.get("shadowmeter.shadow"), True)
        self.assertEqual(ev.get("shadowmeter.api_key.fingerprint"), fingerprint(CLIENT_KEY))


if __name__ == "__main__":
    unittest.main()
