"""docs/configuration.md documents every setting the agent and the collector accept: each entry of
the settings tables in agent/config/config.cpp and collectors/config/collector_config.cpp (YAML key
and flag), every key of the two example files, and the owner/policy rule fields the policy parser
knows. The README has a section for each way to install."""
import os
import re
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pkgtest import SOURCE_DIR, Checks  # noqa: E402

c = Checks()


def read(*parts):
    with open(os.path.join(SOURCE_DIR, *parts)) as f:
        return f.read()


doc = read("docs", "configuration.md")
code_spans = set(re.findall(r"`([^`\n]+)`", doc))


def documented(name):
    return name in code_spans or any(span.startswith(name + ":") or span.startswith(name + " ") or span.startswith(name + "=")
                                     for span in code_spans)


for source, what in ((("agent", "config", "config.cpp"), "agent"), (("collectors", "config", "collector_config.cpp"), "collector")):
    table = re.search(r"constexpr Setting kSettings\[\] = \{(.*?)\n\};", read(*source), re.S)
    if not c.check(table, "%s: settings table found" % what):
        continue
    rows = re.findall(r'\{Key::\w+,\s*"([^"]*)",\s*"([^"]+)",\s*(nullptr|"[^"]*")', table.group(1))
    c.check(len(rows) > 15, "%s: %d settings read from the table" % (what, len(rows)))
    for section, name, flag in rows:
        key = section + "." + name if section else name
        c.check(documented(key), "docs/configuration.md lacks the %s setting `%s`" % (what, key))
        if flag != "nullptr":
            c.check(documented("--" + flag.strip('"')), "docs/configuration.md lacks the %s flag `--%s`" % (what, flag.strip('"')))


def leaf_keys(node, prefix=""):
    if isinstance(node, dict):
        for k, v in node.items():
            path = prefix + str(k)
            if isinstance(v, dict) and v:
                yield from leaf_keys(v, path + ".")
            else:
                yield path


for example in (("agent", "config", "agent.example.yaml"), ("collectors", "config", "collector.example.yaml")):
    for key in leaf_keys(yaml.safe_load(read(*example))):
        c.check(documented(key), "docs/configuration.md lacks `%s` of %s" % (key, example[-1]))

# Fields of owner rules and sanctioned-policy rules (agent/policy/).
policy_src = read("agent", "policy", "policy_yaml.cpp") if os.path.exists(os.path.join(SOURCE_DIR, "agent", "policy", "policy_yaml.cpp")) else ""
fields = set(re.findall(r'k == "([a-z_]+)"', policy_src))
for field in sorted(fields):
    c.check(documented(field) or any(span.endswith("." + field) or ("." + field + ".") in span for span in code_spans),
            "docs/configuration.md lacks the policy/owner field `%s`" % field)

readme = read("README.md")
for heading in ("Debian package", "Container images", "Kubernetes", "From source"):
    c.check(re.search(r"^#+ .*%s" % heading, readme, re.M), "README.md has an install section for %s" % heading)
security = read("docs", "security.md")
for cap in ("CAP_BPF", "CAP_PERFMON", "CAP_SYS_PTRACE", "CAP_DAC_READ_SEARCH", "CAP_SYS_RESOURCE"):
    c.check(cap in security, "docs/security.md explains %s" % cap)
c.finish("test_docs")
