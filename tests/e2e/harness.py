"""End-to-end harness: the fake provider, the agent under test, the clients, and a TestCase base.

Environment: SHADOWMETER_AGENT (agent binary; default build/agent/shadowmeter-agent),
SHADOWMETER_CATALOG (default agent/providers/catalog.yaml). Needs root and kernel BTF.
"""
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CLIENTS = os.path.join(HERE, "clients")
PYTHON = "/usr/bin/python3"  # stable path: the client's executable is asserted
AGENT = os.environ.get("SHADOWMETER_AGENT") or os.path.join(REPO, "build/agent/shadowmeter-agent")
CATALOG = os.environ.get("SHADOWMETER_CATALOG") or os.path.join(REPO, "agent/providers/catalog.yaml")
CHAT_PATH = "/v1/chat/completions"
FINGERPRINT_SECRET = "e2e-fingerprint-secret-0123456789abcdef0123456789"


# Every credential the e2e clients send: none may appear in any output of the agent.
TEST_SECRETS = ("sk-test-fake-key-0000", "sk-ant-test-fake-0000", "AIza-test-fake-0000", "ya29.test-fake-0000",
                "co-test-fake-0000", "AKIDEXAMPLE")


def fingerprint(credential):
    """What the agent must report as shadowmeter.api_key.fingerprint for this credential."""
    import hashlib
    import hmac
    return hmac.new(FINGERPRINT_SECRET.encode(), credential.encode(), hashlib.sha256).hexdigest()[:32]


def skip_reason():
    if os.geteuid() != 0:
        return "end-to-end tests need root (BPF uprobes)"
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        return "kernel BTF (/sys/kernel/btf/vmlinux) is missing"
    return None


def e2e_workdir(prefix):
    """A scratch directory for a test class; SkipTest, with the reason printed, where e2e cannot run."""
    reason = skip_reason()
    if reason:
        print("SKIP: " + reason, file=sys.stderr)
        raise unittest.SkipTest(reason)
    return tempfile.mkdtemp(prefix=prefix)


