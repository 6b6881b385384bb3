"""Every provider's wire format over HTTP/2 and HTTP/1.1 (fakeprovider/multi_server.js on one TLS port):
curl --http2 and --http1.1, a plain and a streamed call per provider, each provider's 429 answer, a
Bedrock event stream with a corrupt CRC, and node's http2 client with concurrent streams on one
connection. Each test asserts the exact fields of the agent's event.

The fake provider answers with the usage the request's x-fake-usage header names, given as the
normalised figures the agent must report (input includes cache reads and writes, output includes
reasoning); it writes them in each provider's own terms (see multi_server.js).
"""
import collections
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest
import zlib

from harness import (CLIENTS, E2ECase, Agent, MultiServer, _reap, client_env, exe_of, fingerprint, skip_reason)

# error.type of a call whose Bedrock event stream failed a CRC check: an assumption, to be confirmed
# with the agent's Bedrock module.
BAD_CRC_ERROR = "eventstream_crc"

Usage = collections.namedtuple("Usage", "input output cache_read cache_write reasoning", defaults=(0, 0, 0))
TOKEN_KEYS = ("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens",
              "gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_write.input_tokens",
              "gen_ai.usage.reasoning.output_tokens")
PROMPT = "Say hello (shadowmeter e2e)."


def usage_header(u):
    return "input=%d,output=%d,cache_read=%d,cache_write=%d,reasoning=%d" % u


# Which usage parts each wire format carries (a part not on the wire must not appear in the event).
def parts_openai(u):  # cached_tokens and reasoning_tokens always; cache_write_tokens when non-zero
    return (u.cache_read, u.cache_write or None, u.reasoning)


def parts_anthropic(u):  # both cache fields always; thinking is inside output_tokens, not apart
    return (u.cache_read, u.cache_write, None)


def parts_gemini(u):  # cachedContentTokenCount and thoughtsTokenCount only when non-zero
    return (u.cache_read or None, None, u.reasoning or None)


def parts_bedrock(u):  # cacheReadInputTokens / cacheWriteInputTokens only when non-zero
    return (u.cache_read or None, u.cache_write or None, None)


def parts_none(_):  # Groq, Mistral, Cohere: totals only
    return (None, None, None)


Provider = collections.namedtuple("Provider", [
    "key",             # in test names
    "name",            # gen_ai.provider.name
    "operation",       # gen_ai.operation.name
    "host",
    "path",            # (stream) -> request target
    "body",            # (stream) -> request body
    "headers",         # provider's own request headers
    "request_model", "response_model",
    "id_key",          # JSON key holding the response id in the body, None when the body has none
    "parts",
    "usage",           # base usage of its tests
])

CHAT = [{"role": "user", "content": PROMPT}]
GEMINI_BODY = {"contents": [{"role": "user", "parts": [{"text": PROMPT}]}]}
BEDROCK_MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0"
VERTEX_PREFIX = "/v1/projects/demo-project/locations/us-central1/publishers/google/models/"


def openai_like(key, name, host, path, model, response_model, usage, parts=parts_none, include_usage=True):
    def body(stream):
        b = {"model": model, "messages": CHAT}
        if stream:
            b["stream"] = True
            if include_usage:
                b["stream_options"] = {"include_usage": True}
        return b
    return Provider(key, name, "chat", host, lambda stream: path, body,
                    [("Authorization", "Bearer sk-test-fake-key-0000")], model, response_model, "id", parts,
                    usage)


def gemini_path(prefix, model):
    return lambda stream: prefix + model + (":streamGenerateContent?alt=sse" if stream else ":generateContent")


