"""The collector's dashboard (GET /) in headless Chromium, against the real collector.

Seeds the collector with OTLP JSON (owners, one of them a hostile label; providers and models; shadow
calls; estimated usage; a connection-only call; an unpriced call; heartbeats of a fresh and a stale
agent; a gap record), then loads / in Debian's chromium with the token as HTTP Basic credentials:
- every figure on the rendered page (data-metric) equals the field of the reports API it names;
- the hostile owner label is text, not markup; nothing on the page points outside it;
- a screenshot is taken (printed path; copied to /tmp/shadowmeter-dashboard.png);
- at 390 px wide the page does not overflow horizontally;
- without credentials, or with a wrong token, the dashboard answers 401;
- the collector's per-owner Prometheus series count the same calls, tokens and cost.
"""
import datetime
import html.parser
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import zlib

from collector_harness import COLLECTOR, Collector, Database, otlp_span, otlp_traces

CHROMIUM = os.environ.get("SHADOWMETER_CHROMIUM") or "/usr/bin/chromium"
SCREENSHOT_COPY = "/tmp/shadowmeter-dashboard.png"
HOSTILE_OWNER = "<script>alert(1)</script>"
NOW_NS = time.time_ns()
HOUR_NS = 3600 * 10**9

# The dashboard's figures come from these reports (data-source), queried with the page's range.
SOURCES = {
    "showback_by_owner_day": "/api/v1/reports/showback?group_by=owner&granularity=day",
    "showback_by_model": "/api/v1/reports/showback?group_by=provider,model&granularity=total",
    "shadow": "/api/v1/reports/shadow",
    "coverage": "/api/v1/reports/coverage",
}


def span(n, t_ns, attrs):
    a = {"shadowmeter.event_id": "%032x" % (0xda5b0000000000000000000000000000 + n)}
    a.update(attrs)
    return otlp_span(a, "ai call", t_ns, t_ns + 5000)


def traces(spans, host):
    return otlp_traces(spans, {"service.name": "shadowmeter-agent", "service.version": "0.1.0", "host.name": host})


def call(owner, provider, model, cost, *, days_ago=0, hours_ago=1, shadow=False, source="response",
         visibility="plaintext", input_tokens=1000, output_tokens=200, **extra):
    a = {"gen_ai.provider.name": provider, "gen_ai.operation.name": "chat", "gen_ai.request.model": model,
         "gen_ai.response.model": model, "gen_ai.usage.input_tokens": input_tokens,
         "gen_ai.usage.output_tokens": output_tokens, "shadowmeter.usage.source": source,
         "shadowmeter.visibility": visibility, "shadowmeter.shadow": shadow, "shadowmeter.owner": owner,
         "server.address": {"openai": "api.openai.com", "anthropic": "api.anthropic.com"}.get(provider, "llm.local"),
         "process.executable.name": "python3", "shadowmeter.tls.library": "openssl"}
    if cost is not None:
        a["shadowmeter.cost.usd"] = cost
        a["shadowmeter.cost.pricing_source"] = "litellm:" + model
    if shadow:
        a["shadowmeter.shadow.reason"] = "direct call to a public provider"
    a.update(extra)
    return a, NOW_NS - days_ago * 24 * HOUR_NS - hours_ago * HOUR_NS


def seed_calls():
    """(attributes, time) of every seeded call: 3 days of spend by 3 owners and 2 providers."""
    out = []
    for day in range(3):
        out.append(call("team-a", "openai", "gpt-4o", 0.0125 * (day + 1), days_ago=day))
        out.append(call("team-a", "openai", "gpt-4o-mini", 0.0009, days_ago=day, hours_ago=2))
        out.append(call("team-b", "anthropic", "claude-sonnet-4", 0.031 + day, days_ago=day))
        out.append(call(HOSTILE_OWNER, "openai", "gpt-4o", 0.5, days_ago=day, hours_ago=3))
    # Shadow AI: a workload calling two providers directly.
    for i in range(3):
        out.append(call("team-b", "openai", "gpt-4o", 0.02, hours_ago=1 + i, shadow=True,
                        **{"k8s.namespace.name": "apps", "k8s.pod.name": "chatbot-7f9c-abcde",
                           "shadowmeter.api_key.fingerprint": "fp-1a2b3c"}))
    out.append(call("team-a", "anthropic", "claude-haiku", 0.004, hours_ago=5, shadow=True,
                    **{"process.executable.name": "node"}))
    # A stream without usage: estimated tokens.
    out.append(call("team-a", "openai", "gpt-4o", 0.002, hours_ago=4, source="estimated", input_tokens=40,
                    output_tokens=10))
    # A model with no price: no cost attribute.
    out.append(call("team-b", "vllm", "my-llama-70b", None, hours_ago=6))
    # A connection we saw but could not read.
    out.append(call("team-a", "openai", "unknown", None, hours_ago=7, source="none", visibility="connection_only",
                    input_tokens=0, output_tokens=0, **{"shadowmeter.tls.library": "go",
                                                         "process.executable.name": "goapp"}))
    # No owner at all.
    a, t = call("unallocated", "openai", "gpt-4o-mini", 0.0011, hours_ago=8)
    del a["shadowmeter.owner"]
    out.append((a, t))
    return out


