"""The collector's receiver facing bad input, its TLS and mTLS, and idempotent ingest, on SQLite and
PostgreSQL; and an agent exporting over mTLS.

Bad input (no token, wrong token, oversized body, gzip bomb, malformed JSON, wrong types, bad event id,
wrong content type) must get the proper 4xx, store nothing and leave the collector up.
"""
import gzip
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

from harness import FakeServer, http_get, skip_reason, tail
from collector_harness import (Collector, Database, Load, export_config, exporting_agent, otlp_span, otlp_traces,
                               start_backend_collector, stop_backend_collector)

MAX_BODY = 1 << 20


def event_id(n):
    return "%032x" % (0x5eed0000000000000000000000000000 + n)


def span(n, **attrs):
    a = {"shadowmeter.event_id": event_id(n), "gen_ai.provider.name": "openai",
         "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini",
         "gen_ai.usage.input_tokens": 10 + n, "gen_ai.usage.output_tokens": 5,
         "shadowmeter.owner": "team-a" if n % 2 else "team-b"}
    a.update(attrs)
    t = 1_760_000_000_000_000_000 + n * 1_000_000
    return otlp_span(a, "chat gpt-4o-mini", t, t + 1000)


def traces(spans, host="node-e2e"):
    return otlp_traces(spans, {"service.name": "shadowmeter-agent", "host.name": host})


class IngestChecks:
    BACKEND = None

    @classmethod
    def setUpClass(cls):
        start_backend_collector(cls, "ingest", extra_args=["--max-body-bytes", str(MAX_BODY)])

    @classmethod
    def tearDownClass(cls):
        stop_backend_collector(cls)

    def assert_alive_and_empty(self):
        self.assertIsNone(self.collector.proc.poll(), "collector died:\n" + tail(self.collector.log))
        self.assertEqual(http_get(self.collector.port, "/healthz")[0], 200)
        self.assertEqual(self.db.event_ids(), [])

    def test_1_bad_input_gets_4xx_and_stores_nothing(self):
        c = self.collector
        good = traces([span(1)])
        cases = [
            ("no token", lambda: c.post_traces(good, token=False), 401),
            ("wrong token", lambda: c.post_traces(good, token="not-the-token"), 401),
            ("oversized", lambda: c.post_traces(b"{" + b" " * (2 * MAX_BODY) + b"}"), 413),
            ("gzip bomb", lambda: c.post_traces(b"[" + b" " * (64 * MAX_BODY) + b"]", gzipped=True), 413),
            ("not gzip", lambda: c.post_traces(b"definitely not gzip", headers={"Content-Encoding": "gzip"}), 400),
            ("malformed json", lambda: c.post_traces(b'{"resourceSpans": [ {'), 400),
            ("wrong types", lambda: c.post_traces({"resourceSpans": [{"scopeSpans": [{"spans": [
                dict(span(2), attributes=[{"key": "shadowmeter.event_id", "value": {"intValue": {"x": 1}}}])]}]}]}),
             400),
            ("spans not a list", lambda: c.post_traces({"resourceSpans": [{"scopeSpans": [{"spans": 7}]}]}), 400),
            ("bad event id", lambda: c.post_traces(traces([span(3, **{"shadowmeter.event_id": "../../etc"})])), 400),
            ("text/plain", lambda: c.post_traces(good, headers={"Content-Type": "text/plain"}), 415),
            ("protobuf", lambda: c.post_traces(b"\x0a\x00", headers={"Content-Type": "application/x-protobuf"}), 415),
        ]
        for name, send, want in cases:
            with self.subTest(name):
                status, headers, body = send()
                self.assertEqual(status, want, "%s: %s" % (name, body[:200]))
                if want == 401:
                    self.assertIn("Bearer", headers.get("WWW-Authenticate", ""))
        self.assert_alive_and_empty()
        self.assertEqual(c.request("GET", "/api/v1/calls", token=False)[0], 401)
        self.assertEqual(c.request("GET", "/no/such/path")[0], 404)
        self.assertEqual(c.request("DELETE", "/v1/traces")[0], 405)
        status, _, metrics = c.request("GET", "/metrics", token=False)
        self.assertEqual(status, 200)
        text = metrics.decode()
        for reason in ("unauthorized", "too_large", "malformed", "bad_content_type"):
            self.assertRegex(text, r'shadowmeter_collector_rejected_requests_total\{reason="%s"\} [1-9]' % reason)

    def test_2_idempotent_ingest_and_query_api(self):
        c = self.collector
        batch = traces([span(n) for n in range(10, 60)])
        for gz in (False, True, False):  # the same batch three times: stored once
            status, _, body = c.post_traces(batch, gzipped=gz)
            self.assertEqual(status, 200, body)
            self.assertIn("partialSuccess", json.loads(body))
        ids = self.db.event_ids()
        self.assertEqual(sorted(ids), sorted(event_id(n) for n in range(10, 60)))
        # pagination: 50 calls in pages of 7, newest first, none twice
        seen, cursor = [], ""
        for _ in range(20):
            page = c.api("/api/v1/calls?limit=7" + ("&cursor=" + cursor if cursor else ""))
            seen += [e["shadowmeter.event_id"] for e in page["calls"]]
            cursor = page.get("next_cursor", "")
            if not cursor:
                break
        self.assertEqual(seen, [event_id(n) for n in range(59, 9, -1)])
        team_a = c.api("/api/v1/calls?owner=team-a&limit=1000")["calls"]
        self.assertEqual(len(team_a), 25)
        self.assertTrue(all(e["shadowmeter.owner"] == "team-a" for e in team_a))
        one = c.api("/api/v1/calls?limit=1")["calls"][0]
        self.assertEqual(one["gen_ai.usage.input_tokens"], 10 + 59)
        self.assertEqual(one["host.name"], "node-e2e")
        self.assertEqual(c.request("GET", "/api/v1/calls?limit=abc")[0], 400)
        self.assertEqual(c.request("GET", "/api/v1/calls?cursor=garbage")[0], 400)


