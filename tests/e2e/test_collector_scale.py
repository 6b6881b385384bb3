"""Report totals at scale are exact: 100k fleet-like calls (fleet_events.py, the scale benchmark's
generator) loaded through /v1/traces into SQLite and PostgreSQL collectors, half of the batches
delivered a second time, then every report's totals compared with brute-force sums over the events
sent: calls and tokens exactly, cost to 1e-6 relative.
"""
import csv
import io
import json
import os
import unittest
from concurrent.futures import ThreadPoolExecutor

from collector_harness import start_backend_collector, stop_backend_collector
import fleet_events

EVENTS = int(os.environ.get("SHADOWMETER_SCALE_EVENTS", "100000"))
BATCH = 1000
MONTH = "from=2026-11-01&to=2026-12-01"
SUMS = None  # brute force, computed once for both back ends


def brute_force():
    global SUMS
    if SUMS is None:
        SUMS = fleet_events.sums(EVENTS)
    return SUMS


def post(collector, body):
    status, _, answer = collector.request("POST", "/v1/traces", body, {
        "Content-Type": "application/json", "Content-Encoding": "gzip"}, timeout=120)
    if status != 200:
        raise AssertionError("POST /v1/traces: %d %s" % (status, answer[:200]))


class ScaleChecks:
    BACKEND = None

    @classmethod
    def setUpClass(cls):
        start_backend_collector(cls, "scale")
        batches = fleet_events.batches(EVENTS, BATCH)
        bodies = [fleet_events.batch_body(b) for b in batches]
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda b: post(cls.collector, b), bodies))
            # A redelivery of every other batch (an agent's spool after a lost acknowledgement).
            list(pool.map(lambda b: post(cls.collector, b), bodies[::2]))

    @classmethod
    def tearDownClass(cls):
        stop_backend_collector(cls)

    def assert_metrics(self, got, want, where):
        for k in ("calls", "input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens",
                  "reasoning_tokens", "priced_calls"):
            self.assertEqual(got[k], want[k], "%s: %s" % (where, k))
        self.assertAlmostEqual(got["cost_usd"], want["cost_usd"], delta=abs(want["cost_usd"]) * 1e-6,
                               msg="%s: cost_usd" % (where,))

    def showback(self, group_by):
        return self.collector.api("/api/v1/reports/showback?group_by=%s&limit=100000&%s" % (group_by, MONTH))

    def test_every_event_is_stored_once(self):
        self.assertEqual(int(self.db.rows("SELECT COUNT(*) FROM calls")[0][0]), EVENTS)

    def test_showback_by_owner(self):
        s = brute_force()
        out = self.showback("owner")
        self.assert_metrics(out["totals"], s.total, "totals")
        rows = {r["owner"]: r for r in out["rows"]}
        self.assertEqual(set(rows), set(s.by_owner))
        for owner, want in s.by_owner.items():
            self.assert_metrics(rows[owner], want, owner)

    def test_showback_by_provider_and_model(self):
        s = brute_force()
        out = self.showback("provider,model")
        self.assert_metrics(out["totals"], s.total, "totals")
        rows = {(r["provider"], r["model"]): r for r in out["rows"]}
        self.assertEqual(set(rows), set(s.by_model))
        for key, want in s.by_model.items():
            self.assert_metrics(rows[key], want, "/".join(key))

    def test_showback_by_feature_dimension(self):
        status, _, body = self.collector.request(
            "GET", "/api/v1/reports/showback?group_by=dimension.feature&limit=1000&" + MONTH)
        self.assertEqual(status, 200, body[:300])
        out = json.loads(body)
        s = brute_force()
        rows = {r["dimension.feature"]: r for r in out["rows"]}
        self.assertEqual(set(rows), set(s.by_feature))
        for feature, want in s.by_feature.items():
            self.assert_metrics(rows[feature], want, "feature %s" % feature)

    def test_coverage(self):
        s = brute_force()
        overall = self.collector.api("/api/v1/reports/coverage?" + MONTH)["visibility"]["overall"]
        self.assertEqual(overall["calls"], s.total["calls"])
        for k in ("exact", "estimated", "none"):
            self.assertEqual(overall[k], s.coverage[k], k)
        self.assertEqual(overall.get("blind_connections", overall.get("connection_only")),
                         s.coverage["connection_only"])

    def test_shadow(self):
        s = brute_force()
        totals = self.collector.api("/api/v1/reports/shadow?limit=100000&" + MONTH)["totals"]
        self.assertEqual(totals["calls"], s.shadow["calls"])
        self.assertAlmostEqual(totals["cost_usd"], s.shadow["cost_usd"], delta=s.shadow["cost_usd"] * 1e-6)

    def test_focus_export_of_the_month(self):
        s = brute_force()
        status, _, body = self.collector.request("GET", "/api/v1/reports/focus?" + MONTH, timeout=120)
        self.assertEqual(status, 200, body[:300])
        rows = list(csv.DictReader(io.StringIO(body.decode())))
        self.assertAlmostEqual(sum(float(r["ListCost"] or 0) for r in rows), s.total["cost_usd"],
                               delta=s.total["cost_usd"] * 1e-6)


class SqliteScale(ScaleChecks, unittest.TestCase):
    BACKEND = "sqlite"


class PostgresScale(ScaleChecks, unittest.TestCase):
    BACKEND = "postgresql"


if __name__ == "__main__":
    unittest.main()
