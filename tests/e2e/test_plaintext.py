"""Plaintext HTTP to self-hosted model servers: a fake Ollama on loopback, configured by host:port in
the agent's `providers:`, called by curl and python (native /api/chat and /api/generate, streamed
NDJSON and not) -> usage events with the server's prompt_eval_count / eval_count and
shadowmeter.tls.library plaintext; plain HTTP to a port that is not configured -> nothing."""
import json
import os
import subprocess
import time
import unittest
import urllib.request

from harness import HERE, PYTHON, Agent, E2ECase, tail


class TestPlaintext(E2ECase):
    start_agent = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        w = cls.workdir
        port_file = os.path.join(w, "ollama.port")
        cls.ollama_log = os.path.join(w, "ollama.log")
        with open(cls.ollama_log, "w") as log:
            cls.ollama = subprocess.Popen([PYTHON, os.path.join(HERE, "fakeollama", "server.py"),
                                           "--port-file", port_file], stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.time() + 10
        while not os.path.exists(port_file):
            if cls.ollama.poll() is not None or time.time() > deadline:
                raise RuntimeError("fake Ollama did not start:\n" + tail(cls.ollama_log))
            time.sleep(0.05)
        with open(port_file) as f:
            cls.oport = int(f.read())
        # A second fake Ollama that is NOT configured: its plain HTTP must cost nothing and give nothing;
        # a third configured by address range (CIDR:port), called under a name the catalog does not know.
        cls.other, cls.other_port = cls.start_ollama("other.port")
        cls.ranged, cls.ranged_port = cls.start_ollama("ranged.port")
        config = os.path.join(w, "agent.yaml")
        with open(config, "w") as f:
            f.write('providers:\n  - {provider: ollama, format: ollama, hosts: ["127.0.0.1:%d", "localhost:%d"]}\n'
                    '  - {provider: ollama, format: ollama, hosts: ["127.0.0.0/8:%d"]}\n'
                    % (cls.oport, cls.oport, cls.ranged_port))
        cls.agent = Agent(w, extra_args=("--config", config))
        # The destinations are resolved off the event loop: wait for them to be installed.
        deadline = time.time() + 10
        while "plaintext HTTP capture for" not in cls.agent.stderr():
            if time.time() > deadline:
                raise RuntimeError("plaintext destinations not installed:\n" + cls.agent.stderr())
            time.sleep(0.05)

    @classmethod
    def start_ollama(cls, name):
        port_file = os.path.join(cls.workdir, name)
        proc = subprocess.Popen([PYTHON, os.path.join(HERE, "fakeollama", "server.py"), "--port-file", port_file],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while not os.path.exists(port_file):
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("fake Ollama did not start")
            time.sleep(0.05)
        with open(port_file) as f:
            return proc, int(f.read())

    @classmethod
    def tearDownClass(cls):
        for p in (cls.ollama, cls.other, cls.ranged):
            p.terminate()
            p.wait(5)
        super().tearDownClass()

    def curl(self, path, body, host="127.0.0.1", port=None):
        proc = subprocess.Popen(["curl", "-s", "--fail", "-d", json.dumps(body),
                                 "http://%s:%d%s" % (host, port or self.oport, path)], stdout=subprocess.PIPE)
        out, _ = proc.communicate(timeout=20)
        self.assertEqual(proc.returncode, 0)
        return proc.pid, out.decode()

    def assert_ollama_event(self, ev, *, pid, exe, operation, usage, stream, path, host="127.0.0.1"):
        self.assertEqual(ev["process.pid"], pid)
        self.assertEqual(ev["process.executable.name"], exe)
        self.assertEqual(ev["gen_ai.provider.name"], "ollama")
        self.assertEqual(ev["gen_ai.operation.name"], operation)
        self.assertEqual(ev["gen_ai.request.model"], "llama3.2")
        self.assertEqual((ev["gen_ai.usage.input_tokens"], ev["gen_ai.usage.output_tokens"]), usage)
        self.assertEqual(ev["shadowmeter.usage.source"], "stream" if stream else "response")
        self.assertEqual(ev["shadowmeter.stream"], stream)
        self.assertEqual(ev["shadowmeter.tls.library"], "plaintext")
        self.assertEqual(ev["shadowmeter.visibility"], "plaintext")
        self.assertEqual(ev["url.path"], path)
        self.assertEqual(ev["server.address"], host)
        self.assertEqual(ev["server.port"], self.oport)
        self.assertEqual(ev["http.response.status_code"], 200)

    def test_curl_chat_streamed(self):
        pid, out = self.curl("/api/chat", {"model": "llama3.2", "messages": [{"role": "user", "content": "hi"}],
                                           "shadowmeter_usage": {"prompt": 31, "completion": 17}})
        self.assertIn('"eval_count": 17', out)
        ev, = self.events_of(pid)
        self.assert_ollama_event(ev, pid=pid, exe="curl", operation="chat", usage=(31, 17), stream=True,
                                 path="/api/chat")

    def test_curl_generate_not_streamed(self):
        pid, _ = self.curl("/api/generate", {"model": "llama3.2", "prompt": "hi", "stream": False,
                                             "shadowmeter_usage": {"prompt": 41, "completion": 19}},
                           host="localhost")
        ev, = self.events_of(pid)
        self.assert_ollama_event(ev, pid=pid, exe="curl", operation="text_completion", usage=(41, 19),
                                 stream=False, path="/api/generate", host="localhost")

    def test_python_keepalive_calls(self):
        """python (http.client, one keep-alive connection): streamed chat, then generate."""
        script = (
            "import http.client, json, sys\n"
            "c = http.client.HTTPConnection('127.0.0.1', %d)\n"
            "for path, body in ((\"/api/chat\", {'model': 'llama3.2', 'messages': [],"
            " 'shadowmeter_usage': {'prompt': 51, 'completion': 23}}),"
            " (\"/api/generate\", {'model': 'llama3.2', 'prompt': 'x', 'stream': False,"
            " 'shadowmeter_usage': {'prompt': 61, 'completion': 29}})):\n"
            "    c.request('POST', path, json.dumps(body), {'Content-Type': 'application/json'})\n"
            "    r = c.getresponse(); r.read(); assert r.status == 200\n" % self.oport)
        proc = subprocess.Popen([PYTHON, "-c", script])
        proc.wait(20)
        self.assertEqual(proc.returncode, 0)
        chat, gen = self.events_of(proc.pid, count=2)
        if chat["url.path"] != "/api/chat":
            chat, gen = gen, chat
        exe = os.path.basename(os.path.realpath(PYTHON))
        self.assert_ollama_event(chat, pid=proc.pid, exe=exe, operation="chat", usage=(51, 23), stream=True,
                                 path="/api/chat")
        self.assert_ollama_event(gen, pid=proc.pid, exe=exe, operation="text_completion", usage=(61, 29),
                                 stream=False, path="/api/generate")

    def test_cidr_destination(self):
        proc = subprocess.Popen(["curl", "-s", "--fail", "-H", "Host: gpu-box.internal:%d" % self.ranged_port,
                                 "-d", json.dumps({"model": "llama3.2", "stream": False, "messages": [],
                                                   "shadowmeter_usage": {"prompt": 71, "completion": 37}}),
                                 "http://127.0.0.1:%d/api/chat" % self.ranged_port], stdout=subprocess.PIPE)
        proc.communicate(timeout=20)
        self.assertEqual(proc.returncode, 0)
        ev, = self.events_of(proc.pid)
        self.assertEqual(ev["server.address"], "gpu-box.internal")
        self.assertEqual(ev["server.port"], self.ranged_port)
        self.assertEqual((ev["gen_ai.usage.input_tokens"], ev["gen_ai.usage.output_tokens"]), (71, 37))
        self.assertEqual(ev["shadowmeter.tls.library"], "plaintext")

    def test_unconfigured_port_gives_nothing(self):
        pid, _ = self.curl("/api/chat", {"model": "llama3.2", "messages": []}, port=self.other_port)
        with urllib.request.urlopen(urllib.request.Request(
                "http://127.0.0.1:%d/api/generate" % self.other_port, data=b'{"model":"llama3.2"}')) as r:
            r.read()
        self.assert_no_events(lambda e: e.get("process.pid") == pid or e.get("server.port") == self.other_port, 2)


if __name__ == "__main__":
    unittest.main()
