"""The daemons under systemd's protocols, without systemd: $NOTIFY_SOCKET names a datagram socket of
this test, as systemd's would (READY=1 only once /readyz says 200, STATUS= lines, WATCHDOG=1 at the
expected pace from the main loops, STOPPING=1 on SIGTERM); $JOURNAL_STREAM decides the "<N>" priority
prefixes of the log lines. Also `shadowmeter-agent check` against a collector: reachable, refused,
and a TLS server checked with and without the configured CA."""
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from harness import AGENT, CATALOG, FakeServer, free_port, http_get, skip_reason, tail
from collector_harness import COLLECTOR, TOKEN


class NotifySocket:
    """The receiving end of sd_notify(3): every datagram with its arrival time (monotonic). on_ready
    runs in the reader thread as soon as READY=1 arrives, before the next datagram is read."""

    def __init__(self, path, on_ready=None):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.messages = []  # (time, {key: value})
        self.on_ready = on_ready
        self.ready_probe = None
        self.cond = threading.Condition()
        self.stopped = False
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while not self.stopped:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            now = time.monotonic()
            fields = dict(line.split("=", 1) for line in data.decode().split("\n") if "=" in line)
            if fields.get("READY") == "1" and self.on_ready:
                self.ready_probe = self.on_ready()
            with self.cond:
                self.messages.append((now, fields))
                self.cond.notify_all()

    def wait_for(self, key, value="1", timeout=30, proc=None):
        """(arrival time, fields) of the first message with key=value; (None, None) at the timeout or
        once `proc` has exited without sending it."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for t, m in self.messages:
                    if m.get(key) == value:
                        return t, m
                left = deadline - time.monotonic()
                if left <= 0 or (proc is not None and proc.poll() is not None and not self.cond.wait(0.3)):
                    return None, None
                self.cond.wait(min(left, 0.5))

    def times(self, key, value="1"):
        with self.cond:
            return [t for t, m in self.messages if m.get(key) == value]

    def close(self):
        self.stopped = True
        self.thread.join(2)
        self.sock.close()


def gaps(times):
    return [b - a for a, b in zip(times, times[1:])]


def stderr_lines(path):
    with open(path, errors="replace") as f:
        return [l.rstrip("\n") for l in f if l.strip()]


class SystemdProtocols(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        reason = skip_reason()
        if reason:
            print("SKIP: " + reason, file=sys.stderr)
            raise unittest.SkipTest(reason)
        for binary in (AGENT, COLLECTOR):
            if not os.access(binary, os.X_OK):
                raise RuntimeError("binary not found: %s" % binary)
        cls.workdir = tempfile.mkdtemp(prefix="shadowmeter-systemd-")
        cls.secret = os.path.join(cls.workdir, "fingerprint.key")
        fd = os.open(cls.secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("systemd-e2e-fingerprint-secret-0123456789abcdef")
        cls.tokens = os.path.join(cls.workdir, "collector.tokens")
        fd = os.open(cls.tokens, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(TOKEN + "\n")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.workdir, ignore_errors=True)

    def spawn(self, name, cmd, env, shell_pid=False):
        """Starts a daemon with stderr in a file; shell_pid sets WATCHDOG_PID to the daemon's own pid
        (a shell that execs it), as systemd does."""
        err_path = os.path.join(self.workdir, "%s-%d.stderr" % (name, time.monotonic_ns()))
        err = open(err_path, "w")
        self.addCleanup(err.close)
        full_env = dict(os.environ, **env)
        for k in [k for k, v in full_env.items() if v is None]:
            del full_env[k]
        if shell_pid:
            cmd = ["/bin/sh", "-c", 'WATCHDOG_PID=$$; export WATCHDOG_PID; exec "$@"', "sh", *cmd]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=full_env)

        def stop():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.addCleanup(stop)
        return proc, err_path

    def notify_socket(self, on_ready=None):
        path = os.path.join(self.workdir, "notify-%d.sock" % time.monotonic_ns())
        sock = NotifySocket(path, on_ready)
        self.addCleanup(sock.close)
        return sock

    def terminate(self, proc, sock, err_path):
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            self.fail("no exit 30 s after SIGTERM:\n" + tail(err_path))
        exited = time.monotonic()
        self.assertEqual(rc, 0, tail(err_path))
        t, msg = sock.wait_for("STOPPING", timeout=1)
        self.assertIsNotNone(t, "no STOPPING=1 on SIGTERM: %s" % sock.messages)
        self.assertLess(t, exited)
        self.assertTrue(msg.get("STATUS", "").startswith("stopping"), msg)

    def start_agent(self, sock, env, port):
        cmd = [AGENT, "--listen", "127.0.0.1:%d" % port, "--catalog", CATALOG,
               "--fingerprint-secret-file", self.secret, "--kubernetes", "false"]
        return self.spawn("agent", cmd, dict(NOTIFY_SOCKET=sock.path, **env))

    # --- the agent ------------------------------------------------------------------------------

    def test_agent_ready_watchdog_stopping_journal(self):
        port = free_port()
        started = time.monotonic()
        sock = self.notify_socket(on_ready=lambda: http_get(port, "/readyz", timeout=5)[0])
        # stderr is a file; JOURNAL_STREAM names it, as systemd names the journal's stream.
        err_path = os.path.join(self.workdir, "agent-journal.stderr")
        open(err_path, "w").close()
        st = os.stat(err_path)
        with open(err_path, "w") as err:
            env = dict(os.environ, NOTIFY_SOCKET=sock.path, WATCHDOG_USEC="4000000",
                       JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
            env.pop("WATCHDOG_PID", None)  # unset: the watchdog is ours
            proc = subprocess.Popen([AGENT, "--listen", "127.0.0.1:%d" % port, "--catalog", CATALOG,
                                     "--fingerprint-secret-file", self.secret, "--kubernetes", "false"],
                                    stdout=subprocess.DEVNULL, stderr=err, env=env)
        self.addCleanup(lambda: proc.poll() is None and (proc.kill(), proc.wait()))

        t_ready, ready = sock.wait_for("READY", timeout=60, proc=proc)
        self.assertIsNotNone(t_ready, "no READY=1 within 60 s:\n%s" % tail(err_path))
        # Asked from the reader thread the moment READY=1 arrived: the agent was ready by then.
        self.assertEqual(sock.ready_probe, 200, "READY=1 before /readyz said 200")
        self.assertRegex(ready.get("STATUS", ""), r"^capturing: \d+ files probed, \d+ AI calls metered")
        print("agent: READY=1 %.2f s after start" % (t_ready - started), file=sys.stderr)

        time.sleep(5.5)
        kicks = [t for t in sock.times("WATCHDOG") if t >= t_ready]
        self.assertGreaterEqual(len(kicks), 4, "WATCHDOG=1 at %s" % kicks)
        g = gaps(kicks)
        print("agent: %d WATCHDOG=1, gaps %.2f..%.2f s (median %.2f)"
              % (len(kicks), min(g), max(g), statistics.median(g)), file=sys.stderr)
        # The 1 s tick sends them: well inside half the 4 s timeout.
        self.assertLess(max(g), 2.0, g)
        self.assertGreater(statistics.median(g), 0.7, g)
        self.assertLess(statistics.median(g), 1.4, g)

        self.terminate(proc, sock, err_path)
        lines = stderr_lines(err_path)
        self.assertTrue(lines)
        bad = [l for l in lines if not re.match(r"^<[3467]>", l) and not l.startswith("<4>libbpf")]
        self.assertEqual(bad, [], "lines without a priority prefix under JOURNAL_STREAM")
        self.assertTrue(any(l.startswith("<6>probes attached to ") for l in lines), lines)
        self.assertFalse(any(l.startswith(("info: ", "warning: ", "error: ")) for l in lines), lines)

    def test_agent_watchdog_of_another_process_is_ignored(self):
        """WATCHDOG_PID of someone else (an inherited environment): no keep-alives, READY still."""
        port = free_port()
        sock = self.notify_socket()
        proc, err = self.start_agent(sock, {"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "1"}, port)
        t_ready, _ = sock.wait_for("READY", timeout=60, proc=proc)
        self.assertIsNotNone(t_ready, tail(err))
        time.sleep(2.5)
        self.assertEqual(sock.times("WATCHDOG"), [])
        self.terminate(proc, sock, err)
        # Not the journal: the level is written out.
        lines = stderr_lines(err)
        self.assertTrue(any(l.startswith("info: probes attached to ") for l in lines), lines)
        self.assertFalse(any(re.match(r"^<\d>", l) for l in lines), lines)

    # --- the collector --------------------------------------------------------------------------

    def start_collector(self, sock, env, port, shell_pid=False):
        cmd = [COLLECTOR, "--listen", "127.0.0.1:%d" % port, "--db",
               "sqlite:" + os.path.join(self.workdir, "c-%d.db" % port), "--auth-token-file", self.tokens]
        return self.spawn("collector", cmd, dict(NOTIFY_SOCKET=sock.path, **env), shell_pid=shell_pid)

    def test_collector_ready_watchdog_stopping(self):
        port = free_port()
        sock = self.notify_socket(on_ready=lambda: http_get(port, "/readyz", timeout=5)[0])
        # WATCHDOG_PID = the collector's own pid; 2 s timeout -> a keep-alive every second.
        proc, err = self.start_collector(sock, {"WATCHDOG_USEC": "2000000"}, port, shell_pid=True)
        t_ready, ready = sock.wait_for("READY", timeout=30, proc=proc)
        self.assertIsNotNone(t_ready, tail(err))
        self.assertEqual(sock.ready_probe, 200, "READY=1 before /readyz said 200")
        self.assertEqual(ready.get("STATUS"), "listening on 127.0.0.1:%d (port %d, plain HTTP)" % (port, port))
        time.sleep(4.5)
        kicks = sock.times("WATCHDOG")
        self.assertGreaterEqual(len(kicks), 4, kicks)
        g = gaps(kicks)
        print("collector: %d WATCHDOG=1, gaps %.2f..%.2f s" % (len(kicks), min(g), max(g)), file=sys.stderr)
        self.assertLess(max(g), 1.3, g)  # min(15 s, 2 s / 2)
        self.assertGreater(min(g), 0.8, g)
        self.terminate(proc, sock, err)
        lines = stderr_lines(err)
        self.assertTrue(any(l.startswith("info: shadowmeter-collector ") for l in lines), lines)

    def test_collector_journal_prefixes(self):
        """JOURNAL_STREAM of another file (stderr redirected): plain; of stderr itself: priorities."""
        for matching in (False, True):
            with self.subTest(matching=matching):
                port = free_port()
                sock = self.notify_socket()
                err_path = os.path.join(self.workdir, "collector-journal-%s.stderr" % matching)
                with open(err_path, "w") as err:
                    st = os.fstat(err.fileno())
                    ino = st.st_ino if matching else st.st_ino + 1
                    env = dict(os.environ, NOTIFY_SOCKET=sock.path, JOURNAL_STREAM="%d:%d" % (st.st_dev, ino))
                    proc = subprocess.Popen(
                        [COLLECTOR, "--listen", "127.0.0.1:%d" % port, "--db",
                         "sqlite:" + os.path.join(self.workdir, "j-%d.db" % port), "--insecure-no-auth"],
                        stdout=subprocess.DEVNULL, stderr=err, env=env)
                self.addCleanup(lambda p=proc: p.poll() is None and (p.kill(), p.wait()))
                self.assertIsNotNone(sock.wait_for("READY", timeout=30, proc=proc)[0], tail(err_path))
                self.terminate(proc, sock, err_path)
                lines = stderr_lines(err_path)
                if matching:
                    self.assertTrue(any(l.startswith("<4>!!! INSECURE") for l in lines), lines)
                    self.assertTrue(any(l.startswith("<6>shadowmeter-collector ") for l in lines), lines)
                    self.assertEqual([l for l in lines if not re.match(r"^<[3467]>", l)], [])
                else:
                    self.assertTrue(any(l.startswith("warning: !!! INSECURE") for l in lines), lines)
                    self.assertFalse(any(re.match(r"^<\d>", l) for l in lines), lines)

    # --- `shadowmeter-agent check` against a collector -------------------------------------------

    def check(self, *args):
        out = subprocess.run([AGENT, "check", "--catalog", CATALOG, *args], capture_output=True, text=True,
                             timeout=60)
        lines = out.stdout.splitlines()
        coll = [i for i, l in enumerate(lines) if "collector reachable" in l]
        self.assertEqual(len(coll), 1, out.stdout + out.stderr)
        fix = lines[coll[0] + 1] if coll[0] + 1 < len(lines) else ""
        return out.returncode, lines[coll[0]], fix, out.stdout

    def test_check_collector(self):
        port = free_port()
        sock = self.notify_socket()
        proc, err = self.start_collector(sock, {}, port)
        self.assertIsNotNone(sock.wait_for("READY", timeout=30, proc=proc)[0], tail(err))
        url = "http://127.0.0.1:%d/v1/traces" % port

        rc, line, _, out = self.check("--collector", url)
        self.assertEqual(rc, 0, out)
        self.assertRegex(line, r"^OK   collector reachable \(%s\): connected to 127\.0\.0\.1 port %d, plain HTTP, "
                               r"GET /healthz: 200$" % (re.escape(url), port))
        self.terminate(proc, sock, err)

        # Nothing listens any more: a failure, which does not block (the spool covers outages).
        rc, line, fix, out = self.check("--collector", url)
        self.assertEqual(rc, 0, out)
        self.assertRegex(line, r"^FAIL collector reachable .*connecting to 127\.0\.0\.1:%d: Connection refused" % port)
        self.assertIn("not blocking", fix)

    def test_check_collector_tls(self):
        """A TLS server on loopback (the fake provider, whose certificate has IP:127.0.0.1): the handshake
        succeeds only with the configured CA; it has no /healthz, which is reported."""
        server = FakeServer(self.workdir, verbose=False)
        self.addCleanup(server.stop)
        url = "https://127.0.0.1:%d/v1/traces" % server.port
        rc, line, _, out = self.check("--collector", url, "--collector-ca-file", server.ca)
        self.assertEqual(rc, 0, out)
        self.assertRegex(line, r"^FAIL collector reachable .*connected to 127\.0\.0\.1 port %d, TLS TLSv1\.[23], "
                               r"GET /healthz: 404$" % server.port)
        rc, line, _, out = self.check("--collector", url)  # the system CAs do not know the test CA
        self.assertEqual(rc, 0, out)
        self.assertRegex(line, r"^FAIL collector reachable .*TLS handshake with 127\.0\.0\.1:%d: .*certificate verify "
                               r"failed.*\(verified against the system CAs\)" % server.port)


if __name__ == "__main__":
    unittest.main()