PROVIDERS = [
    openai_like("openai", "openai", "api.openai.com", "/v1/chat/completions", "gpt-4o-mini",
                "gpt-4o-mini-2024-07-18", Usage(1500, 230, cache_read=1024, reasoning=64), parts_openai),
    # Groq streams carry usage under x_groq.usage of the finish chunk: asked for without include_usage.
    openai_like("groq", "groq", "api.groq.com", "/openai/v1/chat/completions", "llama-3.3-70b-versatile",
                "llama-3.3-70b-versatile", Usage(320, 41), include_usage=False),
    # Mistral streams put usage on the finish chunk, unasked.
    openai_like("mistral", "mistral_ai", "api.mistral.ai", "/v1/chat/completions", "mistral-small-latest",
                "mistral-small-latest", Usage(280, 37), include_usage=False),
    Provider("anthropic", "anthropic", "chat", "api.anthropic.com", lambda stream: "/v1/messages",
             lambda stream: dict({"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": CHAT},
                                 **({"stream": True} if stream else {})),
             [("x-api-key", "sk-ant-test-fake-0000"), ("anthropic-version", "2023-06-01")],
             "claude-sonnet-4-5", "claude-sonnet-4-5-20250929", "id", parts_anthropic,
             Usage(2600, 180, cache_read=2048, cache_write=312)),
    Provider("gemini", "gcp.gemini", "generate_content", "generativelanguage.googleapis.com",
             gemini_path("/v1beta/models/", "gemini-2.0-flash"), lambda stream: GEMINI_BODY,
             [("x-goog-api-key", "AIza-test-fake-0000")], "gemini-2.0-flash", "gemini-2.0-flash-001",
             "responseId", parts_gemini, Usage(1200, 300, cache_read=1000, reasoning=120)),
    Provider("vertex", "gcp.vertex_ai", "generate_content", "us-central1-aiplatform.googleapis.com",
             gemini_path(VERTEX_PREFIX, "gemini-2.0-flash"), lambda stream: GEMINI_BODY,
             [("Authorization", "Bearer ya29.test-fake-0000")], "gemini-2.0-flash", "gemini-2.0-flash-001",
             "responseId", parts_gemini, Usage(1400, 260, cache_read=512, reasoning=96)),
    # The model id in the path is percent-encoded (":" as %3A), as the AWS SDKs send it. Converse
    # answers name no model and carry no id in the body.
    Provider("bedrock", "aws.bedrock", "chat", "bedrock-runtime.us-east-1.amazonaws.com",
             lambda stream: "/model/%s/%s" % (BEDROCK_MODEL.replace(":", "%3A"),
                                              "converse-stream" if stream else "converse"),
             lambda stream: {"messages": [{"role": "user", "content": [{"text": PROMPT}]}],
                             "inferenceConfig": {"maxTokens": 64}},
             [("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250101/us-east-1/bedrock/aws4_request, "
                                "SignedHeaders=host;x-amz-date, Signature=0000")],
             BEDROCK_MODEL, None, None, parts_bedrock, Usage(900, 80, cache_read=512, cache_write=128)),
    # Cohere bills on usage.billed_units (what the fake gets asked for); usage.tokens is larger.
    Provider("cohere", "cohere", "chat", "api.cohere.com", lambda stream: "/v2/chat",
             lambda stream: dict({"model": "command-r-plus-08-2024", "messages": CHAT}, stream=stream),
             [("Authorization", "Bearer co-test-fake-0000")], "command-r-plus-08-2024", None, "id",
             parts_none, Usage(150, 25)),
]
BY_KEY = {p.key: p for p in PROVIDERS}


def shifted(u, k):
    """The base usage made distinct per test variant k."""
    return u._replace(input=u.input + 10 * k, output=u.output + k)


def first_id(p, body):
    """The provider's response id as the client received it (first occurrence in the body)."""
    m = re.search(r'"%s"\s*:\s*"([^"]+)"' % p.id_key, body.decode(errors="replace"))
    return m.group(1) if m else None


def decode_eventstream(data):
    """[(headers, payload, crc_ok)] of an application/vnd.amazon.eventstream body (string headers only)."""
    out, pos = [], 0
    while pos + 16 <= len(data):
        total, hlen, prelude_crc = struct.unpack_from(">III", data, pos)
        msg = data[pos:pos + total]
        if len(msg) != total or zlib.crc32(msg[:8]) != prelude_crc:
            raise ValueError("bad prelude at %d" % pos)
        headers, h = {}, 12
        while h < 12 + hlen:
            n = msg[h]
            name = msg[h + 1:h + 1 + n].decode()
            if msg[h + 1 + n] != 7:
                raise ValueError("unexpected header type")
            vlen = struct.unpack_from(">H", msg, h + 2 + n)[0]
            headers[name] = msg[h + 4 + n:h + 4 + n + vlen].decode()
            h += 4 + n + vlen
        crc_ok = zlib.crc32(msg[:-4]) == struct.unpack_from(">I", msg, total - 4)[0]
        out.append((headers, json.loads(msg[12 + hlen:-4]), crc_ok))
        pos += total
    if pos != len(data):
        raise ValueError("%d bytes left over" % (len(data) - pos))
    return out



