#!/usr/bin/env python3
"""What the connection-level tracepoints cost traffic that is not AI: a loopback TCP echo (non-AI
plaintext, port not configured) measured without the agent, with it, and without it again, in one run.

Workloads (each in its own client process, server in another):
  roundtrip   one connection, many 64-byte write + read round trips (the per-syscall cost: one map
              lookup at entry of each read/write, as the socket stops being tracked at its first write)
  churn       connect + 64-byte round trip + close per iteration (the per-connection cost: tracked at
              connect, first write inspected, forgotten)
  tls-churn   the same with a TLS handshake to the non-AI fake provider host (ClientHello to user space)

The with leg also turns on kernel.bpf_stats_enabled and prints each syscall tracepoint program's runs
and mean run time (bpftool): the in-kernel cost, which load on the machine does not blur the way it
blurs the request rates.

Usage: sudo bench/netconn_overhead.py [--seconds 3]   (SHADOWMETER_AGENT / SHADOWMETER_CATALOG as for e2e)
"""
import argparse
import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
import harness  # noqa: E402

CLIENT = r'''
import socket, ssl, sys, time
mode, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
msg = b"x" * 64
t0 = time.perf_counter()
if mode == "roundtrip":
    s = socket.create_connection(("127.0.0.1", port))
    for _ in range(n):
        s.sendall(msg); s.recv(64)
    s.close()
elif mode == "churn":
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(msg); s.recv(64); s.close()
else:
    ctx = ssl.create_default_context(cafile=sys.argv[4])
    for _ in range(n):
        with socket.create_connection(("127.0.0.1", port)) as raw:
            with ctx.wrap_socket(raw, server_hostname="static.example.test") as s:
                s.sendall(b"GET /static/64 HTTP/1.1\r\nHost: static.example.test\r\nConnection: close\r\n\r\n")
                while s.recv(65536):
                    pass
print(time.perf_counter() - t0)
'''

ECHO = r'''
import socket, threading, sys
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0)); srv.listen(512)
print(srv.getsockname()[1], flush=True)
def serve(c):
    while True:
        d = c.recv(65536)
        if not d: break
        c.sendall(d)
    c.close()
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
'''


def run(mode, port, n, ca):
    out = subprocess.run([harness.PYTHON, "-c", CLIENT, mode, str(port), str(n), ca], check=True,
                         capture_output=True, text=True).stdout
    return n / float(out.strip())


def bpf_prog_stats():
    try:
        out = subprocess.run(["bpftool", "prog", "show", "-j"], check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return {}
    return {p["name"]: (p.get("run_cnt", 0), p.get("run_time_ns", 0)) for p in json.loads(out)
            if p.get("name", "").startswith("tp_")}


def set_bpf_stats(value):
    try:
        with open("/proc/sys/kernel/bpf_stats_enabled") as f:
            old = f.read().strip()
        with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
            f.write(value)
        return old
    except OSError:
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="sm-bench-netconn-")
    echo = subprocess.Popen([harness.PYTHON, "-c", ECHO], stdout=subprocess.PIPE, text=True)
    echo_port = int(echo.stdout.readline())
    tls = harness.FakeServer(work, verbose=False)
    try:
        plan = {}
        for mode, port in (("roundtrip", echo_port), ("churn", echo_port), ("tls-churn", tls.port)):
            rate = run(mode, port, 200, tls.ca)
            plan[mode] = (port, max(200, int(rate * args.seconds)))
        legs = {}
        for leg in ("without", "with", "without again"):
            agent = harness.Agent(work) if leg == "with" else None
            old_stats = set_bpf_stats("1") if agent else None
            try:
                legs[leg] = {m: run(m, p, n, tls.ca) for m, (p, n) in plan.items()}
                if agent:
                    metrics = harness.http_get(agent.port, "/metrics")[1]
                    events = len(agent.events)
                    prog_stats = bpf_prog_stats()
            finally:
                if old_stats is not None:
                    set_bpf_stats(old_stats)
                if agent:
                    agent.stop()
        print("%-10s %12s %12s %14s %10s" % ("workload", "without/s", "with/s", "without again", "with/without"))
        for m in plan:
            base = (legs["without"][m] + legs["without again"][m]) / 2
            print("%-10s %12.0f %12.0f %14.0f %10.3f" % (m, legs["without"][m], legs["with"][m],
                                                         legs["without again"][m], legs["with"][m] / base))
        print("events printed by the agent during the with leg: %d (expected 0)" % events)
        print("in-kernel cost per tracepoint hit during the with leg (all processes on the host):")
        for name, (cnt, ns) in sorted(prog_stats.items()):
            if cnt:
                print("  %-20s %10d runs %7.0f ns mean" % (name, cnt, ns / cnt))
        for line in metrics.splitlines():
            if line.startswith(("shadowmeter_tls_hellos_total", "shadowmeter_connection_only_events_total",
                                "shadowmeter_ringbuf_drops")):
                print("  " + line)
    finally:
        echo.kill()
        tls.stop()


if __name__ == "__main__":
    main()
