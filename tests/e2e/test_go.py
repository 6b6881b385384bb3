"""Go's crypto/tls through the Go tap: a net/http client built here with Debian's Go (standard library
only), stripped (-ldflags="-s -w") and not, over HTTP/2 (ALPN, the default) and HTTP/1.1 forced,
non-streamed and SSE-streamed, against the node fake provider (both protocols on one port). Every call
is one plaintext event with the exact usage, `shadowmeter.tls.library: go`; 20 goroutines on one HTTP/2
connection give 20 events matched one to one; a Go process started before the agent, and one in its own
mount namespace, are read too. A Go binary whose functions cannot be found, and a non-Go ELF carrying a
forged Go build info header, are refused with a counted reason and stay connection_only."""
import json
import os
import pwd
import re
import shutil
import socket
import subprocess
import time

from harness import AGENT, CLIENTS, E2ECase, MultiServer, _reap, exe_of, http_get

GO_SRC = os.path.join(CLIENTS, "go_client", "main.go")
BUILD = os.path.dirname(os.path.dirname(os.path.abspath(AGENT)))  # build/agent/shadowmeter-agent
GO_OUT = os.path.join(BUILD, "go-e2e")


def go_env():
    return dict(os.environ, GOCACHE=os.path.join(BUILD, "go-cache"), GOPATH=os.path.join(BUILD, "go-path"),
                GOFLAGS="", GO111MODULE="auto", CGO_ENABLED="0")


def build_go(name, ldflags=None):
    """The Go client, built once per source change (kept under the build directory)."""
    out = os.path.join(GO_OUT, name)
    if os.path.exists(out) and os.path.getmtime(out) >= os.path.getmtime(GO_SRC):
        return out
    os.makedirs(GO_OUT, exist_ok=True)
    cmd = ["go", "build", "-o", out + ".tmp"] + (["-ldflags=" + ldflags] if ldflags else []) + [GO_SRC]
    subprocess.run(cmd, check=True, env=go_env(), timeout=300)
    os.replace(out + ".tmp", out)
    return out


def damaged_copy(src, dst):
    """A copy whose function table no longer names crypto/tls.(*Conn).Read (one byte of the name
    changed): the program still runs (the runtime prints names only in tracebacks)."""
    with open(src, "rb") as f:
        data = bytearray(f.read())
    name = b"crypto/tls.(*Conn).Read\0"
    at = data.find(name)
    assert at > 0 and data.find(name, at + 1) < 0, "function name not found exactly once"
    data[at + len(name) - 5] = ord("X")
    with open(dst, "wb") as f:
        f.write(data)
    os.chmod(dst, 0o755)
    return dst


def forged_go_elf(src, dst):
    """A copy of a C program (no pclntab) with a Go build info section naming go1.21.5."""
    info = dst + ".buildinfo"
    with open(info, "wb") as f:
        f.write(b"\xff Go buildinf:" + bytes([8, 2]) + b"\0" * 16 + bytes([8]) + b"go1.21.5" + b"\0")
    subprocess.run(["objcopy", "--add-section", ".go.buildinfo=" + info, "--set-section-alignment",
                    ".go.buildinfo=16", src, dst], check=True)
    return dst


def results(stdout):
    """The client's per-call JSON lines and its CONNS count."""
    calls = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    conns = [int(line.split()[1]) for line in stdout.splitlines() if line.startswith("CONNS ")]
    return calls, conns[0]


def metric(agent, name):
    _, text = http_get(agent.port, "/metrics")
    m = re.search(r"^%s (\S+)$" % re.escape(name), text, re.M)
    return float(m.group(1)) if m else None


SOCKET_READ = 'shadowmeter_ai_connections_ended_total{outcome="socket_read"}'


def go_outcome(outcome):
    return 'shadowmeter_go_binaries_total{outcome="%s"}' % outcome


