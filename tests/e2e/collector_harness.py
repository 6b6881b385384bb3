"""The collector under test, its databases, and the agent configured to export to it.

SHADOWMETER_COLLECTOR names the binary (default build/collectors/shadowmeter-collector). PostgreSQL
tests use the server that packaging/scripts/start-postgres.sh starts (root is a superuser over the
local socket); each test creates its own database and drops it.
"""
import gzip
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

from harness import REPO, PYTHON, HERE, Agent, free_port, http_get, tail

COLLECTOR = os.environ.get("SHADOWMETER_COLLECTOR") or os.path.join(
    REPO, "build/collectors/shadowmeter-collector")
TOKEN = "e2e-collector-token-7f3a9c2b41d8"


def otlp_value(v):
    """An OTLP JSON AnyValue for a Python attribute value (bool before int: bool is an int)."""
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    return {"stringValue": v}


def otlp_span(attrs, name, start_ns, end_ns):
    """One usage event as an OTLP span (CLIENT), ids taken from its shadowmeter.event_id."""
    eid = attrs["shadowmeter.event_id"]
    return {"traceId": eid, "spanId": eid[:16], "name": name, "kind": 3,
            "startTimeUnixNano": str(start_ns), "endTimeUnixNano": str(end_ns),
            "attributes": [{"key": k, "value": otlp_value(v)} for k, v in attrs.items()]}


def otlp_traces(spans, resource):
    """An ExportTraceServiceRequest: `resource` (ordered name -> string) and one scope of spans."""
    return {"resourceSpans": [{"resource": {"attributes": [
        {"key": k, "value": {"stringValue": v}} for k, v in resource.items()]},
        "scopeSpans": [{"scope": {"name": "shadowmeter"}, "spans": spans}]}]}


def postgres_reason():
    """Why PostgreSQL cannot be used here, or None."""
    try:
        out = subprocess.run(["psql", "-Atqc", "select 1", "postgres"], capture_output=True, text=True,
                             timeout=10)
    except (OSError, subprocess.TimeoutExpired) as e:
        return "psql not usable: %s" % e
    if out.returncode != 0 or out.stdout.strip() != "1":
        return "PostgreSQL not reachable as root (run packaging/scripts/start-postgres.sh): " + out.stderr.strip()
    return None


def psql(sql, db="postgres"):
    out = subprocess.run(["psql", "-v", "ON_ERROR_STOP=1", "-Atqc", sql, db], capture_output=True, text=True,
                         timeout=60)
    if out.returncode != 0:
        raise RuntimeError("psql %r: %s" % (sql, out.stderr))
    return out.stdout


class Database:
    """A fresh database of one back end: its --db URL and direct queries for the oracle checks."""

    def __init__(self, backend, workdir, name):
        self.backend = backend
        if backend == "sqlite":
            self.path = os.path.join(workdir, name + ".db")
            self.url = "sqlite:" + self.path
        else:
            self.name = "shadowmeter_e2e_%d_%s" % (os.getpid(), name)
            psql('DROP DATABASE IF EXISTS "%s"' % self.name)
            psql('CREATE DATABASE "%s"' % self.name)
            self.url = "postgresql:///" + self.name

    def rows(self, sql):
        """Rows of a query as lists of strings (None for NULL); empty before the schema exists."""
        if self.backend == "sqlite":
            if not os.path.exists(self.path):
                return []
            con = sqlite3.connect("file:%s?mode=ro" % self.path, uri=True, timeout=30)
            try:
                return [[None if v is None else str(v) for v in r] for r in con.execute(sql)]
            except sqlite3.OperationalError as e:
                if "no such table" in str(e):
                    return []
                raise
            finally:
                con.close()
        try:
            text = psql("COPY (%s) TO STDOUT WITH (FORMAT csv)" % sql, self.name)
        except RuntimeError as e:
            if "does not exist" in str(e):
                return []
            raise
        import csv
        import io
        return [[None if v == "" else v for v in r] for r in csv.reader(io.StringIO(text))]

    def event_ids(self):
        return [r[0] for r in self.rows("SELECT event_id FROM calls")]

    def gap_dropped(self):
        rows = self.rows("SELECT dropped_events FROM gaps")
        return sum(int(r[0] or 0) for r in rows)

    def drop(self):
        if self.backend == "postgresql":
            psql('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % self.name)


class Collector:
    """shadowmeter-collector on a fixed loopback port, restartable (kill -9 or SIGTERM)."""

    def __init__(self, workdir, db_url, *, port=None, scheme="http", extra_args=(), token=TOKEN):
        if not os.access(COLLECTOR, os.X_OK):
            raise RuntimeError("collector binary not found: %s (set SHADOWMETER_COLLECTOR)" % COLLECTOR)
        self.workdir, self.db_url, self.scheme = workdir, db_url, scheme
        self.port = port or free_port()
        self.token = token
        self.token_file = os.path.join(workdir, "collector.tokens")
        fd = os.open(self.token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("# e2e\n%s\n" % token)
        self.log = os.path.join(workdir, "collector-%d.log" % self.port)
        self.extra_args = list(extra_args)
        self.proc = None
        self.starts = 0
        self.start()

    @property
    def url(self):
        return "%s://127.0.0.1:%d/v1/traces" % (self.scheme, self.port)

    def start(self, timeout=30):
        cmd = [COLLECTOR, "--listen", "127.0.0.1:%d" % self.port, "--db", self.db_url,
               "--auth-token-file", self.token_file, *self.extra_args]
        with open(self.log, "a") as log:
            log.write("----- start %d -----\n" % self.starts)
            log.flush()
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=log)
        self.starts += 1
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("collector exited with %s:\n%s" % (self.proc.returncode, tail(self.log)))
            if self.scheme == "https" or http_get(self.port, "/readyz", timeout=1)[0] == 200:
                if self.scheme == "http" or self._tls_listening():
                    return
            time.sleep(0.05)
        raise RuntimeError("collector not ready after %ds:\n%s" % (timeout, tail(self.log)))

    def _tls_listening(self):
        import socket
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self, timeout=15):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else None

    def request(self, method, path, body=None, headers=None, token=True, timeout=30):
        """(status, headers, body) of a plain-http request."""
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + (self.token if token is True else token)
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.port, path), data=body, method=method,
                                     headers=h)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def post_traces(self, doc, gzipped=False, **kw):
        body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
        headers = {"Content-Type": "application/json"}
        if gzipped:
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        headers.update(kw.pop("headers", {}))
        return self.request("POST", "/v1/traces", body, headers, **kw)

    def api(self, path):
        status, _, body = self.request("GET", path)
        if status != 200:
            raise AssertionError("GET %s: %d %s" % (path, status, body[:300]))
        return json.loads(body)


