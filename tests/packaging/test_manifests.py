"""The Helm chart and the manifests rendered from it (packaging/kubernetes/): they are what the chart
renders today, they parse, the agent runs with exactly the privileges docs/security.md names, RBAC is
read-only on pods and namespaces, and the agent and collector configs the chart generates load in the
real binaries. Other value combinations (PostgreSQL, TLS, ServiceMonitor, emptyDir spool) render, and
missing secrets are refused."""
import filecmp
import glob
import os
import re
import subprocess
import sys
import tempfile

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pkgtest import BUILD_DIR, SOURCE_DIR, Checks, run  # noqa: E402

RENDER = os.path.join(SOURCE_DIR, "packaging", "render", "render-manifests.sh")
CHART = os.path.join(SOURCE_DIR, "packaging", "helm", "shadowmeter")
COMMITTED = os.path.join(SOURCE_DIR, "packaging", "kubernetes")
AGENT_CAPS = {"BPF", "PERFMON", "SYS_PTRACE", "DAC_READ_SEARCH", "SYS_RESOURCE"}

c = Checks()
work = tempfile.mkdtemp(prefix="sm-manifests-")
env = dict(os.environ, HELMRENDER_BIN_DIR=os.path.join(work, "bin"))


def render(out, *values_yaml):
    """Renders the chart with the committed values plus extra values documents; returns the
    CompletedProcess (not checked)."""
    extra = []
    for i, doc in enumerate(values_yaml):
        path = os.path.join(work, "values-%s-%d.yaml" % (os.path.basename(out), i))
        with open(path, "w") as f:
            f.write(doc)
        extra += ["-f", path]
    helmrender = os.path.join(work, "bin", "helmrender")
    base = ["-chart", CHART, "-release", "shadowmeter", "-namespace", "shadowmeter",
            "-f", os.path.join(SOURCE_DIR, "packaging", "render", "kubernetes-values.yaml")]
    return subprocess.run([helmrender] + base + extra + ["-out", out], capture_output=True, text=True)


def load_dir(d):
    docs = []
    for path in sorted(glob.glob(os.path.join(d, "*.yaml"))):
        with open(path) as f:
            for doc in yaml.safe_load_all(f):
                if doc is not None:
                    docs.append(doc)
    return docs


# 1. The committed manifests are the chart's rendering (the script builds helmrender, then renders).
fresh = os.path.join(work, "fresh")
run(["bash", RENDER, fresh], env=env)
cmp = filecmp.dircmp(COMMITTED, fresh)
c.check(not cmp.left_only and not cmp.right_only and not cmp.diff_files,
        "packaging/kubernetes/ differs from the chart's rendering (run packaging/render/render-manifests.sh): "
        "only committed %s, only rendered %s, different %s" % (cmp.left_only, cmp.right_only, cmp.diff_files))
for name in cmp.diff_files:
    print(run(["diff", "-u", os.path.join(COMMITTED, name), os.path.join(fresh, name)], check=False).stdout)

# 2. They parse, and every document is a named Kubernetes object.
docs = load_dir(COMMITTED)
c.check(len(docs) >= 9, "expected at least 9 objects, got %d" % len(docs))
for d in docs:
    c.check(isinstance(d, dict) and d.get("apiVersion") and d.get("kind") and d.get("metadata", {}).get("name"),
            "object without apiVersion/kind/name: %r" % (d,)[:200])
by_kind = {}
for d in docs:
    by_kind.setdefault(d["kind"], []).append(d)
for kind in ["DaemonSet", "Deployment", "Service", "ConfigMap", "ServiceAccount", "ClusterRole",
             "ClusterRoleBinding", "PersistentVolumeClaim"]:
    c.check(kind in by_kind, "no %s in the manifests" % kind)
c.check("Secret" not in by_kind, "the committed manifests must not carry Secrets (they use existingSecret)")


def walk(node, path=""):
    if isinstance(node, dict):
        for k, v in node.items():
            yield path + "." + str(k), k, v
            yield from walk(v, path + "." + str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, "%s[%d]" % (path, i))