def heartbeat(n, t_ns, host, **counters):
    a = {"shadowmeter.record.type": "heartbeat", "shadowmeter.agent.version": "0.1.0",
         "shadowmeter.agent.start_time_unix_nano": NOW_NS - 30 * 24 * HOUR_NS,
         "shadowmeter.capture.ringbuf_drops": 0, "shadowmeter.capture.uncopied_bytes": 0,
         "shadowmeter.capture.parse_errors": 0, "shadowmeter.probes.attach_failures": 0,
         "shadowmeter.spool.pending_events": 0, "shadowmeter.spool.dropped_events": 0}
    a.update(counters)
    return span(n, t_ns, a)


class FigureParser(html.parser.HTMLParser):
    """The data-metric elements (attributes and text), every tag name, every src / href value."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.figures, self.tags, self.links, self.text = [], [], [], []
        self._open = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        for k in ("src", "href", "action", "xlink:href", "srcset", "poster", "data"):
            if k in a and a[k] is not None:
                self.links.append((tag, k, a[k]))
        if "data-metric" in a and "data-pointer" in a:
            self._open = {"metric": a["data-metric"], "source": a.get("data-source"),
                          "pointer": a["data-pointer"], "value": a.get("data-value"), "text": ""}
            self.figures.append(self._open)

    def handle_endtag(self, tag):
        if tag == "span":
            self._open = None

    def handle_data(self, data):
        self.text.append(data)
        if self._open is not None:
            self._open["text"] += data


def resolve(doc, pointer):
    """RFC 6901."""
    cur = doc
    for token in pointer.split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(cur, list):
            cur = cur[int(token)]
        else:
            cur = cur[token]
    return cur


def exact_text(v):
    """The JSON value as the page's data-value carries it (strings bare)."""
    if v is None:
        return "null"
    if isinstance(v, str):
        return v
    return json.dumps(v)


