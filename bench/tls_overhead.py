#!/usr/bin/env python3
"""TLS overhead of the agent, measured in one run: requests/s without the agent, with it, and without
it again, for keep-alive TLS clients against the e2e fake provider on loopback.

Workloads: curl and a python client on non-AI static.example.test (the agent should cost only the
probe hit there), and the same python loop calling api.openai.com chat completions (payloads captured,
one event per call).  Needs root for the "with" leg; --no-agent runs the without leg only.
"""
import argparse
import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
import harness  # noqa: E402  (fake provider and agent lifecycle, shared with the e2e tests)

PYTHON = "/usr/bin/python3"
CHAT_BODY = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})


def python_loop(port, ca, host, path, count):
    """One keep-alive connection, `count` requests; prints the elapsed seconds."""
    real_getaddrinfo = socket.getaddrinfo
    socket.getaddrinfo = lambda h, *a, **k: real_getaddrinfo("127.0.0.1", *a, **k)
    conn = http.client.HTTPSConnection(host, port, context=ssl.create_default_context(cafile=ca))
    chat = path.startswith("/v1/")
    start = time.perf_counter()
    for i in range(count):
        if chat:
            conn.request("POST", path, body=CHAT_BODY, headers={
                "Content-Type": "application/json", "Authorization": "Bearer sk-test-bench",
                "x-fake-usage": "prompt=%d,completion=7" % (10 + i)})
        else:
            conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        if resp.status != 200:
            sys.exit("HTTP %d" % resp.status)
    print(time.perf_counter() - start)


class Bench:
    def __init__(self, server):
        self.server = server
        self.workloads = [
            ("curl static 1 KiB", self.curl_static),
            ("python static 1 KiB", lambda k: self.python(k, "static.example.test", "/static/1024")),
            ("python AI chat", lambda k: self.python(k, "api.openai.com", harness.CHAT_PATH)),
        ]
        self.counts = {name: 300 for name, _ in self.workloads}

    def calibrate(self, seconds):
        """Request counts that take about `seconds` each without the agent (same counts in every leg)."""
        for name, (rate, *_rest) in self.leg("calibrating").items():
            self.counts[name] = max(100, int(rate * seconds))

    def curl_static(self, count):
        url = "https://static.example.test:%d/static/1024?[1-%d]" % (self.server.port, count)
        cmd = ["curl", "-sS", "--fail", "--http1.1", "--cacert", self.server.ca, "--resolve",
               "static.example.test:%d:127.0.0.1" % self.server.port, url]
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        return time.perf_counter() - start

    def python(self, count, host, path):
        out = subprocess.run([PYTHON, __file__, "--loop", host, path, str(count),
                              str(self.server.port), self.server.ca],
                             check=True, capture_output=True, text=True).stdout
        return float(out.strip().splitlines()[-1])

    def leg(self, label, agent=None):
        """{workload: (requests/s, agent CPU seconds, events seen, requests)}"""
        results = {}
        print("%s ..." % label, flush=True)
        for name, run in self.workloads:
            count = self.counts[name]
            cpu0, ev0 = cpu_seconds(agent), len(agent.events) if agent else 0
            elapsed = run(count)
            if agent:  # let the agent drain what the loop produced before reading its counters
                agent.wait_events(lambda e: True, ev0 + (count if "AI" in name else 0), 10)
            results[name] = (count / elapsed, cpu_seconds(agent) - cpu0,
                             len(agent.events) - ev0 if agent else None, count)
        return results


def cpu_seconds(agent):
    if not agent:
        return 0.0
    with open("/proc/%d/stat" % agent.proc.pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def print_metrics(text, prefixes):
    """The agent's /metrics lines that start with one of `prefixes`."""
    print("agent metrics after the with leg:")
    for line in text.splitlines():
        if line.startswith(prefixes):
            print("  " + line)


def report(legs):
    names = list(legs[0][1])
    print("\n%-22s" % "requests/s" + "".join("%14s" % label for label, _ in legs)
          + ("%14s" % "with/without" if len(legs) > 1 else ""))
    for name in names:
        row = "%-22s" % name
        rates = {label: res[name][0] for label, res in legs}
        row += "".join("%12.0f/s" % rates[label] for label, _ in legs)
        base = [r for label, r in rates.items() if label.startswith("without")]
        if "with agent" in rates:
            row += "%14.3f" % (rates["with agent"] / (sum(base) / len(base)))
        print(row)
    for label, res in legs:
        if label == "with agent":
            print("\nagent cost during the with leg:")
            for name, (rate, cpu, events, count) in res.items():
                print("  %-20s agent CPU %.3f s (%.1f us/request), events %d for %d requests"
                      % (name, cpu, cpu * 1e6 / count, events, count))


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--loop":
        host, path, count, port, ca = sys.argv[2:7]
        return python_loop(int(port), ca, host, path, int(count))
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=4.0,
                    help="about how long each workload runs in each leg (default 4)")
    ap.add_argument("--no-agent", action="store_true", help="only the without-agent leg")
    args = ap.parse_args()
    print("agent:", "none" if args.no_agent else harness.AGENT)
    if not args.no_agent and harness.skip_reason():
        sys.exit("cannot run the agent: %s (use --no-agent)" % harness.skip_reason())
    workdir = tempfile.mkdtemp(prefix="shadowmeter-bench-")
    server = harness.FakeServer(workdir, verbose=False)
    try:
        bench = Bench(server)
        bench.leg("warm-up")  # certificates, page cache, server threads
        bench.calibrate(args.seconds)
        print("requests per workload and leg:", bench.counts, flush=True)
        legs = [("without", bench.leg("without agent"))]
        if not args.no_agent:
            agent = harness.Agent(workdir)
            try:
                legs.append(("with agent", bench.leg("with agent", agent)))
                metrics = harness.http_get(agent.port, "/metrics")[1]
            finally:
                code = agent.stop()
            if code != 0:
                print("agent exited with %s:\n%s" % (code, agent.stderr()))
            legs.append(("without again", bench.leg("without agent again")))
        report(legs)
        if not args.no_agent:
            print_metrics(metrics, ("shadowmeter_events_total", "shadowmeter_ringbuf_drops"))
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
