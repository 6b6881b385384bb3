"""`shadowmeter-collector report NAME` on a database filled through /v1/traces (SQLite and PostgreSQL):
JSON, CSV and HTML on the command line agree with the report API of the running collector and with
figures computed here from the events sent; usage errors exit 2, a missing database 1.
"""
import base64
import csv
import io
import json
import os
import subprocess
import unittest

from collector_harness import COLLECTOR, otlp_span, otlp_traces, start_backend_collector, stop_backend_collector

DAY = 86_400 * 1_000_000_000
T0 = 1_793_491_200 * 1_000_000_000  # 2026-11-01T00:00:00Z
RANGE = ["--from", "2026-10-31", "--to", "2026-11-03"]


def span(n, t, **attrs):
    eid = "%032x" % (0x7e9070000000000000000000000000 + n)
    a = {"shadowmeter.event_id": eid, "gen_ai.provider.name": "openai", "gen_ai.operation.name": "chat",
         "gen_ai.request.model": "gpt-4o", "shadowmeter.usage.source": "response",
         "shadowmeter.visibility": "plaintext", "shadowmeter.shadow": False}
    a.update(attrs)
    return otlp_span(a, "chat", t, t + 1000)


def traces(spans, host):
    return otlp_traces(spans, {"host.name": host})


# team-a: 3 priced calls on 11-01 (0.01 each, 1000 + 200 tokens); team-b: 2 on 11-02 (0.5 each, one
# of them shadow); one blind connection without owner (not a call); one call on 10-20, outside the range.
SPANS_A = [span(i, T0 + i * 1_000_000_000, **{"shadowmeter.owner": "team-a", "shadowmeter.cost.usd": 0.01,
                                               "gen_ai.usage.input_tokens": 1000, "gen_ai.usage.output_tokens": 200,
                                               "shadowmeter.cost.pricing_source": "builtin"}) for i in range(3)]
