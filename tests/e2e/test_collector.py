"""Agent -> collector delivery under faults, on SQLite and on PostgreSQL.

The oracle is the set of event ids the agent printed with --stdout: the collector sink runs first, so
every printed event was already in the spool. After each fault scenario every one of them must be in
the collector's database exactly once (or, when the spool was full, be counted in a gap record).

Scenarios (each with a fresh agent, spool and database, real BPF capture of a steady python client):
- the collector killed with SIGKILL and restarted 20 times while events flow;
- the collector down for a minute, then back;
- the agent itself killed with SIGKILL and restarted (also while the collector is down);
- a spool too small to ride out an outage: drops counted and reported in a gap record;
- heartbeats reach /api/v1/agents.
"""
import os
import random
import shutil
import sys
import tempfile
import time
import unittest

from harness import FakeServer, skip_reason, tail
from collector_harness import (Collector, Database, Load, export_config, exporting_agent, metric,
                               postgres_reason)

KILLS = 20
OUTAGE_SECONDS = 60


def printed_ids(*agents):
    ids = []
    for a in agents:
        ids += [e["shadowmeter.event_id"] for e in a.events]
    return ids


class DeliveryFaults:
    """Mixed into one TestCase per back end (BACKEND)."""

    BACKEND = None

    @classmethod
    def setUpClass(cls):
        reason = skip_reason() or (cls.BACKEND == "postgresql" and postgres_reason())
        if reason:
            print("SKIP: " + reason, file=sys.stderr)
            raise unittest.SkipTest(reason)
        cls.workdir = tempfile.mkdtemp(prefix="shadowmeter-collector-e2e-")
        cls.server = FakeServer(cls.workdir, verbose=False)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.workdir, ignore_errors=True)

    def setUp(self):
        self.db = Database(self.BACKEND, self.workdir, self._testMethodName)
        self.collector = None
        self.agents = []
        self.load = None

    def tearDown(self):
        if self.load:
            self.load.kill()
        for a in self.agents:
            if a.proc.poll() is None:
                a.stop()
        if self.collector:
            self.collector.stop()
        self.db.drop()

    def run(self, result=None):
        result = result or self.defaultTestResult()
        before = len(result.failures) + len(result.errors)
        super().run(result)
        if len(result.failures) + len(result.errors) > before or os.environ.get("SHADOWMETER_E2E_VERBOSE"):
            if getattr(self, "agents", None):
                sys.stderr.write("\n----- agent stderr (tail) -----\n%s\n" % self.agents[-1].stderr())
            if getattr(self, "collector", None):
                sys.stderr.write("----- collector log (tail) -----\n%s\n" % tail(self.collector.log, 60))
        return result

    # -- helpers --------------------------------------------------------------------------------------

    def start_collector(self, **kw):
        self.collector = Collector(self.workdir, self.db.url, **kw)
        return self.collector

    def start_agent(self, name="agent", **export):
        agent = exporting_agent(self.workdir, self.collector, export_config(self.workdir, name, **export))
        self.agents.append(agent)
        return agent

    def kill_agent(self, agent):
        agent.proc.kill()
        agent.proc.wait()
        agent.reader.join(5)

    def settle(self, seconds=1.5):
        """Lets the last calls' events reach the agent's stdout after the load stopped."""
        time.sleep(seconds)

    def wait_stored(self, expected, timeout=90):
        """Waits until the database holds exactly `expected` ids (a set); returns the stored list."""
        deadline = time.time() + timeout
        stored = []
        while time.time() < deadline:
            stored = self.db.event_ids()
            if set(stored) >= expected:
                break
            time.sleep(0.5)
        return stored

    def assert_exactly_once(self, oracle, stored, sigkills=0):
        """Every printed id stored once, nothing else stored. The collector sink runs before --stdout,
        so an agent killed with SIGKILL between the two has an event in its spool (delivered by the
        next run) that it never printed: at most one per kill, and it must be a real call of the load."""
        self.assertGreater(len(oracle), 0, "no event was generated")
        self.assertEqual(len(oracle), len(set(oracle)), "the agent printed an event id twice")
        missing = set(oracle) - set(stored)
        self.assertFalse(missing, "%d of %d events never stored, e.g. %s" % (
            len(missing), len(oracle), sorted(missing)[:3]))
        extra = set(stored) - set(oracle)
        self.assertLessEqual(len(extra), sigkills, "%d stored events the agent never printed" % len(extra))
        for event_id in extra:
            row, = self.db.rows("SELECT provider, request_model, input_tokens FROM calls WHERE event_id = '%s'"
                                % event_id)
            self.assertEqual(row[0], "openai", "unprinted stored event %s is not a call of the load" % event_id)
            self.assertIsNotNone(row[2], "unprinted stored event %s has no usage" % event_id)
        self.assertEqual(len(stored), len(set(stored)), "an event id stored twice")

    # -- scenarios ------------------------------------------------------------------------------------

    def test_collector_killed_and_restarted_20_times(self):
        self.start_collector()
        agent = self.start_agent()
        self.load = Load(self.workdir, self.server)
        rnd = random.Random(5)
        for _ in range(KILLS):
            time.sleep(rnd.uniform(0.3, 1.0))
            self.collector.kill()
            time.sleep(rnd.uniform(0.0, 0.4))
            self.collector.start()
        calls = self.load.stop()
        self.load = None
        self.settle()
        oracle = printed_ids(agent)
        stored = self.wait_stored(set(oracle))
        print("\n  %s: %d calls, %d events printed, %d stored, %d collector starts" % (
            self.BACKEND, calls["calls"], len(oracle), len(stored), self.collector.starts), file=sys.stderr)
        self.assertEqual(self.collector.starts, KILLS + 1)
        self.assertGreaterEqual(len(oracle), calls["calls"] * 0.9, "the agent missed many calls")
        self.assert_exactly_once(oracle, stored)
        self.assertGreater(metric(agent, "shadowmeter_export_failed_requests_total") +
                           metric(agent, "shadowmeter_export_events_total"), 0)

    def test_collector_down_for_a_minute(self):
        self.start_collector()
        agent = self.start_agent()
        self.load = Load(self.workdir, self.server, interval=0.05)
        time.sleep(2)
        self.collector.kill()
        down_at = time.time()
        pending = 0
        while time.time() - down_at < OUTAGE_SECONDS:
            time.sleep(2)
            pending = max(pending, metric(agent, "shadowmeter_spool_pending_events"))
        self.collector.start()
        calls = self.load.stop()
        self.load = None
        self.settle()
        oracle = printed_ids(agent)
        stored = self.wait_stored(set(oracle))
        print("\n  %s: %d calls, %d events printed, %d stored, up to %d spooled during the outage" % (
            self.BACKEND, calls["calls"], len(oracle), len(stored), pending), file=sys.stderr)
        self.assertGreater(pending, 100, "events did not wait in the spool during the outage")
        self.assert_exactly_once(oracle, stored)
        deadline = time.time() + 10
        while metric(agent, "shadowmeter_spool_pending_events") and time.time() < deadline:
            time.sleep(0.5)
        self.assertEqual(metric(agent, "shadowmeter_spool_pending_events"), 0)

    def test_agent_killed_and_restarted(self):
        self.start_collector()
        self.load = Load(self.workdir, self.server)
        killed = []
        for round_ in range(3):
            agent = self.start_agent()
            # Each run must have printed events before it is killed: wait for the first one (on a loaded
            # machine the load client's next call can come late), then let it run on a little.
            agent.wait_events(lambda e: True, timeout=60)
            time.sleep(1.5)
            if round_ == 1:
                # Killed while the collector is down: its events exist only in the spool.
                self.collector.kill()
                time.sleep(2)
            self.kill_agent(agent)
            killed.append(agent)
            if round_ == 1:
                self.collector.start()
        final = self.start_agent()  # recovers the spool the killed ones left
        time.sleep(2)
        calls = self.load.stop()
        self.load = None
        self.settle()
        oracle = printed_ids(*killed, final)
        stored = self.wait_stored(set(oracle))
        print("\n  %s: %d calls, %d events printed by 4 agent runs, %d stored" % (
            self.BACKEND, calls["calls"], len(oracle), len(stored)), file=sys.stderr)
        self.assertTrue(all(a.events for a in killed), "an agent run printed no event")
        self.assert_exactly_once(oracle, stored, sigkills=len(killed))

    def test_full_spool_drops_are_counted_and_reported(self):
        self.start_collector()
        agent = self.start_agent(spool_max_bytes=65536)
        self.collector.kill()
        self.load = Load(self.workdir, self.server, interval=0.01)
        deadline = time.time() + 60
        while metric(agent, "shadowmeter_spool_dropped_events_total", 'reason="spool_full"') < 20:
            self.assertLess(time.time(), deadline, "the spool never filled:\n" + agent.stderr())
            time.sleep(0.5)
        calls = self.load.stop()
        self.load = None
        self.settle()
        self.collector.start()
        oracle = set(printed_ids(agent))
        dropped = int(metric(agent, "shadowmeter_spool_dropped_events_total", 'reason="spool_full"'))
        deadline = time.time() + 60
        while time.time() < deadline:
            stored = self.db.event_ids()
            if len(stored) + self.db.gap_dropped() >= len(oracle):
                break
            time.sleep(0.5)
        stored = self.db.event_ids()
        gap = self.db.gap_dropped()
        print("\n  %s: %d calls, %d events, %d stored, %d dropped (gap records say %d)" % (
            self.BACKEND, calls["calls"], len(oracle), len(stored), dropped, gap), file=sys.stderr)
        self.assertGreater(dropped, 0)
        self.assertTrue(set(stored) <= oracle)
        self.assertEqual(len(stored), len(set(stored)))
        self.assertEqual(gap, dropped, "gap records must carry every drop")
        self.assertEqual(len(stored) + dropped, len(oracle), "every event is stored or counted as dropped")

    def test_heartbeat_reaches_the_agents_api(self):
        self.start_collector()
        agent = self.start_agent()
        deadline = time.time() + 20
        found = None
        while time.time() < deadline and not found:
            for a in self.collector.api("/api/v1/agents")["agents"]:
                if a.get("last_heartbeat_unix_nano") and "shadowmeter.probes.attached_files" in (a.get("heartbeat") or {}):
                    found = a
            time.sleep(0.5)
        self.assertIsNotNone(found, "no heartbeat stored")
        hb = found["heartbeat"]
        self.assertGreater(hb["shadowmeter.probes.attached_files"], 0)
        self.assertIn("shadowmeter.capture.ringbuf_drops", hb)
        self.assertIn("shadowmeter.spool.pending_events", hb)
        self.assertTrue(found["agent.version"])
        self.assertTrue(agent.proc.poll() is None)


class DeliveryFaultsSqlite(DeliveryFaults, unittest.TestCase):
    BACKEND = "sqlite"


class DeliveryFaultsPostgres(DeliveryFaults, unittest.TestCase):
    BACKEND = "postgresql"


if __name__ == "__main__":
    unittest.main(verbosity=2)