def java_client(workdir, ca, hosts):
    """clients/JavaClient.java compiled into workdir, trusting `ca` and resolving `hosts` to 127.0.0.1
    (jdk.net.hosts.file, Java 9+): the java command up to the class name's arguments."""
    for tool in ("javac", "java", "keytool"):
        if not shutil.which(tool):
            # install-deps.sh installs them (default-jdk-headless): a missing one is a failure.
            raise RuntimeError("%s not found: run packaging/scripts/install-deps.sh" % tool)
    subprocess.run(["javac", "-d", workdir, os.path.join(CLIENTS, "JavaClient.java")], check=True)
    truststore = os.path.join(workdir, "trust.p12")
    subprocess.run(["keytool", "-importcert", "-noprompt", "-alias", "fakeca", "-file", ca,
                    "-keystore", truststore, "-storetype", "PKCS12", "-storepass", "changeit"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    hosts_file = os.path.join(workdir, "hosts")
    with open(hosts_file, "w") as f:
        f.write("127.0.0.1 %s\n" % " ".join(hosts))
    return ["java", "-Djdk.net.hosts.file=" + hosts_file, "-Djavax.net.ssl.trustStore=" + truststore,
            "-Djavax.net.ssl.trustStorePassword=changeit", "-cp", workdir, "JavaClient"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path, timeout=5):
    """(status, body) of a plain-HTTP GET on 127.0.0.1; status 0 when nothing answers."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=timeout) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")
    except (OSError, urllib.error.URLError):
        return 0, ""


def tail(path, n=200):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


def exe_of(path):
    real = os.path.realpath(shutil.which(path) or path)
    return os.path.basename(real), real


class FakeServer:
    def __init__(self, workdir, verbose=True):
        self.workdir = workdir
        self.log = os.path.join(workdir, "fakeprovider.log")
        self.ca = os.path.join(workdir, "certs", "ca.pem")
        port_file = os.path.join(workdir, "fakeprovider.port")
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                [PYTHON, os.path.join(HERE, "fakeprovider", "server.py"), *(["--verbose"] * verbose),
                 "--cert-dir", os.path.join(workdir, "certs"), "--port-file", port_file],
                stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.time() + 20
        while not os.path.exists(port_file):
            if self.proc.poll() is not None or time.time() > deadline:
                self.stop()
                raise RuntimeError("fake provider did not start:\n" + tail(self.log))
            time.sleep(0.05)
        with open(port_file) as f:
            self.port = int(f.read())
        self.pid = self.proc.pid

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class MultiServer(FakeServer):
    """fakeprovider/multi_server.js (node): every provider's wire format over HTTP/2 and HTTP/1.1 on one
    port. Same attributes as FakeServer (port, pid, ca, log) and the same stop()."""

    def __init__(self, workdir, verbose=True):  # pylint: disable=super-init-not-called
        self.workdir = workdir
        self.log = os.path.join(workdir, "multiserver.log")
        self.ca = os.path.join(workdir, "certs", "ca.pem")
        port_file = os.path.join(workdir, "multiserver.port")
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                ["node", os.path.join(HERE, "fakeprovider", "multi_server.js"), *(["--verbose"] * verbose),
                 "--cert-dir", os.path.join(workdir, "certs"), "--port-file", port_file],
                stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.time() + 20
        while not os.path.exists(port_file):
            if self.proc.poll() is not None or time.time() > deadline:
                self.stop()
                raise RuntimeError("multi_server.js did not start:\n" + tail(self.log))
            time.sleep(0.05)
        with open(port_file) as f:
            self.port = int(f.read())
        self.pid = self.proc.pid


class Agent:
    """The agent with --stdout; a thread collects its stdout events."""

    def __init__(self, workdir, ready_timeout=30, extra_args=()):
        if not os.access(AGENT, os.X_OK):
            raise RuntimeError("agent binary not found: %s (set SHADOWMETER_AGENT)" % AGENT)
        self.port = free_port()
        self.stderr_path = os.path.join(workdir, "agent-%d.stderr" % self.port)
        self.events, self.bad_lines, self.raw_lines = [], [], []
        self.cond = threading.Condition()
        # A known fingerprint secret, so tests can compute the fingerprint a key must get.
        self.secret_file = os.path.join(workdir, "fingerprint.key")
        if not os.path.exists(self.secret_file):
            fd = os.open(self.secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(FINGERPRINT_SECRET)
        cmd = [AGENT, "--stdout", "--listen", "127.0.0.1:%d" % self.port, "--catalog", CATALOG,
               "--fingerprint-secret-file", self.secret_file, *extra_args]
        with open(self.stderr_path, "w") as err:
            self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.exit_code = None
        self._wait_ready(ready_timeout)

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace").strip()
            if not line:
                continue
            with self.cond:
                self.raw_lines.append(line)
            with self.cond:
                try:
                    ev = json.loads(line)
                    (self.events if isinstance(ev, dict) else self.bad_lines).append(ev)
                except ValueError:
                    self.bad_lines.append(line)
                self.cond.notify_all()

    def _wait_ready(self, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("agent exited with %s before /readyz:\n%s"
                                   % (self.proc.returncode, self.stderr()))
            if http_get(self.port, "/readyz", timeout=1)[0] == 200:
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("agent not ready after %ds:\n%s" % (timeout, self.stderr()))

    def stderr(self):
        return tail(self.stderr_path)

    def wait_events(self, predicate, count=1, timeout=10.0):
        """Events matching predicate, returned as soon as there are `count` (or at the timeout)."""
        deadline = time.time() + timeout
        with self.cond:
            while True:
                found = [e for e in self.events if predicate(e)]
                left = deadline - time.time()
                if len(found) >= count or left <= 0:
                    return found
                self.cond.wait(min(left, 0.5))

    def stop(self, timeout=10):
        """SIGTERM, then SIGKILL; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.reader.join(5)
        self.exit_code = self.proc.returncode
        return self.exit_code


def client_cmd(kind, server, *args):
    """Command line of a client; kind is curl, python or node."""
    common = ["--port", str(server.port), "--ca", server.ca, *args]
    if kind == "curl":
        return [PYTHON, os.path.join(CLIENTS, "curl_client.py"), *common]
    if kind == "python":
        return [PYTHON, os.path.join(CLIENTS, "python_client.py"), *common]
    if kind == "node":
        return ["node", os.path.join(CLIENTS, "node_client.js"), *common]
    raise ValueError(kind)


def client_env(server):
    return dict(os.environ, NODE_EXTRA_CA_CERTS=server.ca, PYTHONDONTWRITEBYTECODE="1")


def usage_arg(prompt, completion, cached=0, reasoning=0):
    return "prompt=%d,completion=%d,cached=%d,reasoning=%d" % (prompt, completion, cached, reasoning)


def _reap(proc):
    if proc.poll() is None:
        proc.kill()
    proc.communicate()


class E2ECase(unittest.TestCase):
    """One fake provider and (unless start_agent is False) one agent per test class."""

    start_agent = True

    @classmethod
    def setUpClass(cls):
        cls.workdir = e2e_workdir("shadowmeter-e2e-")
        cls.server = FakeServer(cls.workdir)
        cls.agent = None
        try:
            if cls.start_agent:
                cls.agent = Agent(cls.workdir)
        except Exception:
            cls.server.stop()
            shutil.rmtree(cls.workdir, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.agent:
            cls.assert_no_secrets(cls.agent)
            cls.agent.stop()
        cls.server.stop()
        shutil.rmtree(cls.workdir, ignore_errors=True)

    @staticmethod
    def assert_no_secrets(agent):
        """No test credential in anything the agent wrote: events (stdout), logs, /metrics."""
        outputs = {"stdout": "\n".join(agent.raw_lines), "stderr": tail(agent.stderr_path, 100000),
                   "/metrics": http_get(agent.port, "/metrics")[1]}
        leaks = ["%s in %s" % (s, name) for name, text in outputs.items() for s in TEST_SECRETS if s in text]
        if leaks:
            raise AssertionError("credentials leaked: " + ", ".join(leaks))

    @classmethod
    def restart_agent(cls):
        if cls.agent:
            cls.agent.stop()
        cls.agent = Agent(cls.workdir)

    def run(self, result=None):
        result = result or self.defaultTestResult()
        before = len(result.failures) + len(result.errors)
        super().run(result)
        if len(result.failures) + len(result.errors) > before:
            agent = type(self).agent
            sys.stderr.write("\n----- %s: agent stderr (tail) -----\n%s\n" % (
                self.id(), agent.stderr() if agent else "(no agent)"))
            if agent:
                sys.stderr.write("----- agent events (last 5 of %d) -----\n%s\n" % (
                    len(agent.events), "\n".join(json.dumps(e) for e in agent.events[-5:])))
            sys.stderr.write("----- fake provider log (tail) -----\n%s\n" % tail(self.server.log, 30))
        return result

    # --- clients -------------------------------------------------------------------------

    def start_client(self, kind, *args, wrap=()):
        proc = subprocess.Popen([*wrap, *client_cmd(kind, self.server, *args)], env=client_env(self.server),
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(_reap, proc)  # a client left waiting by a failed test must not outlive it
        return proc

    def finish_client(self, proc, timeout=60):
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        self.assertEqual(proc.returncode, 0, "client failed: %s\n%s" % (proc.args, err.decode()))
        return out.decode()

    def call(self, kind, *args, wrap=()):
        """Runs a client to completion; returns (pid, stdout)."""
        proc = self.start_client(kind, *args, wrap=wrap)
        return proc.pid, self.finish_client(proc)

    def read_line(self, proc, prefix, timeout=20):
        """Waits for the client's stdout line starting with prefix (e.g. READY)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            line = proc.stdout.readline().decode()
            if line.startswith(prefix):
                return line.strip()
            if not line and proc.poll() is not None:
                break
        self.fail("client printed no %s line: %s" % (prefix, proc.stderr.read().decode()))

    # --- events --------------------------------------------------------------------------

    def events_of(self, pid, count=1, timeout=10.0, extra=lambda e: True):
        evs = self.agent.wait_events(lambda e: e.get("process.pid") == pid and extra(e), count, timeout)
        self.assertEqual(self.agent.bad_lines, [], "agent printed non-JSON lines on stdout")
        self.assertEqual(len(evs), count, "expected %d event(s) for pid %d, got %d: %s"
                         % (count, pid, len(evs), json.dumps(evs)))
        return evs

    def assert_no_events(self, predicate, seconds):
        evs = self.agent.wait_events(predicate, 1, seconds)
        self.assertEqual(evs, [], "unexpected event(s)")

    def assert_openai_event(self, ev, *, pid, exe, usage, stream=False, source="response",
                            model="gpt-4o-mini", response_model="gpt-4o-mini-2024-07-18",
                            response_id=None, since_ns=None, script=None):
        """Every field of one chat completion event; usage is (prompt, completion, cached, reasoning)
        or None when the traffic carried none."""
        exe_name, exe_path = exe_of(exe)
        want = {
            "gen_ai.provider.name": "openai", "gen_ai.operation.name": "chat",
            "gen_ai.request.model": model, "gen_ai.response.model": response_model,
            "shadowmeter.usage.source": source, "shadowmeter.stream": stream,
            "server.address": "api.openai.com", "server.port": self.server.port,
            "url.path": CHAT_PATH, "http.request.method": "POST", "http.response.status_code": 200,
            "network.protocol.version": "1.1", "process.pid": pid,
            "process.executable.name": exe_name, "process.executable.path": exe_path,
            "process.owner": pwd.getpwuid(os.geteuid()).pw_name,
            "shadowmeter.tls.library": "openssl", "shadowmeter.visibility": "plaintext",
            "host.name": socket.gethostname(),
        }
        got = {k: ev.get(k) for k in want}
        self.assertEqual(got, want, "event fields differ: %s" % json.dumps(ev))
        tokens = {k: ev.get(k) for k in ("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens",
                                        "gen_ai.usage.cache_read.input_tokens",
                                        "gen_ai.usage.reasoning.output_tokens")}
        want_tokens = dict(zip(tokens, usage or (None,) * 4))
        self.assertEqual(tokens, want_tokens, "usage differs: %s" % json.dumps(ev))
        self.assertNotIn("error.type", ev)
        self.assertRegex(ev.get("shadowmeter.event_id", ""), r"^[0-9a-f]{32}$")
        self.assertRegex(ev.get("gen_ai.response.id") or "", r"^chatcmpl-[0-9a-f]+$")
        if response_id:
            self.assertEqual(ev["gen_ai.response.id"], response_id)
        start, end = int(ev["time_unix_nano"]), int(ev["end_time_unix_nano"])
        self.assertLessEqual(start, end)
        if since_ns:
            slack = 2 * 10**9  # monotonic-to-wall conversion and clock steps
            self.assertGreater(start, since_ns - slack)
            self.assertLess(end, time.time_ns() + slack)
        if script:
            self.assertIn(script, ev.get("process.command_line", ""))


def response_ids(stdout):
    """Chat completion ids in a client's printed response bodies, in order."""
    return list(dict.fromkeys(re.findall(r"chatcmpl-[0-9a-f]+", stdout)))