with open(os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                       "agent", "pricing", "default_prices.json")) as _f:
    PRICES = json.load(_f)


def credential_of(p):
    """The credential the agent must fingerprint: the bearer token, the API-key header's value, or
    the access key id of an AWS SigV4 signature."""
    for name, value in p.headers:
        name = name.lower()
        if name == "authorization" and value.startswith("Bearer "):
            return value[len("Bearer "):]
        if name == "authorization" and value.startswith("AWS4-HMAC-SHA256 "):
            return value.split("Credential=", 1)[1].split("/", 1)[0]
        if name in ("x-api-key", "api-key", "x-goog-api-key"):
            return value
    return None

class TestProviders(E2ECase):
    """One multi_server.js and one agent for the class."""

    @classmethod
    def setUpClass(cls):
        reason = skip_reason() or (None if shutil.which("node") else "node is not installed")
        if reason:
            print("SKIP: " + reason, file=sys.stderr)
            raise unittest.SkipTest(reason)
        cls.workdir = tempfile.mkdtemp(prefix="shadowmeter-e2e-providers-")
        cls.server = MultiServer(cls.workdir)
        cls.agent = None
        try:
            cls.agent = Agent(cls.workdir)
        except Exception:
            cls.server.stop()
            shutil.rmtree(cls.workdir, ignore_errors=True)
            raise

    # --- clients ---------------------------------------------------------------------------

    def run_client(self, cmd, timeout=30):
        """Runs a client to completion; returns (pid, stdout bytes, stderr text)."""
        proc = subprocess.Popen(cmd, env=client_env(self.server), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(_reap, proc)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        self.assertEqual(proc.returncode, 0, "client failed: %s\n%s" % (cmd, err.decode(errors="replace")))
        return proc.pid, out, err.decode(errors="replace")

    def curl(self, p, proto, stream, extra_headers=(), fail=True):
        """curl --http2 / --http1.1 to provider p; returns (pid, body). Checks the version curl used."""
        port = self.server.port
        cmd = ["curl", "--silent", "--show-error", "--http2" if proto == "2" else "--http1.1",
               "--cacert", self.server.ca, "--resolve", "%s:%d:127.0.0.1" % (p.host, port),
               "--write-out", "%{stderr}HTTP_VERSION=%{http_version}\n"]
        if fail:
            cmd.append("--fail-with-body")
        for k, v in [*p.headers, ("Content-Type", "application/json"), *extra_headers]:
            cmd += ["-H", "%s: %s" % (k, v)]
        cmd += ["--data-binary", json.dumps(p.body(stream)), "https://%s:%d%s" % (p.host, port, p.path(stream))]
        pid, out, err = self.run_client(cmd)
        self.assertIn("HTTP_VERSION=%s\n" % proto, err, "curl did not use HTTP/%s" % proto)
        return pid, out

    def h2_client(self, p, usages, stream=True):
        """node clients/h2_client.js: one request per usage, concurrent streams on one connection."""
        cmd = ["node", os.path.join(CLIENTS, "h2_client.js"), "--port", str(self.server.port),
               "--ca", self.server.ca, "--host", p.host, "--path", p.path(stream),
               "--body", json.dumps(p.body(stream)), "--count", str(len(usages)), "--print-body"]
        for k, v in p.headers:
            cmd += ["--header", "%s:%s" % (k, v)]
        for u in usages:
            cmd += ["--usage", usage_header(u)]
        pid, out, _ = self.run_client(cmd)
        results = [json.loads(line) for line in out.decode().splitlines()]
        self.assertEqual([(r["stream"], r["status"]) for r in results], [(i, 200) for i in range(len(usages))])
        return pid, results

    # --- events ----------------------------------------------------------------------------

    def assert_event(self, ev, p, *, pid, exe, proto, stream, usage, path, status=200, source=None,
                     error=None, response_model="default", response_id=None):
        """Every field of one event; usage None when the event must carry no token counts."""
        exe_name, exe_path = exe_of(exe)
        want = {
            "gen_ai.provider.name": p.name, "gen_ai.operation.name": p.operation,
            "gen_ai.request.model": p.request_model,
            "gen_ai.response.model": p.response_model if response_model == "default" else response_model,
            "shadowmeter.usage.source": source or ("stream" if stream else "response"),
            "shadowmeter.stream": stream,
            "server.address": p.host, "server.port": self.server.port,
            "url.path": path.split("?")[0], "http.request.method": "POST",
            "http.response.status_code": status, "network.protocol.version": proto,
            "process.pid": pid, "process.executable.name": exe_name, "process.executable.path": exe_path,
            "shadowmeter.tls.library": "openssl", "shadowmeter.visibility": "plaintext",
            "host.name": socket.gethostname(), "error.type": error,
        }
        if usage is None:
            want.update(dict.fromkeys(TOKEN_KEYS))
        else:
            cache_read, cache_creation, reasoning = p.parts(usage)
            want.update(zip(TOKEN_KEYS, (usage.input, usage.output, cache_read, cache_creation, reasoning)))
        got = {k: ev.get(k) for k in want}
        self.assertEqual(got, want, "event fields differ: %s" % json.dumps(ev))
        self.assertRegex(ev.get("shadowmeter.event_id", ""), r"^[0-9a-f]{32}$")
        self.assertEqual(ev.get("shadowmeter.api_key.fingerprint"), fingerprint(credential_of(p)),
                         "fingerprint differs: %s" % json.dumps(ev))
        if usage is not None:
            self.assert_cost(ev, p, usage)
        else:
            self.assertNotIn("shadowmeter.cost.usd", ev)
        if response_id is not None:
            self.assertEqual(ev.get("gen_ai.response.id"), response_id)
        self.assertLessEqual(int(ev["time_unix_nano"]), int(ev["end_time_unix_nano"]))

    def assert_cost(self, ev, p, usage):
        """Every model the fake providers answer with is in the built-in price table: the event's cost
        is recomputed here from the table entry its pricing_source names, with the normalised usage
        (uncached input, cache reads and writes at their own prices, output)."""
        source = ev.get("shadowmeter.cost.pricing_source", "")
        self.assertRegex(source, r"^builtin:\d{4}-\d{2}-\d{2}:", "no built-in price: %s" % json.dumps(ev))
        key = source.split(":", 2)[2]
        models = {m.lower() for m in (p.request_model, p.response_model) if m}
        self.assertTrue(any(m.split("@")[0] in key.lower() or key.lower().split("/")[-1] in m for m in models),
                        "price entry %s is not for %s" % (key, models))
        entry = PRICES[key]
        cache_read, cache_creation, _ = p.parts(usage)
        cr, cw = cache_read or 0, cache_creation or 0
        inp = entry["input_cost_per_token"]
        want = ((usage.input - cr - cw) * inp + cr * entry.get("cache_read_input_token_cost", inp)
                + cw * entry.get("cache_creation_input_token_cost", inp) + usage.output * entry["output_cost_per_token"])
        self.assertAlmostEqual(ev.get("shadowmeter.cost.usd"), want, delta=want * 1e-9,
                               msg="cost differs: %s" % json.dumps(ev))

    def check_curl_call(self, p, proto, stream, usage):
        pid, body = self.curl(p, proto, stream, [("x-fake-usage", usage_header(usage))])
        response_id = first_id(p, body) if p.id_key else None
        if p.id_key:
            self.assertTrue(response_id, "no %s in the response: %r" % (p.id_key, body[:300]))
        if p.key == "bedrock" and stream:
            frames = decode_eventstream(body)
            self.assertEqual([(h[":event-type"], ok) for h, _, ok in frames][-1], ("metadata", True))
        ev, = self.events_of(pid)
        self.assert_event(ev, p, pid=pid, exe="curl", proto=proto, stream=stream, usage=usage,
                          path=p.path(stream), response_id=response_id)

    def check_error_status(self, p):
        pid, body = self.curl(p, "2", False, [("x-fake-status", "429")], fail=False)
        self.assertTrue(body.startswith(b"{"), body)
        ev, = self.events_of(pid)
        self.assert_event(ev, p, pid=pid, exe="curl", proto="2", stream=False, usage=None, path=p.path(False),
                          status=429, source="none", error="429", response_model=None)

    # --- hand-written tests ----------------------------------------------------------------

    def test_node_http2_openai_5_concurrent_streams(self):
        """Five streamed chat calls as concurrent HTTP/2 streams on one connection, each with its own usage."""
        p = BY_KEY["openai"]
        usages = [Usage(1000 + 111 * i, 40 + 7 * i, cache_read=128 * i, reasoning=4 * i) for i in range(5)]
        pid, results = self.h2_client(p, usages)
        ids = {r["usage"]: first_id(p, r["body"].encode()) for r in results}
        self.assertEqual(len(set(ids.values())), 5, ids)
        evs = self.events_of(pid, count=5)
        evs.sort(key=lambda e: e.get("gen_ai.usage.input_tokens") or 0)
        for ev, u in zip(evs, usages):
            with self.subTest(usage=u):
                self.assert_event(ev, p, pid=pid, exe="node", proto="2", stream=True, usage=u,
                                  path=p.path(True), response_id=ids[usage_header(u)])

    def test_node_http2_bedrock_3_concurrent_event_streams(self):
        """Three Bedrock converse-stream calls (binary event-stream frames) multiplexed on one connection."""
        p = BY_KEY["bedrock"]
        usages = [Usage(700 + 50 * i, 30 + 3 * i, cache_read=100 * i) for i in range(3)]
        pid, _ = self.h2_client(p, usages)
        evs = self.events_of(pid, count=3)
        evs.sort(key=lambda e: e.get("gen_ai.usage.input_tokens") or 0)
        for ev, u in zip(evs, usages):
            with self.subTest(usage=u):
                self.assert_event(ev, p, pid=pid, exe="node", proto="2", stream=True, usage=u,
                                  path=p.path(True))

    def check_bad_crc(self, proto):
        p = BY_KEY["bedrock"]
        pid, body = self.curl(p, proto, True, [("x-fake-usage", usage_header(Usage(640, 32))),
                                               ("x-fake-bad-crc", "1")])
        frames = decode_eventstream(body)
        self.assertEqual([(h[":event-type"], ok) for h, _, ok in frames][-2:],
                         [("messageStop", True), ("metadata", False)])
        ev, = self.events_of(pid)
        self.assert_event(ev, p, pid=pid, exe="curl", proto=proto, stream=True, usage=None, path=p.path(True),
                          source="none", error=BAD_CRC_ERROR)

    def test_curl_http2_bedrock_stream_bad_crc(self):
        """The metadata message (the one with the usage) fails its CRC: no usage, an error."""
        self.check_bad_crc("2")

    def test_curl_http11_bedrock_stream_bad_crc(self):
        self.check_bad_crc("1.1")

    def test_server_side_makes_no_events(self):
        """The fake provider's own TLS (node, static OpenSSL) is captured too; it is the server side
        of every call and must never give an event. Runs after the curl and node tests (name order)."""
        self.curl(BY_KEY["openai"], "2", False)
        time.sleep(0.5)
        evs = [e for e in self.agent.events if e.get("process.pid") == self.server.pid]
        self.assertEqual(evs, [], "events for the fake provider's process")


# One test per (provider, HTTP version, plain/stream), and one per provider for its 429 answer.
VARIANTS = (("2", False), ("2", True), ("1.1", False), ("1.1", True))


def _curl_test(p, k, proto, stream):
    def test(self):
        self.check_curl_call(p, proto, stream, shifted(p.usage, k))
    test.__doc__ = "curl --http%s, %s %s call" % (proto, p.name, "streamed" if stream else "plain")
    return test


def _status_test(p):
    def test(self):
        self.check_error_status(p)
    test.__doc__ = "curl --http2, %s answers 429 with its error body" % p.name
    return test


for _p in PROVIDERS:
    for _k, (_proto, _stream) in enumerate(VARIANTS):
        setattr(TestProviders, "test_curl_http%s_%s_%s" % (_proto.replace(".", ""), _p.key,
                                                          "stream" if _stream else "plain"),
                _curl_test(_p, _k, _proto, _stream))
    setattr(TestProviders, "test_curl_http2_%s_429" % _p.key, _status_test(_p))


if __name__ == "__main__":
    unittest.main(verbosity=2)
