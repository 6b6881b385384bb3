"""Connection-level visibility: a call to an AI host over a TLS library without uprobes (Java's JSSE,
GnuTLS) is one `connection_only` event with the SNI host, pid, executable and byte counts and no usage;
the same call through curl (OpenSSL, hooked) is one plaintext event and no blind duplicate; TLS to a
host that is not AI and plain HTTP to a port that is not AI give no event at all."""
import http.server
import os
import random
import shutil
import socketserver
import subprocess
import threading
import time
import unittest

from harness import HERE, PYTHON, E2ECase, java_client, tail, usage_arg

CHAT_BODY = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello (shadowmeter e2e)."}]}'


class QuietHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


def blind(e):
    return e.get("shadowmeter.visibility") == "connection_only"


class TestVisibility(E2ECase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for tool in ("gnutls-cli", "curl"):
            if not shutil.which(tool):
                # install-deps.sh installs them (gnutls-bin): a missing one is a failure.
                raise RuntimeError("%s not found: run packaging/scripts/install-deps.sh" % tool)
        cls.java_cmd = java_client(cls.workdir, cls.server.ca, ["api.openai.com", "static.example.test"])

    def java(self, host="api.openai.com", path="/v1/chat/completions", body=CHAT_BODY):
        cmd = self.java_cmd + ["https://%s:%d%s" % (host, self.server.port, path)] + ([body] if body else [])
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 0, "java client failed: %s" % err.decode())
        self.assertTrue(out.decode().startswith("200 "), out.decode()[:200])
        return proc.pid

    def assert_blind_event(self, ev, *, pid, exe, library, sni="api.openai.com"):
        self.assertEqual(ev["process.pid"], pid)
        self.assertEqual(ev["process.executable.name"], exe)
        self.assertEqual(ev["shadowmeter.visibility"], "connection_only")
        self.assertEqual(ev["shadowmeter.visibility.reason"], "tls_library_not_hooked")
        self.assertEqual(ev["shadowmeter.tls.library"], library)
        self.assertEqual(ev["tls.client.server_name"], sni)
        self.assertEqual(ev["server.address"], sni)
        self.assertEqual(ev["shadowmeter.server.address.source"], "sni")
        self.assertEqual(ev["server.port"], self.server.port)
        self.assertEqual(ev["network.peer.address"], "127.0.0.1")
        self.assertEqual(ev["gen_ai.provider.name"], "openai")
        # One connection, and only what was observed: no usage source, no stream flag.
        self.assertEqual(ev["shadowmeter.connection.count"], 1)
        self.assertNotIn("shadowmeter.usage.source", ev)
        self.assertNotIn("shadowmeter.stream", ev)
        self.assertNotIn("gen_ai.operation.name", ev)
        self.assertGreater(ev["shadowmeter.connection.bytes_sent"], 500)      # hello + request
        self.assertGreater(ev["shadowmeter.connection.bytes_received"], 1000)  # certificate + response
        self.assertGreater(ev["shadowmeter.connection.duration_ns"], 0)
        self.assertEqual(len(ev["shadowmeter.event_id"]), 32)
        self.assertIs(ev["shadowmeter.shadow"], True)
        for key in ev:
            self.assertFalse(key.startswith("gen_ai.usage."), "usage in a connection_only event: " + key)
        self.assertNotIn("shadowmeter.cost.usd", ev)
        self.assertNotIn("url.path", ev)

    def test_java_httpclient_is_connection_only(self):
        pid = self.java()
        ev, = self.events_of(pid, timeout=15)
        self.assert_blind_event(ev, pid=pid, exe="java", library="java")
        self.assertIn("http/1.1", ev["shadowmeter.tls.alpn"].split(","))
        self.assert_no_events(lambda e: e.get("process.pid") == pid and e is not ev, 1.5)

    def test_curl_is_plaintext_not_blind(self):
        pid, _ = self.call("curl", "--usage", usage_arg(311, 47))
        ev, = self.events_of(pid)
        self.assertEqual(ev["shadowmeter.visibility"], "plaintext")
        self.assertEqual(ev["shadowmeter.tls.library"], "openssl")
        self.assertEqual(ev["gen_ai.usage.input_tokens"], 311)
        # A blind connection is reported 1.5 s after its close at the earliest (settle time).
        self.assert_no_events(lambda e: e.get("process.pid") == pid and blind(e), 3.5)

    def test_node_memory_bio_is_not_blind(self):
        """node's static OpenSSL works on memory BIOs (no fd inside SSL calls): its plaintext is matched
        to its socket by process, host and port, so no blind duplicate either."""
        pid, _ = self.call("node", "--usage", usage_arg(313, 49))
        ev, = self.events_of(pid)
        self.assertEqual(ev["shadowmeter.visibility"], "plaintext")
        self.assertEqual(ev["gen_ai.usage.input_tokens"], 313)
        self.assert_no_events(lambda e: e.get("process.pid") == pid and blind(e), 3.5)

    def test_gnutls_cli_is_connection_only(self):
        request = ("POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\nContent-Type: application/json\r\n"
                   "Authorization: Bearer sk-test-fake-key-0000\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s"
                   % (len(CHAT_BODY), CHAT_BODY))
        proc = subprocess.Popen(["gnutls-cli", "--x509cafile", self.server.ca, "--sni-hostname", "api.openai.com",
                                 "--verify-hostname", "api.openai.com", "-p", str(self.server.port), "127.0.0.1"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = proc.communicate(request.encode(), timeout=30)
        self.assertIn(b"HTTP/1.1 200", out, err.decode()[-500:])
        ev, = self.events_of(proc.pid, timeout=15)
        self.assert_blind_event(ev, pid=proc.pid, exe="gnutls-cli", library="gnutls")

    def test_non_ai_connections_give_no_event(self):
        # TLS to a host that is not in the catalog, through Java (blind) and curl (hooked).
        java_pid = self.java(host="static.example.test", path="/static/100", body=None)
        curl_pid, _ = self.call("curl", "--host", "static.example.test", "--static", "100")
        # Plain HTTP to a port that is not a configured destination.
        srv = socketserver.TCPServer(("127.0.0.1", 0), QuietHandler)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        try:
            proc = subprocess.run(["curl", "-s", "-o", "/dev/null", "-d", CHAT_BODY,
                                   "http://127.0.0.1:%d/v1/chat/completions" % srv.server_address[1]],
                                  check=False, timeout=20)
        finally:
            srv.shutdown()
            srv.server_close()
        pids = {java_pid, curl_pid}
        self.assert_no_events(lambda e: e.get("process.pid") in pids or
                              e.get("server.port") == srv.server_address[1], 3)
        self.assertEqual(proc.returncode, 0)

    def test_dns_names_a_connection_without_sni(self):
        """A client resolves through a fake DNS server (its own mount namespace with a resolv.conf naming
        it; answer: a CNAME chain ending in 127.0.0.1), then connects by address without SNI: the event
        is named by the DNS answer's question."""
        w = self.workdir
        ready = os.path.join(w, "dns.ready")
        log = os.path.join(w, "fakedns.log")
        # Port 53 is fixed (resolv.conf has no port): a loopback address of its own avoids any other server.
        listen = "127.0.%d.%d" % (random.randint(100, 250), random.randint(2, 250))
        with open(log, "w") as f:
            dns = subprocess.Popen([PYTHON, os.path.join(HERE, "fakedns", "server.py"), "--listen", listen,
                                    "--name", "api.openai.com", "--address", "127.0.0.1", "--ready-file", ready],
                                   stdout=subprocess.DEVNULL, stderr=f)
        self.addCleanup(lambda: (dns.kill(), dns.wait()))
        deadline = time.time() + 10
        while not os.path.exists(ready):
            if dns.poll() is not None:
                self.fail("fake DNS server failed:\n" + tail(log))
            self.assertLess(time.time(), deadline, "fake DNS server did not start")
            time.sleep(0.05)
        resolv = os.path.join(w, "resolv.conf")
        with open(resolv, "w") as f:
            f.write("nameserver %s\n" % listen)
        script = ("mount --bind %s /etc/resolv.conf && getent ahostsv4 api.openai.com >&2 && "
                  "exec gnutls-cli --disable-sni --insecure -p %d 127.0.0.1" % (resolv, self.server.port))
        proc = subprocess.Popen(["unshare", "-m", "sh", "-c", script], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = proc.communicate(b"GET /static/10 HTTP/1.1\r\nHost: api.openai.com\r\nConnection: close\r\n\r\n",
                                    timeout=30)
        self.assertIn(b"edge.fake-cdn.test", err, err.decode()[-400:])  # the answer came from the fake server
        self.assertIn(b"HTTP/1.1 200", out, err.decode()[-400:])
        ev, = self.events_of(proc.pid, timeout=15)  # exec keeps the pid: the sh became gnutls-cli
        self.assertEqual(ev["shadowmeter.visibility"], "connection_only")
        self.assertEqual(ev["server.address"], "api.openai.com")
        self.assertEqual(ev["shadowmeter.server.address.source"], "dns")
        self.assertNotIn("tls.client.server_name", ev)
        self.assertEqual(ev["shadowmeter.tls.library"], "gnutls")
        self.assertEqual(ev["gen_ai.provider.name"], "openai")

    def test_metrics_count_connection_only(self):
        pid = self.java()
        self.events_of(pid, timeout=15)
        from harness import http_get
        status, text = http_get(self.agent.port, "/metrics")
        self.assertEqual(status, 200)
        line = [l for l in text.splitlines()
                if l.startswith('shadowmeter_connection_only_events_total{tls_library="java"}')]
        self.assertTrue(line and float(line[0].split()[-1]) >= 1, tail(self.agent.stderr_path, 20))


if __name__ == "__main__":
    unittest.main()
