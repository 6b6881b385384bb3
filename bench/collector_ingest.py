#!/usr/bin/env python3
"""Collector ingest rate: events/s stored by shadowmeter-collector on SQLite and on PostgreSQL.

Builds OTLP/HTTP JSON batches like the agent's (one span per usage event, ~40 attributes, gzip),
every event id distinct, before timing; then N client threads post them on keep-alive connections to a
collector on loopback and the run is timed until the last batch was acknowledged (the collector answers
only after the commit). A second leg re-posts the same batches: every event is a duplicate, which shows
the cost of idempotence. Prints events/s per back end and the PostgreSQL/SQLite ratio.

  bench/collector_ingest.py [--events 200000] [--batch 500] [--clients 4] [--backends sqlite,postgresql]

SHADOWMETER_COLLECTOR names the binary (default build/collectors/shadowmeter-collector). PostgreSQL
needs packaging/scripts/start-postgres.sh (root).
"""
import argparse
import gzip
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
from collector_harness import Collector, Database, postgres_reason  # noqa: E402


def attrs(n):
    a = {
        "shadowmeter.event_id": "%032x" % (0xbe0c0000000000000000000000000000 + n),
        "gen_ai.provider.name": ("openai", "anthropic", "gcp.gemini", "aws.bedrock")[n % 4],
        "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18", "gen_ai.response.id": "chatcmpl-%d" % n,
        "gen_ai.usage.input_tokens": 1000 + n % 500, "gen_ai.usage.output_tokens": 200 + n % 100,
        "gen_ai.usage.cache_read.input_tokens": 128, "shadowmeter.usage.source": "response",
        "shadowmeter.stream": n % 3 == 0, "server.address": "api.openai.com", "server.port": 443,
        "url.path": "/v1/chat/completions", "http.request.method": "POST", "http.response.status_code": 200,
        "network.protocol.version": "1.1", "process.pid": 4000 + n % 50,
        "process.executable.name": "python3", "process.executable.path": "/usr/bin/python3.11",
        "process.command_line": "python3 app.py --serve", "process.owner": "app",
        "container.id": "%064x" % (n % 37), "container.runtime": "containerd",
        "k8s.namespace.name": "team-%d" % (n % 12), "k8s.pod.name": "checkout-7d9f-%d" % (n % 37),
        "k8s.pod.uid": "5b1c8c1e-0000-4000-8000-%012d" % (n % 37), "k8s.container.name": "app",
        "k8s.deployment.name": "checkout", "shadowmeter.owner": "team-%d" % (n % 12),
        "deployment.environment": "prod", "shadowmeter.tls.library": "openssl",
        "shadowmeter.visibility": "plaintext", "shadowmeter.api_key.fingerprint": "%032x" % (n % 9),
        "shadowmeter.api_key.hint": "sk-proj", "shadowmeter.cost.usd": 0.000285 + n % 7 * 1e-6,
        "shadowmeter.cost.pricing_source": "builtin:gpt-4o-mini-2024-07-18", "shadowmeter.shadow": n % 5 == 0,
        "shadowmeter.shadow.reason": "direct call to a public provider" if n % 5 == 0 else "",
    }
    return a


def value(v):
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    return {"stringValue": v}


def batch_body(first, count):
    spans = []
    t0 = int(time.time() * 1e9) - 3_600_000_000_000
    for n in range(first, first + count):
        a = attrs(n)
        spans.append({"traceId": a["shadowmeter.event_id"], "spanId": a["shadowmeter.event_id"][:16],
                      "name": "chat gpt-4o-mini-2024-07-18", "kind": 3,
                      "startTimeUnixNano": str(t0 + n * 1000), "endTimeUnixNano": str(t0 + n * 1000 + 900),
                      "attributes": [{"key": k, "value": value(v)} for k, v in a.items()]})
    doc = {"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "shadowmeter-agent"}},
        {"key": "host.name", "value": {"stringValue": "node-%d" % (first % 8)}}]},
        "scopeSpans": [{"scope": {"name": "shadowmeter"}, "spans": spans}]}]}
    return gzip.compress(json.dumps(doc).encode(), 6)


