"""What the capture must cope with: gzip bodies, SSE streams, large bodies, many calls at once, and
TLS to hosts that are not AI."""
import json
import time
import unittest

from harness import PYTHON, E2ECase, response_ids, usage_arg


class TestCapture(E2ECase):
    def test_gzip_response(self):
        for kind, exe, usage in (("python", PYTHON, (601, 91, 23, 4)), ("curl", "curl", (607, 93, 0, 0))):
            with self.subTest(client=kind):
                pid, out = self.call(kind, "--gzip", "--pad", "20000", "--usage", usage_arg(*usage))
                if kind == "python":
                    r = json.loads(out.splitlines()[-1])
                    self.assertLess(r["wire_bytes"], r["body_bytes"], "body was not gzipped")
                ev, = self.events_of(pid)
                self.assert_openai_event(ev, pid=pid, exe=exe, usage=usage,
                                         response_id=response_ids(out)[0])

    def test_streamed_response(self):
        with self.subTest("include_usage"):
            pid, out = self.call("curl", "--stream", "--include-usage",
                                 "--usage", usage_arg(701, 103, 31, 17))
            ev, = self.events_of(pid)
            self.assert_openai_event(ev, pid=pid, exe="curl", usage=(701, 103, 31, 17),
                                     stream=True, source="stream", response_id=response_ids(out)[0])
        with self.subTest("without include_usage"):
            # No usage in the traffic: estimated from the text, and labelled so. The prompt
            # "Say hello (shadowmeter e2e)." is 28 ASCII bytes -> 7 tokens; the completion
            # "Hello from the fake provider." is 29 -> 8 (ceil(bytes / 4)).
            pid, out = self.call("python", "--stream", "--usage", usage_arg(709, 107))
            ev, = self.events_of(pid)
            self.assert_openai_event(ev, pid=pid, exe=PYTHON, usage=(7, 8, None, None), stream=True,
                                     source="estimated", response_id=response_ids(out)[0])

    def test_large_response(self):
        """~400 KB bodies: many TLS records and SSL_read calls before the usage arrives."""
        for kind, exe, usage in (("curl", "curl", (801, 40009, 41, 0)),
                                 ("python", PYTHON, (809, 40013, 0, 43))):
            with self.subTest(client=kind):
                pid, out = self.call(kind, "--pad", "400000", "--usage", usage_arg(*usage))
                ev, = self.events_of(pid, timeout=15)
                self.assert_openai_event(ev, pid=pid, exe=exe, usage=usage,
                                         response_id=response_ids(out)[0])

    def test_concurrent_50(self):
        """30 threads of one python process and 20 curl processes at once, each call with its own
        usage figures; every event must match its own call, and there must be no others."""
        calls = {(1000 + i, 2000 + i, i, i % 7): None for i in range(50)}
        usages = list(calls)
        py = self.start_client("python", "--parallel", "--quiet",
                               *[a for u in usages[:30] for a in ("--usage", usage_arg(*u))])
        curls = [(self.start_client("curl", "--quiet", "--usage", usage_arg(*u)), u) for u in usages[30:]]
        for u in usages[:30]:
            calls[u] = (py.pid, PYTHON)
        for proc, u in curls:
            calls[u] = (proc.pid, "curl")
        self.finish_client(py)
        for proc, _ in curls:
            self.finish_client(proc)
        pids = {pid for pid, _ in calls.values()}
        evs = self.agent.wait_events(lambda e: e.get("process.pid") in pids, 50, timeout=20)
        self.assertEqual(len(evs), 50, "events: %s" % json.dumps(evs))
        seen = set()
        for ev in evs:
            usage = tuple(ev.get(k) for k in ("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens",
                                              "gen_ai.usage.cache_read.input_tokens",
                                              "gen_ai.usage.reasoning.output_tokens"))
            self.assertIn(usage, calls, "event with usage of no call: %s" % json.dumps(ev))
            self.assertNotIn(usage, seen, "two events for one call: %s" % json.dumps(ev))
            seen.add(usage)
            pid, exe = calls[usage]
            self.assert_openai_event(ev, pid=pid, exe=exe, usage=usage)
        time.sleep(2)
        self.assertEqual(len(self.agent.wait_events(lambda e: e.get("process.pid") in pids, 51, 0)), 50,
                         "extra events for these calls")
        self.assert_no_events(lambda e: e.get("process.pid") == self.server.pid, 0)

    def test_non_ai_tls_no_event(self):
        """GET /static on static.example.test (not in the catalog) makes no event; an AI call made
        right after it does."""
        t0 = time.time()
        quiet = [self.call(kind, "--host", "static.example.test", "--static", "4096", "--quiet")[0]
                 for kind in ("curl", "python")]
        pid, out = self.call("curl", "--usage", usage_arg(901, 111, 0, 0))
        ev, = self.events_of(pid)
        self.assert_openai_event(ev, pid=pid, exe="curl", usage=(901, 111, 0, 0))
        self.assert_no_events(lambda e: e.get("process.pid") in quiet, max(0.5, t0 + 3 - time.time()))
        self.assert_no_events(lambda e: e.get("server.address") == "static.example.test", 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
