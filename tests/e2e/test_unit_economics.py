"""Custom dimensions and tags (unit_economics:) end to end: an agent configured to record the X-Feature
header, metadata.user_id (sensitive: fingerprinted) and metadata.feature from the body, and
X-Request-Id as a tag; a python client (OpenSSL) sends them to the fake OpenAI. The event carries each
as shadowmeter.dimension.<name> / shadowmeter.tag.<name>, and nothing of the prompt."""
import hashlib
import hmac
import json
import os
import shutil

from harness import FINGERPRINT_SECRET, Agent, E2ECase, FakeServer, e2e_workdir, usage_arg

CONFIG = """\
unit_economics:
  - {name: feature, header: X-Feature}
  - {name: app_feature, field: metadata.feature}
  - {name: customer, field: metadata.user_id, sensitive: true}
  - {name: request_id, header: x-request-id, kind: tag}
"""


def value_fingerprint(value):
    return "fp:" + hmac.new(FINGERPRINT_SECRET.encode(), value.encode(), hashlib.sha256).hexdigest()[:16]


class TestUnitEconomics(E2ECase):
    @classmethod
    def setUpClass(cls):
        cls.workdir = e2e_workdir("shadowmeter-e2e-dims-")
        cls.server = FakeServer(cls.workdir)
        cls.agent = None
        config = os.path.join(cls.workdir, "agent.yaml")
        with open(config, "w") as f:
            f.write(CONFIG)
        try:
            cls.agent = Agent(cls.workdir, extra_args=("--config", config))
        except Exception:
            cls.server.stop()
            shutil.rmtree(cls.workdir, ignore_errors=True)
            raise

    def test_header_and_body_fields_become_attributes(self):
        body = {"metadata": {"feature": "search", "user_id": "alice@example.com"}, "user": "not-configured"}
        pid, _ = self.call("python", "--usage", usage_arg(120, 30), "--header", "X-Feature: summarize",
                           "--header", "X-Request-Id: req-e2e-42", "--body-json", json.dumps(body))
        ev, = self.events_of(pid)
        self.assertEqual(ev.get("shadowmeter.dimension.feature"), "summarize")
        self.assertEqual(ev.get("shadowmeter.dimension.app_feature"), "search")
        self.assertEqual(ev.get("shadowmeter.dimension.customer"), value_fingerprint("alice@example.com"))
        self.assertEqual(ev.get("shadowmeter.tag.request_id"), "req-e2e-42")
        self.assertEqual(ev.get("gen_ai.usage.input_tokens"), 120)
        ours = {k: v for k, v in ev.items() if k.startswith(("shadowmeter.dimension.", "shadowmeter.tag."))}
        self.assertEqual(len(ours), 4, ours)
        line = json.dumps(ev)
        self.assertNotIn("alice@example.com", line)
        self.assertNotIn("Say hello", line)  # the prompt never
        self.assertNotIn("not-configured", line)

    def test_a_call_without_them_has_none(self):
        pid, _ = self.call("python", "--usage", usage_arg(5, 6))
        ev, = self.events_of(pid)
        self.assertFalse([k for k in ev if k.startswith(("shadowmeter.dimension.", "shadowmeter.tag."))], ev)
        self.assertTrue(ev.get("gen_ai.usage.output_tokens") == 6)
