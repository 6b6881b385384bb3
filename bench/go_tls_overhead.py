#!/usr/bin/env python3
"""Cost of the Go tap, measured in one run: a Go net/http client (tests/e2e/clients/go_client, built with
Debian's Go, stripped) posting chat completions on one keep-alive connection to the node fake provider,
HTTP/1.1 and HTTP/2, non-streamed and SSE-streamed, calls/s without the agent, with it, and without it
again (the same call counts in every leg); then the time from a new Go executable's exec to its probes
being in place (fresh copies, so each is a new inode), from the agent's log. Needs root for the agent.
The OpenSSL figure to compare with is tls_overhead.py's "python AI chat"."""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "e2e"))
import harness  # noqa: E402
from test_go import build_go  # noqa: E402
from tls_overhead import Bench, print_metrics, report  # noqa: E402

IN_PLACE = re.compile(r"Go TLS probes in place (\d+) us after the exec of pid (\d+)")


class GoBench(Bench):
    def __init__(self, server, binary):  # pylint: disable=super-init-not-called
        self.server = server
        self.binary = binary
        self.workloads = [
            ("Go HTTP/1.1 AI chat", lambda k: self.go(k, "-http1")),
            ("Go HTTP/2 AI chat", lambda k: self.go(k)),
            ("Go HTTP/2 AI SSE", lambda k: self.go(k, "-stream")),
        ]
        self.counts = {name: 200 for name, _ in self.workloads}

    def go(self, count, *flags):
        out = subprocess.run([self.binary, "-port", str(self.server.port), "-ca", self.server.ca, "-quiet",
                              "-repeat", str(count), "-usage", "input=10,output=7", *flags],
                             check=True, capture_output=True, text=True).stdout
        return float(out.split()[-1])


def exec_to_attached(agent, binary, workdir, runs):
    """Microseconds from exec to probes in place, for `runs` fresh copies of the binary."""
    found = []
    for i in range(runs):
        copy = os.path.join(workdir, "go_exec_%d" % i)
        shutil.copy2(binary, copy)
        proc = subprocess.Popen([copy, "-port", "1", "-ca", "/dev/null", "-usage", "x", "-wait-file",
                                 os.path.join(workdir, "never")], stdout=subprocess.DEVNULL)
        deadline = time.time() + 10
        us = None
        while us is None and time.time() < deadline:
            for m in IN_PLACE.finditer(harness.tail(agent.stderr_path, 50)):
                if int(m.group(2)) == proc.pid:
                    us = int(m.group(1))
            time.sleep(0.02)
        proc.kill()
        proc.wait()
        if us is None:
            sys.exit("no attach seen for pid %d:\n%s" % (proc.pid, agent.stderr()))
        found.append(us)
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=3.0, help="about how long each workload runs per leg")
    ap.add_argument("--exec-runs", type=int, default=10, help="fresh Go executables timed from exec to attach")
    args = ap.parse_args()
    if harness.skip_reason():
        sys.exit("cannot run the agent: %s" % harness.skip_reason())
    binary = build_go("go_client_stripped", "-s -w")
    workdir = tempfile.mkdtemp(prefix="shadowmeter-bench-go-")
    server = harness.MultiServer(workdir, verbose=False)
    try:
        bench = GoBench(server, binary)
        bench.leg("warm-up")
        bench.calibrate(args.seconds)
        print("calls per workload and leg:", bench.counts, flush=True)
        legs = [("without", bench.leg("without agent"))]
        agent = harness.Agent(workdir)
        try:
            legs.append(("with agent", bench.leg("with agent", agent)))
            latencies = exec_to_attached(agent, binary, workdir, args.exec_runs)
            metrics = harness.http_get(agent.port, "/metrics")[1]
        finally:
            agent.stop()
        legs.append(("without again", bench.leg("without agent again")))
        report(legs)
        print("\nexec -> Go probes in place (%d fresh executables): median %.1f ms, min %.1f ms, max %.1f ms"
              % (len(latencies), statistics.median(latencies) / 1000, min(latencies) / 1000,
                 max(latencies) / 1000))
        print_metrics(metrics, ("shadowmeter_go_", "shadowmeter_ringbuf_drops", "shadowmeter_capture_gaps"))
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