def wait_metric(agent, name, value, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if (metric(agent, name) or 0) >= value:
            return
        time.sleep(0.02)
    raise AssertionError("%s did not reach %s:\n%s" % (name, value, agent.stderr()))


class GoCase(E2ECase):
    start_agent = True

    @classmethod
    def setUpClass(cls):
        if not shutil.which("go"):
            raise RuntimeError("go not found: run packaging/scripts/install-deps.sh (golang-go)")
        cls.go = build_go("go_client")
        cls.go_stripped = build_go("go_client_stripped", "-s -w")
        super().setUpClass()
        # The node fake provider speaks HTTP/2 and HTTP/1.1 on one port (the python one is 1.1 only).
        cls.server.stop()
        cls.server = MultiServer(cls.workdir)
        if cls.agent:
            # A new executable is attached 10-20 ms after its exec: a call made sooner is not read. Each
            # binary is run once, waiting, until the agent has attached it; later runs are read whole.
            try:
                for binary in (cls.go, cls.go_stripped):
                    _reap(cls.hold_until_inspected(binary, "attached", "-usage", "x"))
            except Exception:
                cls.tearDownClass()
                raise

    @classmethod
    def hold_until_inspected(cls, binary, outcome, *args, wrap=()):
        """Starts the client waiting on a file, returns it once the agent has inspected its executable
        (shadowmeter_go_binaries_total{outcome} went up), with the file's path as proc.go_file."""
        before = metric(cls.agent, go_outcome(outcome)) or 0
        go_file = os.path.join(cls.workdir, "go-file-%d" % time.monotonic_ns())
        cmd = [*wrap, binary, "-port", str(cls.server.port), "-ca", cls.server.ca, "-wait-file", go_file, *args]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            line = proc.stdout.readline().decode()
            assert line.startswith("READY"), "client printed %r: %s" % (line, proc.stderr.read().decode())
            wait_metric(cls.agent, go_outcome(outcome), before + 1)
        except Exception:
            _reap(proc)
            raise
        proc.go_file = go_file
        return proc

    def run_go(self, binary, *args, usages, wrap=()):
        cmd = [*wrap, binary, "-port", str(self.server.port), "-ca", self.server.ca, *args]
        for u in usages:
            cmd += ["-usage", "input=%d,output=%d" % u]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(_reap, proc)
        return proc

    def finish(self, proc):
        out = self.finish_client(proc)
        return results(out)

    def assert_go_event(self, ev, *, pid, exe, usage, proto, stream, provider="openai", response_id=None):
        exe_name, exe_path = exe_of(exe)
        openai = provider == "openai"
        want = {
            "gen_ai.provider.name": provider, "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "gpt-4o-mini" if openai else "claude-sonnet-4-5",
            "gen_ai.response.model": "gpt-4o-mini-2024-07-18" if openai else "claude-sonnet-4-5-20250929",
            "gen_ai.usage.input_tokens": usage[0], "gen_ai.usage.output_tokens": usage[1],
            "shadowmeter.usage.source": "stream" if stream else "response", "shadowmeter.stream": stream,
            "server.address": "api.openai.com" if openai else "api.anthropic.com",
            "server.port": self.server.port, "url.path": "/v1/chat/completions" if openai else "/v1/messages",
            "http.request.method": "POST", "http.response.status_code": 200, "network.protocol.version": proto,
            "process.pid": pid, "process.executable.name": exe_name, "process.executable.path": exe_path,
            "process.owner": pwd.getpwuid(os.geteuid()).pw_name, "shadowmeter.tls.library": "go",
            "shadowmeter.visibility": "plaintext", "host.name": socket.gethostname(),
        }
        got = {k: ev.get(k) for k in want}
        self.assertEqual(got, want, "event fields differ: %s" % json.dumps(ev))
        self.assertNotIn("error.type", ev)
        if response_id:
            self.assertEqual(ev["gen_ai.response.id"], response_id)

    def call_and_check(self, binary, *args, usages, proto, stream=False, provider="openai", wrap=()):
        proc = self.run_go(binary, *args, usages=usages, wrap=wrap)
        calls, conns = self.finish(proc)
        self.assertEqual([c["proto"] for c in calls], ["HTTP/2.0" if proto == "2" else "HTTP/1.1"] * len(usages))
        self.assertEqual(conns, 1)
        evs = self.events_of(proc.pid, count=len(usages))
        for ev, u, c in zip(sorted(evs, key=lambda e: e["gen_ai.usage.input_tokens"]), sorted(usages), calls):
            ids = re.findall(r"(chatcmpl-[0-9a-f]+|msg_01[0-9a-f]+)", c["body"])
            self.assert_go_event(ev, pid=proc.pid, exe=binary, usage=u, proto=proto, stream=stream,
                                 provider=provider, response_id=ids[0] if ids and not stream else None)
        return evs


class TestGoClients(GoCase):
    def test_http2_stripped(self):
        self.call_and_check(self.go_stripped, usages=[(1201, 31), (1202, 32)], proto="2")

    def test_http2_unstripped_sse(self):
        self.call_and_check(self.go, "-stream", usages=[(1301, 41), (1302, 42)], proto="2", stream=True)

    def test_http1_forced(self):
        self.call_and_check(self.go, "-http1", usages=[(1401, 51), (1402, 52)], proto="1.1")
        self.call_and_check(self.go_stripped, "-http1", "-stream", usages=[(1411, 61)], proto="1.1", stream=True)

    def test_anthropic_sse_http2(self):
        self.call_and_check(self.go_stripped, "-provider", "anthropic", "-stream", usages=[(1501, 71)], proto="2",
                            stream=True, provider="anthropic")

    def test_twenty_goroutines_one_http2_connection(self):
        usages = [(1600 + i, 80 + i) for i in range(20)]
        ended = metric(self.agent, SOCKET_READ) or 0
        proc = self.run_go(self.go_stripped, "-parallel", usages=usages)
        calls, conns = self.finish(proc)
        # The connection was tied to its socket (nested syscall), so its end is known to have been
        # read: counted as such once the process's exit is handled, and never reported blind.
        wait_metric(self.agent, SOCKET_READ, ended + 1)
        self.assertEqual(conns, 1, "the 20 calls did not share one connection")
        by_input = {int(re.search(r"input=(\d+)", c["usage"]).group(1)): c for c in calls}
        evs = self.events_of(proc.pid, count=20)
        self.assertEqual(sorted((e["gen_ai.usage.input_tokens"], e["gen_ai.usage.output_tokens"]) for e in evs),
                         usages)
        for ev in evs:
            call = by_input[ev["gen_ai.usage.input_tokens"]]
            rid = re.search(r"chatcmpl-[0-9a-f]+", call["body"]).group(0)
            self.assert_go_event(ev, pid=proc.pid, exe=self.go_stripped, usage=(ev["gen_ai.usage.input_tokens"],
                                 ev["gen_ai.usage.output_tokens"]), proto="2", stream=False, response_id=rid)

    def test_not_ai_connection_costs_no_copy(self):
        """Calls to a host outside the AI catalog: the connection is marked not-AI after its first
        request, later calls are skipped in the kernel (their returns still matched, none unmatched),
        and no event comes out; the next AI call is exact."""
        unmatched = metric(self.agent, "shadowmeter_go_unmatched_returns_total")
        not_ai = metric(self.agent, 'shadowmeter_connections_classified_total{class="not_ai"}') or 0
        skipped = metric(self.agent, "shadowmeter_tls_calls_skipped_total")
        for flags in (["-http1"], []):
            proc = self.run_go(self.go_stripped, "-host", "static.example.test", *flags, usages=[(1, 1)] * 4)
            calls, conns = self.finish(proc)
            self.assertEqual([c["status"] for c in calls], [200] * 4)
            self.assertEqual(conns, 1)
            self.call_and_check(self.go_stripped, *flags, usages=[(2001, 3)], proto="1.1" if flags else "2")
            # Records are handled in order: the AI call's event came after anything the first run made.
            self.assertEqual([e for e in self.agent.events if e.get("process.pid") == proc.pid], [])
        self.assertEqual(metric(self.agent, 'shadowmeter_connections_classified_total{class="not_ai"}'), not_ai + 2)
        self.assertEqual(metric(self.agent, "shadowmeter_go_unmatched_returns_total"), unmatched)
        # At least the last three calls of each run (a Write and a Read each) were skipped.
        self.assertGreaterEqual(metric(self.agent, "shadowmeter_tls_calls_skipped_total") - skipped, 12)

    def test_own_mount_namespace(self):
        """The binary exists only in the client's private mount namespace (a tmpfs mounted there): a new
        file, attached at its exec."""
        d = os.path.join(self.workdir, "ns-bin")
        os.makedirs(d, exist_ok=True)
        wrap = ["unshare", "-m", "--propagation", "private", "sh", "-c",
                'mount -t tmpfs none "$1" && cp "$2" "$1/go_client" && shift 2 && exec "$@"', "sh", d,
                self.go_stripped]
        proc = self.hold_until_inspected(os.path.join(d, "go_client"), "attached", "-usage", "input=1701,output=91",
                                         wrap=wrap)
        self.addCleanup(_reap, proc)
        open(proc.go_file, "w").close()
        calls, _ = self.finish(proc)
        self.assertEqual(calls[0]["status"], 200)
        self.assertFalse(os.path.exists(os.path.join(d, "go_client")), "the tmpfs leaked to the host")
        ev, = self.events_of(proc.pid)
        self.assertEqual((ev["gen_ai.usage.input_tokens"], ev["gen_ai.usage.output_tokens"]), (1701, 91))
        self.assertEqual(ev["shadowmeter.tls.library"], "go")
        self.assertEqual(ev["network.protocol.version"], "2")

    def test_refused_binaries_stay_connection_only(self):
        damaged = damaged_copy(self.go_stripped, os.path.join(self.workdir, "go_damaged"))
        before = metric(self.agent, go_outcome("functions_not_found")) or 0
        proc = self.hold_until_inspected(damaged, "functions_not_found", "-usage", "input=1801,output=95")
        self.addCleanup(_reap, proc)
        open(proc.go_file, "w").close()
        calls, _ = self.finish(proc)
        self.assertEqual(calls[0]["status"], 200)
        ev, = self.events_of(proc.pid)
        self.assertEqual(ev["shadowmeter.visibility"], "connection_only")
        self.assertEqual(ev["shadowmeter.visibility.reason"], "go_functions_not_found")
        self.assertEqual(ev["shadowmeter.tls.library"], "go")
        self.assertEqual(ev["tls.client.server_name"], "api.openai.com")
        self.assertNotIn("gen_ai.usage.input_tokens", ev)
        self.assertEqual(metric(self.agent, go_outcome("functions_not_found")), before + 1)
        self.assertIn("crypto/tls.(*Conn).Read not found", self.agent.stderr())

        # A C program with a forged Go build info header: inspected at exec, refused, counted.
        name = go_outcome("no_pclntab")
        before = metric(self.agent, name) or 0
        cat = forged_go_elf("/bin/cat", os.path.join(self.workdir, "not_go_cat"))
        p = subprocess.Popen([cat], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)  # waits on stdin
        self.addCleanup(_reap, p)
        wait_metric(self.agent, name, before + 1)
        p.communicate(b"", timeout=10)
        self.assertEqual(metric(self.agent, name), before + 1)
        self.assertIn("go1.21.5: no .gopclntab section and no pclntab header found", self.agent.stderr())
        self.assertIsNone(self.agent.proc.poll(), "agent died")


class TestGoStartedBeforeAgent(GoCase):
    start_agent = False

    def test_started_before_agent(self):
        go = os.path.join(self.workdir, "go-now")
        proc = self.run_go(self.go_stripped, "-wait-file", go, usages=[(1901, 99)])
        self.read_line(proc, "READY")
        type(self).restart_agent()
        open(go, "w").close()
        calls, _ = self.finish(proc)
        ev, = self.events_of(proc.pid)
        rid = re.search(r"chatcmpl-[0-9a-f]+", calls[0]["body"]).group(0)
        self.assert_go_event(ev, pid=proc.pid, exe=self.go_stripped, usage=(1901, 99), proto="2", stream=False,
                             response_id=rid)


if __name__ == "__main__":
    import unittest
    unittest.main(verbosity=2)
