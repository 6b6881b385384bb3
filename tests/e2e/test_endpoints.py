"""The agent's own HTTP endpoints and its shutdown."""
import re
import unittest

from harness import E2ECase, http_get, usage_arg


def metric_sum(text, name):
    """Sum of all samples of one metric (any labels); None when absent."""
    values = [float(m.group(1)) for m in
              re.finditer(r"^%s(?:\{[^}]*\})?\s+(\S+)" % re.escape(name), text, re.M)]
    return sum(values) if values else None


class TestEndpoints(E2ECase):
    def test_metrics_endpoint(self):
        pid, _ = self.call("curl", "--usage", usage_arg(1201, 131, 0, 0))
        self.events_of(pid)
        status, text = http_get(self.agent.port, "/metrics")
        self.assertEqual(status, 200)
        self.assertGreaterEqual(metric_sum(text, "shadowmeter_events_total") or 0, 1, text)
        self.assertIsNotNone(metric_sum(text, "shadowmeter_ringbuf_drops_total"), text)
        self.assertEqual(http_get(self.agent.port, "/healthz")[0], 200)
        self.assertEqual(http_get(self.agent.port, "/readyz")[0], 200)


class TestShutdown(E2ECase):
    def test_sigterm_exits_cleanly(self):
        """SIGTERM flushes and exits 0, after having printed the call made just before."""
        pid, _ = self.call("curl", "--usage", usage_arg(1301, 137, 0, 0))
        self.events_of(pid)
        self.assertEqual(self.agent.stop(), 0, self.agent.stderr())


if __name__ == "__main__":
    unittest.main(verbosity=2)