def png_size_and_colours(path):
    """(width, height, number of distinct pixel byte-triples sampled) of an 8-bit RGB(A) PNG."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width, height, colour_type = 8, b"", 0, 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, _depth, colour_type = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    bpp = 4 if colour_type == 6 else 3
    stride = 1 + width * bpp
    colours = set()
    # Filtered bytes, not pixels, but enough to tell a blank page (one colour) from a drawn one.
    for row in range(0, height, 37):
        line = raw[row * stride + 1:(row + 1) * stride]
        for x in range(0, len(line) - bpp, bpp * 13):
            colours.add(line[x:x + 3])
    return width, height, len(colours)


class DashboardInChromium(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(CHROMIUM, os.X_OK):
            reason = "chromium not installed (%s): apt-get install chromium" % CHROMIUM
            print("SKIP: " + reason, file=sys.stderr)
            raise unittest.SkipTest(reason)
        if not os.access(COLLECTOR, os.X_OK):
            raise unittest.SkipTest("collector binary not found: %s" % COLLECTOR)
        cls.workdir = tempfile.mkdtemp(prefix="shadowmeter-dashboard-e2e-")
        cls.db = Database("sqlite", cls.workdir, "dashboard")
        cls.collector = Collector(cls.workdir, cls.db.url)
        cls.calls = seed_calls()
        spans = [span(i, t, a) for i, (a, t) in enumerate(cls.calls)]
        status, _, body = cls.collector.post_traces(traces(spans, "node-fresh"))
        assert status == 200, (status, body)
        # Heartbeats: node-fresh now; node-stale an hour ago, with capture losses; a gap record.
        extra = [heartbeat(1000, NOW_NS - 60 * 10**9, "node-fresh"),
                 heartbeat(1001, NOW_NS - 5 * 10**9, "node-fresh")]
        status, _, body = cls.collector.post_traces(traces(extra, "node-fresh"))
        assert status == 200, (status, body)
        stale = [heartbeat(1002, NOW_NS - 2 * HOUR_NS, "node-stale"),
                 heartbeat(1003, NOW_NS - HOUR_NS, "node-stale", **{"shadowmeter.capture.ringbuf_drops": 12,
                                                                    "shadowmeter.capture.parse_errors": 2}),
                 span(1004, NOW_NS - HOUR_NS, {"shadowmeter.record.type": "gap",
                                               "shadowmeter.gap.dropped_events": 7})]
        status, _, body = cls.collector.post_traces(traces(stale, "node-stale"))
        assert status == 200, (status, body)
        # The range of the page and of the API queries: whole days around the seeded calls.
        today = datetime.datetime.now(datetime.timezone.utc).date()
        cls.range = {"from": (today - datetime.timedelta(days=6)).isoformat(),
                     "to": (today + datetime.timedelta(days=1)).isoformat()}

    @classmethod
    def tearDownClass(cls):
        code = cls.collector.stop()
        shutil.rmtree(cls.workdir, ignore_errors=True)
        if code != 0:
            raise AssertionError("collector exited with %s on SIGTERM" % code)

    # --- helpers ---

    def chromium(self, *args, url, timeout=60):
        profile = tempfile.mkdtemp(prefix="chromium-", dir=self.workdir)
        cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-extensions", "--hide-scrollbars", "--user-data-dir=" + profile, *args, url]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if out.returncode != 0:
            raise AssertionError("chromium failed (%d): %s" % (out.returncode, out.stderr[-2000:]))
        return out

    def page_url(self, credentials=True, **params):
        q = dict(self.range)
        q.update(params)
        auth = "u:%s@" % self.collector.token if credentials else ""
        return "http://%s127.0.0.1:%d/?%s" % (auth, self.collector.port, urllib.parse.urlencode(q))

    def reports(self, owner=""):
        out = {}
        for name, path in SOURCES.items():
            q = dict(self.range)
            if owner:
                q["owner"] = owner
            out[name] = self.collector.api(path + ("&" if "?" in path else "?") + urllib.parse.urlencode(q))
        return out

    def rendered(self, **params):
        dom = self.chromium("--dump-dom", url=self.page_url(**params)).stdout
        p = FigureParser()
        p.feed(dom)
        return dom, p

    def check_figures(self, parser, reports):
        self.assertGreaterEqual(len(parser.figures), 40, "too few figures on the page")
        for f in parser.figures:
            with self.subTest(metric=f["metric"], pointer=f["pointer"]):
                self.assertIn(f["source"], reports)
                want = resolve(reports[f["source"]], f["pointer"])
                self.assertEqual(f["value"], exact_text(want))
                if want is not None:
                    self.assertNotEqual(f["text"].strip(), "n/a")
        return {f["metric"]: f for f in parser.figures}

    # --- tests ---

    def test_figures_match_the_api(self):
        dom, parser = self.rendered()
        reports = self.reports()
        by_metric = self.check_figures(parser, reports)
        for m in ("total-cost-usd", "total-calls", "shadow-findings", "shadow-new-findings", "coverage-exact-share",
                  "coverage-estimated-share", "coverage-blind-connections", "coverage-none-share",
                  "agents-reporting", "agents-stale", "allocated-share", "unpriced-share", "model-cost-usd",
                  "finding-cost-usd", "agent-ringbuf-drops", "agent-spool-dropped-events"):
            self.assertIn(m, by_metric)
        # The seeded data is what the reports say (so the comparison above is not vacuous).
        spend = reports["showback_by_owner_day"]["totals"]
        readable = [a for a, _ in self.calls if a["shadowmeter.visibility"] != "connection_only"]
        self.assertEqual(spend["calls"], len(readable))  # a blind connection is not a call
        expected_cost = sum(a.get("shadowmeter.cost.usd", 0) for a, _ in self.calls)
        self.assertAlmostEqual(spend["cost_usd"], expected_cost, places=9)
        self.assertEqual(by_metric["total-calls"]["text"].strip(), "{:,}".format(len(readable)))
        self.assertEqual(by_metric["total-cost-usd"]["text"].strip(), "${:,.2f}".format(expected_cost))
        vis = reports["coverage"]["visibility"]["overall"]
        self.assertEqual(vis["blind_connections"], 1)
        self.assertEqual(vis["calls"], len(readable))
        self.assertEqual(vis["estimated"], 1)
        self.assertGreaterEqual(reports["shadow"]["totals"]["findings"], 2)
        fleet = reports["coverage"]["fleet"]
        self.assertEqual(fleet["agents_stale"], 1)
        self.assertEqual(by_metric["agents-stale"]["text"].strip(), "1")
        # The hostile owner is text (legend, tables), never an element.
        self.assertNotIn("script", parser.tags)
        self.assertIn(HOSTILE_OWNER, "".join(parser.text))
        self.assertIn("not an invoice", dom)
        # Nothing refers outside the page.
        for tag, key, value in parser.links:
            self.assertFalse(value.lower().startswith(("http:", "https:", "//", "javascript:")),
                             "%s %s=%s" % (tag, key, value))
        for bad in ("link", "img", "iframe", "object", "embed", "script"):
            self.assertNotIn(bad, parser.tags)

    def test_owner_filter(self):
        _, parser = self.rendered(owner="team-b")
        reports = self.reports(owner="team-b")
        by_metric = self.check_figures(parser, reports)
        want = sum(1 for a, _ in self.calls if a.get("shadowmeter.owner") == "team-b"
                   and a["shadowmeter.visibility"] != "connection_only")
        self.assertEqual(reports["showback_by_owner_day"]["totals"]["calls"], want)
        self.assertEqual(by_metric["total-calls"]["value"], str(want))

    def test_screenshot(self):
        shot = os.path.join(self.workdir, "dashboard.png")
        self.chromium("--screenshot=" + shot, "--window-size=1280,2400", url=self.page_url())
        width, height, colours = png_size_and_colours(shot)
        self.assertEqual((width, height), (1280, 2400))
        self.assertGreater(colours, 20, "the screenshot looks blank")
        shutil.copyfile(shot, SCREENSHOT_COPY)
        print("dashboard screenshot: %s (copied to %s)" % (shot, SCREENSHOT_COPY), file=sys.stderr)

    def narrow_layout(self, page, name):
        """(document width, viewport width) of `page` laid out 390 px wide. Headless Chromium keeps its
        window at least 500 px wide, so the page is shown in a 390 px iframe; a measuring script added to
        the copy (the page itself has none and its CSP forbids one) posts the widths to the frame's parent,
        which writes them into the DOM for --dump-dom."""
        start = page.index('<meta http-equiv="Content-Security-Policy"')
        page = page[:start] + page[page.index("/>", start) + 2:]
        probe = ("<script>addEventListener('load',function(){var d=document.documentElement;"
                 "parent.postMessage({scroll:Math.max(d.scrollWidth,document.body.scrollWidth),"
                 "client:d.clientWidth},'*');});</script>")
        with open(os.path.join(self.workdir, name + ".html"), "w") as f:
            f.write(page.replace("</body>", probe + "</body>"))
        frame = os.path.join(self.workdir, name + "-frame.html")
        with open(frame, "w") as f:
            f.write("<!DOCTYPE html><html><body style=\"margin:0\"><script>addEventListener('message',"
                    "function(e){document.body.setAttribute('data-scroll-width',e.data.scroll);"
                    "document.body.setAttribute('data-client-width',e.data.client);});</script>"
                    "<iframe src=\"%s.html\" style=\"border:0;width:390px;height:1600px\"></iframe>"
                    "</body></html>" % name)
        dom = self.chromium("--dump-dom", "--window-size=800,1600", "--virtual-time-budget=5000",
                            url="file://" + frame).stdout
        attrs = {}

        class Body(html.parser.HTMLParser):
            def handle_starttag(self, tag, a):
                if tag == "body":
                    attrs.update(dict(a))
        Body().feed(dom)
        self.assertIn("data-scroll-width", attrs, "the measuring script did not report")
        return int(attrs["data-scroll-width"]), int(attrs["data-client-width"]), frame

    def test_narrow_screen_has_no_horizontal_overflow(self):
        status, _, body = self.collector.request("GET", "/?" + urllib.parse.urlencode(self.range))
        self.assertEqual(status, 200)
        page = body.decode()
        scroll, client, frame = self.narrow_layout(page, "narrow")
        print("390 px wide: document %d px, viewport %d px" % (scroll, client), file=sys.stderr)
        self.assertEqual(client, 390)
        self.assertLessEqual(scroll, client, "the page overflows horizontally at 390 px")
        # The measurement can fail: the same page with one over-wide element overflows.
        wide, _, _ = self.narrow_layout(page.replace("</main>", '<div style="width:700px">x</div></main>'),
                                        "overflowing")
        self.assertGreaterEqual(wide, 700)
        shot = os.path.join(self.workdir, "dashboard-narrow.png")
        self.chromium("--screenshot=" + shot, "--window-size=500,1600", url="file://" + frame)
        shutil.copyfile(shot, "/tmp/shadowmeter-dashboard-narrow.png")
        print("narrow screenshot: %s (copied to /tmp/shadowmeter-dashboard-narrow.png)" % shot, file=sys.stderr)

    def test_page_headers_and_csp(self):
        status, headers, body = self.collector.request("GET", "/?" + urllib.parse.urlencode(self.range))
        self.assertEqual(status, 200)
        self.assertTrue(headers.get("Content-Type", "").startswith("text/html"))
        page = body.decode()
        self.assertIn('<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;;', page)
        self.assertTrue(headers.get("Content-Security-Policy", "").startswith("default-src 'none';"), headers)
        self.assertEqual(headers.get("X-Content-Type-Options"), "nosniff")
        self.assertNotIn("<script", page)

    def test_prometheus_usage_metrics(self):
        # The same seeded calls, counted per owner / provider / model in the collector's /metrics.
        status, _, body = self.collector.request("GET", "/metrics")
        self.assertEqual(status, 200)
        series = {}
        for line in body.decode().splitlines():
            if line.startswith(("shadowmeter_collector_ai_", "shadowmeter_collector_blind_")):
                name_labels, value = line.rsplit(" ", 1)
                series[name_labels] = float(value)

        def total(prefix):
            return sum(v for k, v in series.items() if k.startswith(prefix + "{"))
        blind = sum(1 for a, _ in self.calls if a["shadowmeter.visibility"] == "connection_only")
        self.assertEqual(total("shadowmeter_collector_ai_calls_total"), len(self.calls) - blind)
        self.assertAlmostEqual(total("shadowmeter_collector_ai_cost_usd_total"),
                               sum(a.get("shadowmeter.cost.usd", 0) for a, _ in self.calls), places=9)
        hostile = 'shadowmeter_collector_ai_calls_total{model="gpt-4o",owner="%s",provider="openai",shadow="false"}'
        self.assertEqual(series.get(hostile % HOSTILE_OWNER), 3)
        self.assertEqual(series.get('shadowmeter_collector_ai_calls_total{model="gpt-4o-mini",owner="unallocated",'
                                    'provider="openai",shadow="false"}'), 1)
        self.assertEqual(series.get('shadowmeter_collector_blind_connections_total{provider="openai",'
                                    'tls_library="go"}'), blind)
        self.assertEqual(series.get('shadowmeter_collector_ai_tokens_total{model="claude-sonnet-4",owner="team-b",'
                                    'provider="anthropic",type="input"}'), 3000)

    def test_unauthenticated_load_is_refused(self):
        status, headers, _ = self.collector.request("GET", "/", token=False)
        self.assertEqual(status, 401)
        self.assertIn("basic", headers.get("WWW-Authenticate", "").lower())
        status, _, _ = self.collector.request("GET", "/", token="wrong-token")
        self.assertEqual(status, 401)
        # In the browser too: no credentials, no dashboard.
        dom = self.chromium("--dump-dom", url=self.page_url(credentials=False)).stdout
        self.assertNotIn("data-metric", dom)


if __name__ == "__main__":
    unittest.main()
