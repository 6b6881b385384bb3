"""packaging/grafana/shadowmeter.json: valid dashboard JSON whose every query names metrics the agent
or the collector really exports (string literals in their sources), with unique panel ids and the
datasource taken from the dashboard variable."""
import glob
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pkgtest import SOURCE_DIR, Checks  # noqa: E402

c = Checks()
with open(os.path.join(SOURCE_DIR, "packaging", "grafana", "shadowmeter.json")) as f:
    dash = json.load(f)

# Metric names the code registers: quoted "shadowmeter_..." literals in agent/ and collectors/.
exported = set()
for path in glob.glob(os.path.join(SOURCE_DIR, "agent", "**", "*.[ch]*"), recursive=True) + \
        glob.glob(os.path.join(SOURCE_DIR, "collectors", "**", "*.[ch]*"), recursive=True):
    with open(path, errors="replace") as f:
        exported.update(re.findall(r'"(shadowmeter_[a-z0-9_]+)"', f.read()))
c.check(len(exported) > 20, "found the metric names in the sources (%d)" % len(exported))


def panels(items):
    for p in items:
        yield p
        yield from panels(p.get("panels", []))


variables = {v["name"] for v in dash.get("templating", {}).get("list", [])}
c.check({"datasource", "owner", "provider", "instance"} <= variables, "dashboard variables: %s" % sorted(variables))
ids = []
queried = set()
for p in panels(dash.get("panels", [])):
    ids.append(p.get("id"))
    c.check("gridPos" in p, "panel %r has a gridPos" % p.get("title"))
    if p.get("type") == "row":
        continue
    c.check(p.get("datasource", {}).get("uid") == "${datasource}", "panel %r uses the datasource variable" % p.get("title"))
    c.check(p.get("targets"), "panel %r has queries" % p.get("title"))
    for t in p.get("targets", []):
        expr = t.get("expr", "")
        for name in re.findall(r"\b(shadowmeter_[a-z0-9_]+)", expr):
            queried.add(name)
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            c.check(name in exported or base in exported,
                    "panel %r queries %s, which neither agent nor collector exports" % (p.get("title"), name))
        for var in re.findall(r"\$(\w+)", expr):
            c.check(var.startswith("__") or var in variables, "panel %r uses undefined variable $%s" % (p.get("title"), var))
c.check(len(ids) == len(set(ids)), "panel ids are unique")
for v in dash["templating"]["list"]:
    q = v.get("query")
    if isinstance(q, dict):
        for name in re.findall(r"\b(shadowmeter_[a-z0-9_]+)", q.get("query", "")):
            c.check(name in exported, "variable %s queries %s, which is not exported" % (v["name"], name))
# The dashboard covers both sides: agent capture health and collector ingest.
for must in ("shadowmeter_ringbuf_drops_total", "shadowmeter_spool_dropped_events_total",
             "shadowmeter_collector_rejected_requests_total", "shadowmeter_collector_ai_cost_usd_total"):
    c.check(must in queried, "the dashboard shows %s" % must)
print("queried metrics: %s" % " ".join(sorted(queried)))
c.finish("test_grafana")