def post_all(collector, bodies, clients):
    """Posts every body of `bodies` (any iterable, read lazily) from `clients` threads."""
    queue = iter(bodies)
    lock = threading.Lock()
    errors, retries = [], [0]

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", collector.port, timeout=120)
        while True:
            with lock:
                body = next(queue, None)
            if body is None:
                break
            while True:
                try:
                    conn.request("POST", "/v1/traces", body=body, headers={
                        "Content-Type": "application/json", "Content-Encoding": "gzip",
                        "Authorization": "Bearer " + collector.token})
                    resp = conn.getresponse()
                    resp.read()
                except (OSError, http.client.HTTPException) as e:
                    errors.append(str(e))
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", collector.port, timeout=120)
                    continue
                if resp.status in (429, 503):  # backpressure: honour it like the agent does
                    with lock:
                        retries[0] += 1
                    time.sleep(float(resp.getheader("Retry-After", "1")) / 10)
                    continue
                if resp.status != 200:
                    errors.append("HTTP %d" % resp.status)
                break
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start, errors, retries[0]


def store_size(db):
    """Bytes the database takes on disk now (SQLite: file and WAL; PostgreSQL: pg_database_size)."""
    if db.backend == "sqlite":
        return sum(os.path.getsize(p) for p in (db.path, db.path + "-wal") if os.path.exists(p))
    return float(db.rows("SELECT pg_database_size(current_database())")[0][0])


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def database_cpu_seconds(db):
    """CPU time of the PostgreSQL server processes serving `db` (0 for SQLite: it runs in the collector)."""
    if db.backend != "postgresql":
        return 0.0
    pids = [int(r[0]) for r in db.rows("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                       "AND pid <> pg_backend_pid()")]
    total = 0.0
    for pid in pids:
        try:
            total += cpu_seconds(pid)
        except OSError:
            pass
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=200000)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--backends", default="sqlite,postgresql")
    args = ap.parse_args()
    print("building %d events in batches of %d ..." % (args.events, args.batch), flush=True)
    bodies = [batch_body(i, min(args.batch, args.events - i)) for i in range(0, args.events, args.batch)]
    wire = sum(len(b) for b in bodies)
    print("%d batches, %.1f MB gzip on the wire (%.0f bytes/event)" % (len(bodies), wire / 1e6, wire / args.events))
    results = {}
    workdir = tempfile.mkdtemp(prefix="shadowmeter-bench-ingest-")
    try:
        for backend in args.backends.split(","):
            if backend == "postgresql" and postgres_reason():
                print("postgresql: skipped (%s)" % postgres_reason())
                continue
            db = Database(backend, workdir, "bench")
            collector = Collector(workdir, db.url)
            try:
                cpu0, db_cpu0 = cpu_seconds(collector.proc.pid), database_cpu_seconds(db)
                secs, errors, retries = post_all(collector, bodies, args.clients)
                cpu_new = cpu_seconds(collector.proc.pid) - cpu0
                db_cpu_new = database_cpu_seconds(db) - db_cpu0
                stored = len(db.event_ids())
                secs_dup, errors_dup, _ = post_all(collector, bodies, args.clients)
                stored_after = len(db.event_ids())
                store_bytes = store_size(db)
            finally:
                collector.stop()
                db.drop()
            if errors or errors_dup or stored != args.events or stored_after != args.events:
                print("%s: FAILED: %d errors (%s), %d stored, %d after the duplicate leg" % (
                    backend, len(errors) + len(errors_dup), (errors + errors_dup)[:3], stored, stored_after))
                return 1
            results[backend] = args.events / secs
            print("%-10s new events: %8.0f events/s (%.1f s, %d backpressure retries, collector CPU %.0f µs/event, "
                  "database server CPU %.0f µs/event)   duplicates: %8.0f events/s   store %.0f bytes/event" % (
                      backend, args.events / secs, secs, retries, cpu_new / args.events * 1e6,
                      db_cpu_new / args.events * 1e6,
                      args.events / secs_dup, store_bytes / args.events if store_bytes else 0), flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if "sqlite" in results and "postgresql" in results:
        print("postgresql/sqlite ingest ratio: %.2f" % (results["postgresql"] / results["sqlite"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
