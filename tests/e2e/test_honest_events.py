"""Nothing secret, nothing misleading in events, with real clients, the real agent and the real collector.

Keys and prompts are planted in the argv of real clients: python3 -c with the request and its headers
as JSON arguments, curl -H 'x-api-key: ...' and -H "api-key: ...", env OPENAI_API_KEY=... python3 ...
with the key as a NAME=value argument too, a coding-agent-like CLI named claude with the prompt as its
argument, and a key in no recognisable shape that the client both takes as an argument and sends. None
of them may reach the stdout events, the agent's log, its spool, the collector's database or log,
either /metrics, the reports (JSON and CSV), the calls API or the dashboard.

Connection level: a Java client (JSSE, not hooked) making 3 requests on one connection and 1 on a second
gives exactly 2 connection events, and the coverage report counts 2 blind connections and no call.
"""
import base64
import glob
import json
import os
import shutil
import subprocess
import sys
import time
import unittest

from harness import PYTHON, MultiServer, _reap, e2e_workdir, exe_of, http_get, java_client, tail
from collector_harness import Collector, Database, export_config, exporting_agent

KEY_ANTHROPIC = "sk-ant-api03-e2eHonest7Qw9Zr4Xy2Lk8Mn3Bv6Cx1Dz5Fa0GhJ-AbCdEfAA"
KEY_AZURE = "3f9a1c7e5b2d4a6c8e0f1a3b5c7d9e1f"              # Azure keys: 32 hex digits, no prefix
KEY_OPENAI = "sk-proj-e2eHonestAb12Cd34Ef56Gh78Ij90Kl12Mn34Op56"
KEY_BARE = "gw-honest-7f3a9c1e55d0b2a4"                     # no known shape, no name: only the exact scrub
PROMPT_JSON = "Draft the layoff plan for the Lisbon office"
PROMPT_CURL = "Summarise the confidential merger memo for Project Bluebird"
PROMPT_CLI = "Refactor the billing module so auditors never notice the rounding"
PROMPT_FLAG = "List every salary above the threshold in the finance share"
PLANTED = (KEY_ANTHROPIC, KEY_AZURE, KEY_OPENAI, KEY_BARE, PROMPT_JSON, PROMPT_CURL, PROMPT_CLI, PROMPT_FLAG,
           # distinctive pieces, in case a field kept part of a prompt
           "Lisbon office", "Project Bluebird", "auditors never notice", "finance share",
           "sk-test-fake-key-0000")  # the Java client's key (its connections are blind: never read)

# The python client: python3 -c SCRIPT HOST PATH BODY HEADERS_JSON [NAME=value | bare key]...
# (the fake provider's port and CA come from the environment, so the argv has exactly that shape).
JSON_ARGS_CLIENT = r"""
import http.client, json, os, socket, ssl, sys
host, path, body, headers = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
for extra in sys.argv[5:]:
    name, eq, value = extra.partition("=")
    if eq and name == "OPENAI_API_KEY":
        headers["Authorization"] = "Bearer " + value
    elif not eq:
        headers["x-api-key"] = extra
if "OPENAI_API_KEY" in os.environ and "Authorization" not in headers:
    headers["Authorization"] = "Bearer " + os.environ["OPENAI_API_KEY"]
headers.update({"Host": host, "Content-Type": "application/json"})
ctx = ssl.create_default_context(cafile=os.environ["E2E_CA"])
port = int(os.environ["E2E_PORT"])
conn = http.client.HTTPSConnection(host, port, context=ctx)
conn.sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname=host)
conn.request("POST", path, body=body, headers=headers)
r = conn.getresponse()
print(r.status, r.read()[:200])
sys.exit(0 if r.status == 200 else 1)
"""

# A coding agent's shape: claude [--model M] [-p PROMPT | PROMPT]; the key from the environment.
CLAUDE_CLI = r"""#!/usr/bin/python3
import http.client, json, os, socket, ssl, sys
args, prompt, model = sys.argv[1:], None, "claude-sonnet-4-5"
while args:
    a = args.pop(0)
    if a == "-p":
        prompt = args.pop(0)
    elif a == "--model":
        model = args.pop(0)
    else:
        prompt = a
body = json.dumps({"model": model, "max_tokens": 64, "messages": [{"role": "user", "content": prompt}]})
ctx = ssl.create_default_context(cafile=os.environ["E2E_CA"])
port = int(os.environ["E2E_PORT"])
conn = http.client.HTTPSConnection("api.anthropic.com", port, context=ctx)
conn.sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="api.anthropic.com")
conn.request("POST", "/v1/messages", body=body, headers={
    "x-api-key": os.environ["ANTHROPIC_API_KEY"], "anthropic-version": "2023-06-01",
    "content-type": "application/json"})
r = conn.getresponse()
print(r.status, r.read()[:200])
sys.exit(0 if r.status == 200 else 1)
"""