# 3. Nothing is privileged, anywhere.
for d in docs:
    for path, k, v in walk(d):
        c.check(not (k == "privileged" and v is True), "%s %s: privileged: true at %s" % (d["kind"], d["metadata"]["name"], path))
        c.check(not (k == "allowPrivilegeEscalation" and v is True), "allowPrivilegeEscalation: true at %s" % path)

# 4. The agent DaemonSet.
ds = by_kind.get("DaemonSet", [{}])[0]
pod = ds.get("spec", {}).get("template", {}).get("spec", {})
c.check(pod.get("hostPID") is True, "agent: hostPID must be true")
c.check(not pod.get("hostNetwork"), "agent: no hostNetwork")
containers = pod.get("containers", [])
c.check(len(containers) == 1, "agent: one container")
agent = containers[0] if containers else {}
sc = agent.get("securityContext", {})
c.check(sc.get("privileged") is False, "agent: privileged must be explicitly false")
c.check(sc.get("readOnlyRootFilesystem") is True, "agent: readOnlyRootFilesystem")
c.check(sc.get("allowPrivilegeEscalation") is False, "agent: allowPrivilegeEscalation false")
caps = sc.get("capabilities", {})
c.check(caps.get("drop") == ["ALL"], "agent: capabilities drop must be [ALL], got %r" % caps.get("drop"))
c.check(set(caps.get("add", [])) == AGENT_CAPS and len(caps.get("add", [])) == 5,
        "agent: capabilities add must be exactly %s, got %r" % (sorted(AGENT_CAPS), caps.get("add")))
c.check(sc.get("seccompProfile", {}).get("type") == "RuntimeDefault", "agent: seccompProfile RuntimeDefault")
for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
    c.check(agent.get(probe, {}).get("httpGet", {}).get("path") == path, "agent: %s on %s" % (probe, path))
res = agent.get("resources", {})
for kind in ("requests", "limits"):
    c.check(res.get(kind, {}).get("cpu") and res.get(kind, {}).get("memory"), "agent: resources.%s cpu and memory" % kind)