def export_config(workdir, name, **export):
    """An agent config file whose export: section has test-friendly timings plus `export`."""
    settings = {"spool_dir": os.path.join(workdir, name + "-spool"), "backoff_min_ms": 100,
                "backoff_max_ms": 1000, "batch_max_delay_ms": 200, "heartbeat_seconds": 1,
                "request_timeout_ms": 3000}
    settings.update(export)
    path = os.path.join(workdir, name + ".yaml")
    with open(path, "w") as f:
        f.write("export:\n")
        for k, v in settings.items():
            f.write("  %s: %s\n" % (k, json.dumps(v)))
    return path


def exporting_agent(workdir, collector, config, extra=()):
    token_file = os.path.join(workdir, "agent.token")
    with open(token_file, "w") as f:
        f.write(collector.token + "\n")
    return Agent(workdir, extra_args=["--config", config, "--collector", collector.url,
                                      "--collector-token-file", token_file, *extra])


class Load:
    """clients/load_client.py against the fake provider until stop()."""

    def __init__(self, workdir, server, interval=0.02):
        self.stop_file = os.path.join(workdir, "load.stop.%d" % time.monotonic_ns())
        self.proc = subprocess.Popen(
            [PYTHON, os.path.join(HERE, "clients", "load_client.py"), "--port", str(server.port), "--ca",
             server.ca, "--stop-file", self.stop_file, "--interval", str(interval)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("READY"):
            raise RuntimeError("load client did not start: %s %s" % (line, self.proc.stderr.read()))

    def stop(self):
        with open(self.stop_file, "w"):
            pass
        out, err = self.proc.communicate(timeout=60)
        lines = [l for l in out.splitlines() if l.startswith("{")]
        if self.proc.returncode != 0 or not lines:
            raise RuntimeError("load client failed (%s): %s" % (self.proc.returncode, err[-2000:]))
        return json.loads(lines[-1])

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


def metric(agent, name, labels=""):
    """Value of one series in the agent's /metrics (0 when absent)."""
    status, text = http_get(agent.port, "/metrics")
    if status != 200:
        return 0.0
    want = name + ("{%s}" % labels if labels else "")
    for line in text.splitlines():
        if line.startswith(want + " "):
            return float(line.split()[-1])
    return 0.0


def start_backend_collector(cls, name, extra_args=()):
    """setUpClass of a test class with BACKEND: skips (with the reason printed) when that back end is
    unavailable, else sets cls.workdir, cls.db and cls.collector."""
    reason = (cls.BACKEND == "postgresql" and postgres_reason()) or None
    if reason:
        print("SKIP: " + reason, file=sys.stderr)
        raise unittest.SkipTest(reason)
    cls.workdir = tempfile.mkdtemp(prefix="shadowmeter-%s-e2e-" % name)
    cls.db = Database(cls.BACKEND, cls.workdir, name)
    cls.collector = Collector(cls.workdir, cls.db.url, extra_args=extra_args)


def stop_backend_collector(cls):
    """tearDownClass of start_backend_collector: the collector must exit cleanly on SIGTERM."""
    code = cls.collector.stop()
    cls.db.drop()
    shutil.rmtree(cls.workdir, ignore_errors=True)
    if code != 0:
        raise AssertionError("collector exited with %s on SIGTERM" % code)