def chat_body(prompt, model="gpt-4o-mini"):
    return json.dumps({"model": model, "messages": [{"role": "user", "content": prompt}]})


def messages_body(prompt):
    return json.dumps({"model": "claude-sonnet-4-5", "max_tokens": 64,
                       "messages": [{"role": "user", "content": prompt}]})


class TestHonestEvents(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.workdir = e2e_workdir("shadowmeter-e2e-honest-")
        if not shutil.which("curl"):
            raise RuntimeError("curl not found: run packaging/scripts/install-deps.sh")
        w = cls.workdir
        cls.server = MultiServer(w)
        cls.db = Database("sqlite", w, "honest")
        cls.collector = Collector(w, cls.db.url)
        cls.spool = os.path.join(w, "agent-spool")
        cls.agent = exporting_agent(w, cls.collector, export_config(w, "agent"))
        cls.java_cmd = java_client(w, cls.server.ca, ["api.openai.com"])
        cls.claude = os.path.join(w, "claude")
        with open(cls.claude, "w") as f:
            f.write(CLAUDE_CLI)
        os.chmod(cls.claude, 0o755)
        cls.env = dict(os.environ, E2E_CA=cls.server.ca, E2E_PORT=str(cls.server.port), PYTHONDONTWRITEBYTECODE="1")

    @classmethod
    def tearDownClass(cls):
        cls.agent.stop()
        cls.collector.stop()
        cls.db.drop()
        cls.server.stop()
        shutil.rmtree(cls.workdir, ignore_errors=True)

    def run(self, result=None):
        result = result or self.defaultTestResult()
        before = len(result.failures) + len(result.errors)
        super().run(result)
        if len(result.failures) + len(result.errors) > before:
            sys.stderr.write("\n----- agent stderr -----\n%s\n----- collector log -----\n%s\n"
                             % (self.agent.stderr(), tail(self.collector.log, 40)))
        return result

    # --- helpers ---------------------------------------------------------------------------

    def client(self, argv, env=None):
        """Runs a client to completion; returns its pid."""
        proc = subprocess.Popen(argv, env=env or self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(_reap, proc)
        out, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 0, "client %s failed: %s %s" % (argv[:3], out[-300:], err[-600:]))
        return proc.pid

    def event_of(self, pid):
        evs = self.agent.wait_events(lambda e: e.get("process.pid") == pid, 1, 15)
        self.assertEqual(len(evs), 1, "events of pid %d: %s" % (pid, json.dumps(evs)))
        ev = evs[0]
        self.assertEqual(ev["shadowmeter.visibility"], "plaintext", json.dumps(ev))
        self.assertEqual(len(ev.get("shadowmeter.api_key.fingerprint", "")), 32, "the key was seen: " + json.dumps(ev))
        return ev

    def wait_stored(self, events):
        want = {e["shadowmeter.event_id"] for e in events}
        deadline = time.time() + 30
        while not want <= set(self.db.event_ids()):
            self.assertLess(time.time(), deadline, "events not stored by the collector:\n" + tail(self.collector.log))
            time.sleep(0.2)

    def everything_written(self):
        """Every output of agent and collector, as (name, text) pairs."""
        out = [("agent stdout", "\n".join(self.agent.raw_lines)), ("agent log", tail(self.agent.stderr_path, 10**6)),
               ("agent /metrics", http_get(self.agent.port, "/metrics")[1]),
               ("collector log", tail(self.collector.log, 10**6)),
               ("collector /metrics", http_get(self.collector.port, "/metrics")[1])]
        for path in sorted(glob.glob(os.path.join(self.spool, "**"), recursive=True)):
            if os.path.isfile(path):
                with open(path, "rb") as f:
                    out.append(("spool " + os.path.basename(path), f.read().decode("latin-1")))
        for path in glob.glob(self.db.path + "*"):  # the database, its WAL and shared memory
            with open(path, "rb") as f:
                out.append(("database " + os.path.basename(path), f.read().decode("latin-1")))
        day = 86400
        rng = "from=%s&to=%s" % (time.strftime("%Y-%m-%d", time.gmtime(time.time() - day)),
                                 time.strftime("%Y-%m-%d", time.gmtime(time.time() + 2 * day)))
        for report in ("showback", "shadow", "coverage", "focus"):
            for fmt in ("json", "csv"):
                path = "/api/v1/reports/%s?%s&format=%s" % (report, rng, fmt)
                status, _, body = self.collector.request("GET", path)
                self.assertEqual(status, 200, path + ": " + body[:200].decode(errors="replace"))
                out.append((path, body.decode(errors="replace")))
        status, _, body = self.collector.request("GET", "/api/v1/calls?limit=1000")
        self.assertEqual(status, 200)
        out.append(("/api/v1/calls", body.decode(errors="replace")))
        auth = base64.b64encode(("finops:" + self.collector.token).encode()).decode()
        status, _, body = self.collector.request("GET", "/", headers={"Authorization": "Basic " + auth}, token=False)
        self.assertEqual(status, 200)
        out.append(("dashboard", body.decode(errors="replace")))
        return out

    # --- tests -----------------------------------------------------------------------------

    def test_keys_and_prompts_never_leave_the_capture_path(self):
        port = str(self.server.port)
        resolve = ["--resolve", "api.anthropic.com:%s:127.0.0.1" % port, "--resolve", "api.openai.com:%s:127.0.0.1" % port]
        curl = ["curl", "-sS", "--fail", "-o", "/dev/null", "--cacert", self.server.ca, *resolve]
        pids = {}
        # The client: headers, key included, as a JSON argument; the prompt in the body argument.
        pids["json_args"] = self.client([PYTHON, "-c", JSON_ARGS_CLIENT, "api.anthropic.com", "/v1/messages",
                                         messages_body(PROMPT_JSON),
                                         json.dumps({"anthropic-version": "2023-06-01", "x-api-key": KEY_ANTHROPIC})])
        pids["curl_x_api_key"] = self.client(curl + ["-H", "x-api-key: " + KEY_ANTHROPIC, "-H",
                                                     "anthropic-version: 2023-06-01", "-H",
                                                     "content-type: application/json", "-d", messages_body(PROMPT_CURL),
                                                     "https://api.anthropic.com:%s/v1/messages" % port])
        pids["curl_api_key"] = self.client(curl + ["-H", "api-key: " + KEY_AZURE, "-H", "content-type: application/json",
                                                   "--data-raw", chat_body(PROMPT_CURL),
                                                   "https://api.openai.com:%s/v1/chat/completions" % port])
        # env NAME=value: the key in env's argv, in the python's environment and in its argv.
        pids["env_style"] = self.client(["env", "OPENAI_API_KEY=" + KEY_OPENAI, PYTHON, "-c", JSON_ARGS_CLIENT,
                                         "api.openai.com", "/v1/chat/completions", chat_body(PROMPT_JSON), "{}",
                                         "OPENAI_API_KEY=" + KEY_OPENAI])
        cli_env = dict(self.env, ANTHROPIC_API_KEY=KEY_ANTHROPIC)
        pids["cli_positional"] = self.client([self.claude, "--model", "claude-sonnet-4-5", PROMPT_CLI], env=cli_env)
        pids["cli_flag"] = self.client([self.claude, "-p", PROMPT_FLAG], env=cli_env)
        # A key no rule can recognise, passed as a bare argument and sent as x-api-key.
        pids["bare_key"] = self.client([PYTHON, "-c", JSON_ARGS_CLIENT, "api.anthropic.com", "/v1/messages",
                                        messages_body("hi"), "{}", KEY_BARE])

        events = {name: self.event_of(pid) for name, pid in pids.items()}
        cl = {name: ev.get("process.command_line", "") for name, ev in events.items()}
        # What the command lines keep: the executable, flag names, short arguments.
        self.assertRegex(cl["json_args"], r"^/usr/bin/python3 -c <\d+ chars> api\.anthropic\.com /v1/messages "
                                          r"<\d+ chars> <\d+ chars>$")
        self.assertIn("-H x-api-key: ***", cl["curl_x_api_key"])
        self.assertIn("-H anthropic-version: 2023-06-01", cl["curl_x_api_key"])
        self.assertRegex(cl["curl_x_api_key"], r" -d <\d+ chars> https://api\.anthropic\.com:\d+/v1/messages$")
        self.assertIn("-H api-key: ***", cl["curl_api_key"])
        self.assertRegex(cl["curl_api_key"], r" --data-raw <\d+ chars> ")
        self.assertRegex(cl["env_style"], r"OPENAI_API_KEY=\*\*\*$")
        self.assertRegex(cl["cli_positional"], r"^/usr/bin/python3 \S+/claude --model claude-sonnet-4-5 <%d chars>$"
                         % len(PROMPT_CLI))
        self.assertRegex(cl["cli_flag"], r"^/usr/bin/python3 \S+/claude -p <%d chars>$" % len(PROMPT_FLAG))
        self.assertRegex(cl["bare_key"], r" <\d+ chars> \{\} \*\*\*$")
        self.assertEqual(events["cli_flag"]["process.executable.path"], exe_of(PYTHON)[1])

        self.wait_stored(list(events.values()))
        leaks = ["%r in %s" % (s, name) for name, text in self.everything_written() for s in PLANTED if s in text]
        self.assertEqual(leaks, [])

    def test_java_one_event_per_connection_and_coverage_counts_connections(self):
        url = "https://api.openai.com:%d/v1/chat/completions" % self.server.port
        proc = subprocess.Popen(self.java_cmd + [url, chat_body("Say hello (shadowmeter e2e)."), "3", "1"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(_reap, proc)
        out, err = proc.communicate(timeout=90)
        self.assertEqual(proc.returncode, 0, err.decode()[-600:])
        self.assertEqual(out.decode().count("200 "), 4, out.decode()[:400])
        # Both sockets close at the latest when the JVM exits: both events are due then.
        evs = self.agent.wait_events(lambda e: e.get("process.pid") == proc.pid, 2, 20)
        self.assertEqual(len(evs), 2, json.dumps(evs))
        for ev in evs:
            self.assertEqual(ev["shadowmeter.visibility"], "connection_only")
            self.assertEqual(ev["shadowmeter.connection.count"], 1)
            self.assertEqual(ev["shadowmeter.tls.library"], "java")
            self.assertNotIn("shadowmeter.stream", ev)
            self.assertNotIn("shadowmeter.usage.source", ev)
        extra = self.agent.wait_events(lambda e: e.get("process.pid") == proc.pid, 3, 2)
        self.assertEqual(len(extra), 2, "a third event for two connections: " + json.dumps(extra))

        self.wait_stored(evs)
        day = 86400
        rng = "from=%s&to=%s" % (time.strftime("%Y-%m-%d", time.gmtime(time.time() - day)),
                                 time.strftime("%Y-%m-%d", time.gmtime(time.time() + 2 * day)))
        cov = self.collector.api("/api/v1/reports/coverage?" + rng)
        java = [x for x in cov["visibility"]["by_executable"] if x.get("process.executable.name") == "java"]
        self.assertEqual(len(java), 1, json.dumps(cov["visibility"]))
        self.assertEqual(java[0]["blind_connections"], 2)
        self.assertEqual(java[0]["calls"], 0)
        spots = [x for x in cov["visibility"]["blind_spots"] if x.get("process.executable.name") == "java"]
        self.assertEqual([x["connections"] for x in spots], [2], json.dumps(spots))
        self.assertEqual(spots[0]["bytes_sent"], sum(e["shadowmeter.connection.bytes_sent"] for e in evs))
        status, _, csv = self.collector.request("GET", "/api/v1/reports/coverage?%s&format=csv" % rng)
        self.assertEqual(status, 200)
        header, *rows = csv.decode().splitlines()
        self.assertIn("blind_connections", header.split(","))
        self.assertNotIn("connection_only", header)
        auth = base64.b64encode(("finops:" + self.collector.token).encode()).decode()
        status, _, page = self.collector.request("GET", "/", headers={"Authorization": "Basic " + auth}, token=False)
        self.assertEqual(status, 200)
        self.assertIn("Blind connections", page.decode())
        self.assertNotIn("Connection-only calls", page.decode())


if __name__ == "__main__":
    unittest.main()
