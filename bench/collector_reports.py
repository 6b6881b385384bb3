#!/usr/bin/env python3
"""Report latency: each report of shadowmeter-collector over N stored events, on SQLite and PostgreSQL.

Fills a fresh database through /v1/traces with collector_ingest.py's agent-like events (every event id
distinct), then times GET /api/v1/reports/NAME over the last 30 days (median of --runs), for showback
(by owner; by owner and day; by provider and model), shadow, coverage and the FOCUS export.

  bench/collector_reports.py [--events 200000] [--runs 3] [--backends sqlite,postgresql]
"""
import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from collector_ingest import Collector, Database, batch_body, post_all, postgres_reason  # noqa: E402

QUERIES = [
    ("showback by owner", "/api/v1/reports/showback?group_by=owner"),
    ("showback by owner, day", "/api/v1/reports/showback?group_by=owner&granularity=day"),
    ("showback by provider, model", "/api/v1/reports/showback?group_by=provider,model"),
    ("shadow", "/api/v1/reports/shadow"),
    ("coverage", "/api/v1/reports/coverage"),
    ("focus (csv)", "/api/v1/reports/focus"),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=200000)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--backends", default="sqlite,postgresql")
    args = ap.parse_args()
    bodies = [batch_body(i, min(args.batch, args.events - i)) for i in range(0, args.events, args.batch)]
    for backend in args.backends.split(","):
        if backend == "postgresql" and postgres_reason():
            print("%s: skipped (%s)" % (backend, postgres_reason()))
            continue
        workdir = tempfile.mkdtemp(prefix="shadowmeter-bench-reports-")
        db = Database(backend, workdir, "bench_reports")
        collector = Collector(workdir, db.url)
        try:
            seconds, errors, _ = post_all(collector, bodies, 4)
            if errors:
                raise SystemExit("%s: ingest errors: %s" % (backend, errors[:3]))
            print("%s: %d events stored in %.1f s" % (backend, args.events, seconds))
            for label, path in QUERIES:
                times = []
                for _ in range(args.runs):
                    start = time.perf_counter()
                    status, _, body = collector.request("GET", path, timeout=600)
                    times.append(time.perf_counter() - start)
                    if status != 200:
                        raise SystemExit("%s %s: HTTP %d %s" % (backend, path, status, body[:200]))
                print("  %-30s %8.3f s  (%d bytes)" % (label, statistics.median(times), len(body)))
        finally:
            collector.stop()
            db.drop()
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