c.check({"operator": "Exists"} in pod.get("tolerations", []), "agent: tolerates every taint (operator: Exists)")
env_by_name = {e["name"]: e for e in agent.get("env", [])}
c.check(env_by_name.get("NODE_NAME", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "spec.nodeName",
        "agent: NODE_NAME from the downward API (spec.nodeName)")
annotations = ds.get("spec", {}).get("template", {}).get("metadata", {}).get("annotations", {})
c.check(annotations.get("prometheus.io/scrape") == "true" and annotations.get("prometheus.io/port") == "9464",
        "agent: Prometheus scrape annotations")
volumes = {v["name"]: v for v in pod.get("volumes", [])}
mounts = {m["name"]: m for m in agent.get("volumeMounts", [])}
host_paths = {}
for name, v in volumes.items():
    if "hostPath" in v:
        host_paths[v["hostPath"]["path"]] = name
for required in ("/sys/kernel/btf", "/sys/fs/cgroup", "/sys/kernel/tracing"):
    c.check(required in host_paths, "agent: hostPath %s mounted" % required)
for path, name in host_paths.items():
    writable = path.startswith("/var/lib/shadowmeter")  # the spool, the only host path written
    read_only = mounts.get(name, {}).get("readOnly") is True
    c.check(read_only != writable, "agent: hostPath %s must be mounted %s" % (path, "read-write" if writable else "readOnly"))
for name, m in mounts.items():
    if name not in ("spool", "tmp"):
        c.check(m.get("readOnly") is True, "agent: mount %s must be readOnly" % name)

# 5. RBAC: get/list/watch on pods and namespaces, nothing else.
for role in by_kind.get("ClusterRole", []) + by_kind.get("Role", []):
    for rule in role.get("rules", []):
        c.check(set(rule.get("verbs", [])) <= {"get", "list", "watch"}, "RBAC verbs beyond get/list/watch: %r" % rule)
        c.check(set(rule.get("resources", [])) <= {"pods", "namespaces"}, "RBAC resources beyond pods/namespaces: %r" % rule)
        c.check(rule.get("apiGroups") == [""], "RBAC: core API group only: %r" % rule)
crb = by_kind.get("ClusterRoleBinding", [{}])[0]
c.check(crb.get("subjects", [{}])[0].get("name") == pod.get("serviceAccountName"), "the binding names the agent's ServiceAccount")

# 6. The collector Deployment: non-root, read-only root, no capabilities, probes, resources.
dep = by_kind.get("Deployment", [{}])[0]
cpod = dep.get("spec", {}).get("template", {}).get("spec", {})
col = cpod.get("containers", [{}])[0]
c.check(cpod.get("securityContext", {}).get("runAsNonRoot") is True, "collector: runAsNonRoot")
c.check(col.get("securityContext", {}).get("readOnlyRootFilesystem") is True, "collector: readOnlyRootFilesystem")
c.check(col.get("securityContext", {}).get("capabilities", {}).get("drop") == ["ALL"], "collector: drop ALL")
c.check(not col.get("securityContext", {}).get("capabilities", {}).get("add"), "collector: no added capability")
c.check(col.get("livenessProbe", {}).get("httpGet", {}).get("path") == "/healthz", "collector: liveness /healthz")
c.check(col.get("readinessProbe", {}).get("httpGet", {}).get("path") == "/readyz", "collector: readiness /readyz")
c.check(col.get("resources", {}).get("limits", {}).get("memory"), "collector: memory limit")
c.check(dep.get("spec", {}).get("replicas") == 1 and dep.get("spec", {}).get("strategy", {}).get("type") == "Recreate",
        "collector on SQLite: one replica, Recreate")

# 7. The generated configs load in the real binaries. Each binary is run with the config and one
# deliberately bad flag, applied after the file: the error must be about that flag, which proves the
# whole file was accepted (nothing is started).
configs = {cm["metadata"]["name"]: cm["data"] for cm in by_kind.get("ConfigMap", [])}
agent_bin = os.path.join(BUILD_DIR, "agent", "shadowmeter-agent")
collector_bin = os.path.join(BUILD_DIR, "collectors", "shadowmeter-collector")
for binary, cm, key, bad_flag, expect in (
        (agent_bin, "shadowmeter-agent", "agent.yaml", "--ringbuf-bytes=3", "ringbuf"),
        (collector_bin, "shadowmeter-collector", "collector.yaml", "--max-body-bytes=1", "max-body-bytes")):
    if not c.check(os.path.exists(binary), "%s is built" % binary):
        continue
    path = os.path.join(work, key)
    with open(path, "w") as f:
        f.write(configs.get(cm, {}).get(key, ""))
    p = run([binary, "--config", path, bad_flag], check=False)
    c.check(p.returncode != 0 and expect in p.stderr and key not in p.stderr,
            "%s accepts the chart's %s (stderr: %s)" % (os.path.basename(binary), key, p.stderr.strip()[:300]))

# 8. Other value combinations render to valid objects; missing secrets are refused with a message.
variants = {
    "postgres-tls-monitor": """
collector:
  replicas: 3
  storage: {type: postgresql, postgresql: {url: "postgresql://sm:pw@db:5432/sm"}}
  tls: {secretName: collector-tls}
agent:
  spool: {type: emptyDir}
  config: {export: {batch_max_events: 100}, owner: {keys: [team]}}
metrics: {serviceMonitor: {enabled: true}, prometheusRule: {enabled: true}}
auth: {existingSecret: "", token: "t0ken"}
fingerprint: {existingSecret: "", key: "0123456789abcdef0123456789abcdef"}
""",
}
for name, values in variants.items():
    out = os.path.join(work, name)
    p = render(out, values)
    if not c.check(p.returncode == 0, "variant %s renders: %s" % (name, p.stderr.strip())):
        continue
    vdocs = load_dir(out)
    kinds = [d["kind"] for d in vdocs]
    c.check(kinds.count("ServiceMonitor") == 2, "variant %s: two ServiceMonitors" % name)
    rules = [d for d in vdocs if d["kind"] == "PrometheusRule"]
    c.check(len(rules) == 1 and rules[0]["spec"]["groups"] and all(g.get("rules") for g in rules[0]["spec"]["groups"]),
            "variant %s: a PrometheusRule with the alert groups of packaging/prometheus/" % name)
    c.check(kinds.count("Secret") == 3, "variant %s: token, fingerprint and PostgreSQL Secrets" % name)
    c.check("PersistentVolumeClaim" not in kinds, "variant %s: no PVC with PostgreSQL" % name)
    vdep = [d for d in vdocs if d["kind"] == "Deployment"][0]
    vcol = vdep["spec"]["template"]["spec"]["containers"][0]
    c.check("--db=$(SHADOWMETER_DB_URL)" in vcol["args"] and vdep["spec"]["replicas"] == 3,
            "variant %s: collector takes the database URL from the Secret, 3 replicas" % name)
    c.check(vcol["readinessProbe"]["httpGet"]["scheme"] == "HTTPS", "variant %s: HTTPS probes with TLS" % name)
    vcm = {d["metadata"]["name"]: d["data"] for d in vdocs if d["kind"] == "ConfigMap"}
    acfg = yaml.safe_load(vcm["shadowmeter-agent"]["agent.yaml"])
    c.check(acfg["output"]["collector"].startswith("https://") and acfg["export"]["ca_file"] and
            "allow_insecure_http" not in acfg["export"] and acfg["export"]["batch_max_events"] == 100,
            "variant %s: agent config merges user settings and uses https with the CA: %r" % (name, acfg))
    with open(os.path.join(work, "variant-agent.yaml"), "w") as f:
        f.write(vcm["shadowmeter-agent"]["agent.yaml"])
    if os.path.exists(agent_bin):
        p = run([agent_bin, "--config", os.path.join(work, "variant-agent.yaml"), "--ringbuf-bytes=3"], check=False)
        c.check("ringbuf" in p.stderr and "agent.yaml" not in p.stderr, "variant agent config loads: %s" % p.stderr.strip()[:300])

for name, values, message in (
        ("no-token", "auth: {existingSecret: ''}\n", "auth.existingSecret"),
        ("short-key", "fingerprint: {existingSecret: '', key: short}\n", "at least 32"),
        ("sqlite-replicas", "collector: {replicas: 2}\n", "replicas"),
        ("bad-spool", "agent: {spool: {type: nfs}}\n", "agent.spool.type")):
    p = render(os.path.join(work, name), values)
    c.check(p.returncode != 0 and message in p.stderr, "variant %s is refused mentioning %r: %s" % (name, message, p.stderr.strip()))

# 9. Every value in values.yaml is in the chart README's table.
with open(os.path.join(CHART, "values.yaml")) as f:
    values = yaml.safe_load(f)
with open(os.path.join(CHART, "README.md")) as f:
    readme = f.read()
documented = set(re.findall(r"^\|\s*`([^`]+)`", readme, re.M))


def paths(node, prefix=""):
    """Every key path of the values tree, inner and leaf, with whether it is a leaf."""
    for k, v in node.items():
        path = prefix + k
        inner = isinstance(v, dict) and bool(v)
        yield path, not inner
        if inner:
            yield from paths(v, path + ".")


all_paths = dict(paths(values))
for key, leaf in all_paths.items():
    # A leaf is documented by its own row or by the row of a map above it (agent.resources).
    parts = key.split(".")
    if leaf:
        c.check(any(".".join(parts[:i]) in documented for i in range(1, len(parts) + 1)),
                "values key %s is not in the chart README's table" % key)
for key in documented:
    c.check(key in all_paths, "the chart README documents %s, which values.yaml does not have" % key)

c.finish("test_manifests")
