#!/usr/bin/env python3
"""The collector at fleet scale: N synthetic calls over 30 days loaded through /v1/traces, then every
report and the dashboard timed, on SQLite and on PostgreSQL.

The events are tests/e2e/fleet_events.py's (1,000 workloads of 50 owners, 500 nodes, 30 models, 200
keys, a feature dimension, shadow, blind and unpriced calls). Their gzip'd OTLP bodies are built first
by a pool of processes into a spool file (memory stays bounded whatever N is; building is not timed),
then --clients threads post them to a fresh collector per back end. Printed per back end: ingest
events/s, bytes on disk per stored event, the collector's peak RSS (VmHWM), and for each report the
median of --runs requests over the whole month (showback by owner / owner and day / provider and
model / dimension.feature, shadow, coverage, the FOCUS CSV of the month read to the end, the dashboard
page). Reports the collector does not know (400) are printed as such, not timed.

  bench/collector_scale.py [--events 10000000] [--batch 1000] [--clients 4] [--runs 3]
                           [--backends sqlite,postgresql] [--spool-dir /var/tmp]

SHADOWMETER_COLLECTOR names the binary (default build/collectors/shadowmeter-collector). PostgreSQL
needs packaging/scripts/start-postgres.sh (root). 10M events take about 1.4 GB of spool and ~20 minutes
to build on 2 cores, plus the load per back end.
"""
import argparse
import multiprocessing
import os
import shutil
import statistics
import struct
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "e2e"))
from collector_ingest import Collector, Database, cpu_seconds, post_all, postgres_reason, store_size  # noqa: E402
import fleet_events  # noqa: E402

MONTH = "from=2026-11-01&to=2026-12-01"
QUERIES = [
    ("showback by owner", "/api/v1/reports/showback?group_by=owner&" + MONTH),
    ("showback by owner, day", "/api/v1/reports/showback?group_by=owner&granularity=day&" + MONTH),
    ("showback by provider, model", "/api/v1/reports/showback?group_by=provider,model&" + MONTH),
    ("showback by dimension.feature", "/api/v1/reports/showback?group_by=dimension.feature&" + MONTH),
    ("shadow", "/api/v1/reports/shadow?" + MONTH),
    ("coverage", "/api/v1/reports/coverage?" + MONTH),
    ("focus (csv, the month)", "/api/v1/reports/focus?" + MONTH),
    ("dashboard", "/?" + MONTH),
]


class Spool:
    """Batch bodies, length-prefixed in one file: built once, posted lazily (bounded memory)."""

    def __init__(self, path, events, batch, processes):
        self.path, self.count = path, 0
        self.wire = 0
        with open(path, "wb") as f, multiprocessing.Pool(processes) as pool:
            for body in pool.imap(fleet_events.batch_body, fleet_events.batches(events, batch), chunksize=4):
                f.write(struct.pack("<I", len(body)))
                f.write(body)
                self.count += 1
                self.wire += len(body)

    def __iter__(self):
        with open(self.path, "rb") as f:
            while True:
                head = f.read(4)
                if len(head) < 4:
                    return
                yield f.read(struct.unpack("<I", head)[0])


def peak_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def time_queries(collector, runs):
    for label, path in QUERIES:
        times, size, status = [], 0, 200
        for _ in range(runs):
            start = time.perf_counter()
            status, _, body = collector.request("GET", path, timeout=3600)
            times.append(time.perf_counter() - start)
            size = len(body)
            if status != 200:
                break
        if status == 400:
            print("  %-32s not supported by this collector (400: %s)" % (label, body[:80].decode(errors="replace")))
        elif status != 200:
            raise SystemExit("%s: HTTP %d %s" % (path, status, body[:200]))
        else:
            print("  %-32s %8.3f s  (median of %d; %d bytes)" % (label, statistics.median(times), runs, size),
                  flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--spool-dir", default=None, help="where the built bodies are kept (default: a temp dir)")
    args = ap.parse_args()
    workdir = tempfile.mkdtemp(prefix="shadowmeter-bench-scale-", dir=args.spool_dir)
    try:
        start = time.perf_counter()
        spool = Spool(os.path.join(workdir, "bodies.spool"), args.events, args.batch, os.cpu_count() or 2)
        print("built %d events in %d batches in %.0f s (%.0f bytes/event gzip on the wire)" % (
            args.events, spool.count, time.perf_counter() - start, spool.wire / args.events), flush=True)
        for backend in args.backends.split(","):
            if backend == "postgresql" and postgres_reason():
                print("postgresql: skipped (%s)" % postgres_reason())
                continue
            db = Database(backend, workdir, "bench_scale")
            collector = Collector(workdir, db.url)
            try:
                cpu0 = cpu_seconds(collector.proc.pid)
                secs, errors, retries = post_all(collector, spool, args.clients)
                cpu = cpu_seconds(collector.proc.pid) - cpu0
                if errors:
                    raise SystemExit("%s: ingest errors: %s" % (backend, errors[:3]))
                stored = int(db.rows("SELECT COUNT(*) FROM calls")[0][0])
                print("%s: %d events stored in %.0f s: %.0f events/s (%d backpressure retries; collector CPU "
                      "%.0f µs/event); %.0f bytes/event on disk" % (
                          backend, stored, secs, args.events / secs, retries, cpu / args.events * 1e6,
                          store_size(db) / max(stored, 1)), flush=True)
                time_queries(collector, args.runs)
                print("  collector peak RSS: %.0f MiB" % (peak_rss_kib(collector.proc.pid) / 1024), flush=True)
            finally:
                collector.stop()
                db.drop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