class IngestSqlite(IngestChecks, unittest.TestCase):
    BACKEND = "sqlite"


class IngestPostgres(IngestChecks, unittest.TestCase):
    BACKEND = "postgresql"

    def test_3_replicas_sharing_one_database_store_each_event_once(self):
        """Several collectors behind one load balancer: the same batches reach two replicas at once."""
        import threading
        other = Collector(self.workdir, self.db.url, extra_args=["--max-body-bytes", str(MAX_BODY)])
        try:
            batches = [traces([span(n) for n in range(1000 + 100 * b, 1100 + 100 * b)]) for b in range(8)]
            statuses = []

            def send(c):
                for doc in batches:
                    statuses.append(c.post_traces(doc, gzipped=True)[0])

            threads = [threading.Thread(target=send, args=(c,)) for c in (self.collector, other)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assertEqual(statuses, [200] * 16)
            stored = [i for i in self.db.event_ids() if int(i, 16) >= int(event_id(1000), 16)]
            self.assertEqual(sorted(stored), sorted(event_id(n) for n in range(1000, 1800)))
        finally:
            self.assertEqual(other.stop(), 0)


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def make_pki(d):
    """CA, collector server certificate (127.0.0.1), and an agent client certificate (CN=node-7)."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=e2e collector CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    for name, cn, ext in (("server", "127.0.0.1", "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n"),
                          ("client", "node-7", "extendedKeyUsage=clientAuth\n")):
        openssl("req", *ec, "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + cn, cwd=d)
        with open(os.path.join(d, name + ".ext"), "w") as f:
            f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n" + ext)
        openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", name + ".pem", "-days", "2", "-extfile", name + ".ext", cwd=d)
    return {k: os.path.join(d, v) for k, v in (("ca", "ca.pem"), ("cert", "server.pem"), ("key", "server.key"),
                                               ("client_cert", "client.pem"), ("client_key", "client.key"))}


class MutualTls(unittest.TestCase):
    """Collector with TLS and required client certificates; the agent exports through it."""

    @classmethod
    def setUpClass(cls):
        reason = skip_reason()
        if reason:
            print("SKIP: " + reason, file=sys.stderr)
            raise unittest.SkipTest(reason)
        cls.workdir = tempfile.mkdtemp(prefix="shadowmeter-mtls-e2e-")
        cls.pki = make_pki(cls.workdir)
        cls.db = Database("sqlite", cls.workdir, "mtls")
        cls.collector = Collector(cls.workdir, cls.db.url, scheme="https", extra_args=[
            "--tls-cert", cls.pki["cert"], "--tls-key", cls.pki["key"], "--tls-client-ca", cls.pki["ca"],
            "--require-client-cert"])

    @classmethod
    def tearDownClass(cls):
        cls.collector.stop()
        shutil.rmtree(cls.workdir, ignore_errors=True)

    def https(self, path, body=None, client_cert=True, token=True):
        ctx = ssl.create_default_context(cafile=self.pki["ca"])
        if client_cert:
            ctx.load_cert_chain(self.pki["client_cert"], self.pki["client_key"])
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = "Bearer " + self.collector.token
        req = urllib.request.Request("https://127.0.0.1:%d%s" % (self.collector.port, path), data=body,
                                     headers=headers, method="POST" if body is not None else "GET")
        try:
            with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def test_client_without_certificate_is_refused(self):
        with self.assertRaises((ssl.SSLError, urllib.error.URLError, ConnectionResetError, OSError)):
            self.https("/api/v1/agents", client_cert=False)

    def test_token_still_required_over_mtls(self):
        self.assertEqual(self.https("/v1/traces", json.dumps(traces([span(900)])).encode(), token=False)[0], 401)

    def test_agent_exports_over_mtls(self):
        server = FakeServer(self.workdir, verbose=False)
        agent = None
        try:
            cfg = export_config(self.workdir, "mtls-agent", ca_file=self.pki["ca"],
                                client_cert_file=self.pki["client_cert"], client_key_file=self.pki["client_key"])
            agent = exporting_agent(self.workdir, self.collector, cfg)
            load = Load(self.workdir, server)
            time.sleep(2)
            load.stop()
            time.sleep(1.5)
            oracle = {e["shadowmeter.event_id"] for e in agent.events}
            self.assertTrue(oracle)
            deadline = time.time() + 30
            while time.time() < deadline and not oracle <= set(self.db.event_ids()):
                time.sleep(0.5)
            self.assertEqual(set(self.db.event_ids()), oracle)
            principals = {r[0] for r in self.db.rows("SELECT principal FROM calls")}
            self.assertEqual(len(principals), 1, principals)
            self.assertRegex(principals.pop(), r"^(token:[0-9a-f]{12}|mtls:node-7)$")
        finally:
            if agent:
                agent.stop()
            server.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