SPANS_B = [span(10, T0 + DAY, **{"shadowmeter.owner": "team-b", "shadowmeter.cost.usd": 0.5,
                                 "gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 10}),
           span(11, T0 + DAY + 5, **{"shadowmeter.owner": "team-b", "shadowmeter.cost.usd": 0.5,
                                     "shadowmeter.shadow": True, "shadowmeter.shadow.reason": "=cmd|evil",
                                     "gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 10}),
           span(12, T0 + DAY + 9, **{"shadowmeter.visibility": "connection_only", "shadowmeter.usage.source": "none",
                                     "shadowmeter.tls.library": "rustls", "server.address": "api.openai.com"}),
           span(13, T0 - 12 * DAY, **{"shadowmeter.owner": "team-a", "shadowmeter.cost.usd": 9.0})]


class ReportChecks:
    BACKEND = None

    @classmethod
    def setUpClass(cls):
        start_backend_collector(cls, "reports")
        for doc in (traces(SPANS_A, "node-1"), traces(SPANS_B, "node-2")):
            status, _, body = cls.collector.post_traces(doc)
            assert status == 200, body

    @classmethod
    def tearDownClass(cls):
        stop_backend_collector(cls)

    def report(self, *args, check=True):
        r = subprocess.run([COLLECTOR, "report", *args], capture_output=True, text=True, timeout=60)
        if check and r.returncode != 0:
            raise AssertionError("report %s: exit %d: %s" % (args, r.returncode, r.stderr))
        return r

    def test_showback_json_matches_the_events_and_the_api(self):
        out = json.loads(self.report("showback", "--db", self.db.url, *RANGE, "--group-by", "owner").stdout)
        self.assertEqual(out["totals"]["calls"], 5)  # 3 + 2; a blind connection is no call; 10-20 is outside
        self.assertAlmostEqual(out["totals"]["cost_usd"], 1.03)
        self.assertEqual(out["totals"]["input_tokens"], 3020)
        by_owner = {r["owner"]: r for r in out["rows"]}
        self.assertAlmostEqual(by_owner["team-b"]["cost_usd"], 1.0)
        self.assertEqual(by_owner["team-a"]["calls"], 3)
        self.assertNotIn(None, by_owner)  # its only event is a blind connection: no call, no showback row
        self.assertIn("not an invoice", out["cost_note"])
        api = self.collector.api("/api/v1/reports/showback?from=2026-10-31&to=2026-11-03&group_by=owner")
        self.assertEqual(api["rows"], out["rows"])
        self.assertEqual(api["totals"], out["totals"])

    def test_showback_csv_and_html(self):
        text = self.report("showback", "--db", self.db.url, *RANGE, "--group-by", "owner,model",
                           "--format", "csv").stdout
        rows = list(csv.DictReader(io.StringIO(text)))
        self.assertEqual(len(rows), 2)  # team-b/gpt-4o and team-a's model; the blind connection is no row
        self.assertEqual(rows[0]["owner"], "team-b")
        self.assertEqual(rows[0]["model"], "gpt-4o")
        self.assertAlmostEqual(float(rows[0]["cost_usd"]), 1.0)
        out_file = os.path.join(self.workdir, "showback.html")
        self.report("showback", "--db", self.db.url, *RANGE, "--format", "html", "--output", out_file)
        with open(out_file) as f:
            html = f.read()
        self.assertIn("<html", html)
        self.assertIn("team-a", html)

    def test_shadow_csv_defuses_formulas_and_focus_adds_up(self):
        text = self.report("shadow", "--db", self.db.url, *RANGE, "--format", "csv").stdout
        rows = list(csv.DictReader(io.StringIO(text)))
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows[0]["reason"], "'=cmd|evil")
        focus = list(csv.DictReader(io.StringIO(self.report("focus", "--db", self.db.url, *RANGE).stdout)))
        self.assertAlmostEqual(sum(float(r["ListCost"]) for r in focus), 1.03)
        self.assertTrue(all(r["x_CostIsEstimate"] == "true" and r["BillingCurrency"] == "USD" for r in focus))
        # Through the API with HTTP Basic, as a browser would download it.
        auth = base64.b64encode(("finops:" + self.collector.token).encode()).decode()
        status, headers, body = self.collector.request(
            "GET", "/api/v1/reports/focus?from=2026-10-31&to=2026-11-03", headers={"Authorization": "Basic " + auth},
            token=False)
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/csv"))
        self.assertEqual(len(list(csv.DictReader(io.StringIO(body.decode())))), len(focus))

    def test_coverage_counts_the_blind_connection_as_a_connection(self):
        out = json.loads(self.report("coverage", "--db", self.db.url, *RANGE).stdout)
        self.assertEqual(out["visibility"]["overall"]["blind_connections"], 1)
        self.assertEqual(out["visibility"]["overall"]["calls"], 5)
        self.assertEqual(out["visibility"]["blind_spots"][0]["shadowmeter.tls.library"], "rustls")
        self.assertEqual(out["visibility"]["blind_spots"][0]["connections"], 1)
        self.assertAlmostEqual(out["allocation"]["allocated_share"], 1.0)

    def test_usage_and_store_errors(self):
        for args in (["nope", "--db", self.db.url], ["showback"], ["showback", "--db", self.db.url, "--format", "xml"],
                     ["showback", "--db", self.db.url, "--from", "2026-11-03", "--to", "2026-11-01"],
                     ["showback", "--db", self.db.url, "--group-by", "color"]):
            r = self.report(*args, check=False)
            self.assertEqual(r.returncode, 2, args)
            self.assertIn("shadowmeter-collector report", r.stderr)
        r = self.report("showback", "--db", "sqlite:" + os.path.join(self.workdir, "missing.db"), check=False)
        self.assertEqual(r.returncode, 1)
        self.assertFalse(os.path.exists(os.path.join(self.workdir, "missing.db")))


class SqliteReports(ReportChecks, unittest.TestCase):
    BACKEND = "sqlite"


class PostgresReports(ReportChecks, unittest.TestCase):
    BACKEND = "postgresql"


if __name__ == "__main__":
    unittest.main()
