"""Synthetic usage events of a fleet, for the collector's scale benchmark and its exactness test.

Event n is a pure function of (n, total, seed): any batch can be built again (a redelivery carries the
same ids and times), in any process, without keeping the data set in memory. The cardinality is that
of a fleet and correlated the way a real one is: 1,000 workloads, each owned by one of 50 owners and
living in one namespace and environment, running on 3 of 500 nodes, calling 2 of 30 models (across
providers) with 1 of 200 keys; some workloads are shadow AI, some have a feature dimension; 3 % of the
events are connections seen only at connection level, and one local model has no price.

Sums(), fed the same events, keeps the brute-force totals the reports must equal.
"""
import collections
import gzip
import json

from collector_harness import otlp_span, otlp_traces

DAY = 86_400 * 1_000_000_000
START = 1_793_491_200 * 1_000_000_000  # 2026-11-01T00:00:00Z
DAYS = 30
WORKLOADS, OWNERS, NODES, KEYS = 1000, 50, 500, 200
FEATURES = ("search", "chat", "summarize", "classify", "agent")
ENVIRONMENTS = ("prod", "staging", "dev")
# (provider, model, input $/1M tokens, output $/1M tokens); price None = unpriced.
MODELS = [("openai", "gpt-4o-2024-08-06", 2.5, 10.0), ("openai", "gpt-4o-mini-2024-07-18", 0.15, 0.6),
          ("openai", "o3-mini", 1.1, 4.4), ("openai", "gpt-4.1", 2.0, 8.0), ("openai", "gpt-4.1-mini", 0.4, 1.6),
          ("openai", "o4-mini", 1.1, 4.4), ("openai", "text-embedding-3-small", 0.02, 0.0),
          ("anthropic", "claude-sonnet-4-5", 3.0, 15.0), ("anthropic", "claude-haiku-4-5", 1.0, 5.0),
          ("anthropic", "claude-opus-4-1", 15.0, 75.0), ("anthropic", "claude-3-5-haiku", 0.8, 4.0),
          ("gcp.gemini", "gemini-2.5-pro", 1.25, 10.0), ("gcp.gemini", "gemini-2.5-flash", 0.3, 2.5),
          ("gcp.gemini", "gemini-2.0-flash", 0.1, 0.4), ("aws.bedrock", "anthropic.claude-sonnet-4", 3.0, 15.0),
          ("aws.bedrock", "amazon.nova-pro", 0.8, 3.2), ("aws.bedrock", "amazon.nova-lite", 0.06, 0.24),
          ("aws.bedrock", "meta.llama3-70b", 0.99, 0.99), ("azure.openai", "gpt-4o", 2.5, 10.0),
          ("azure.openai", "gpt-4o-mini", 0.15, 0.6), ("mistral_ai", "mistral-large", 2.0, 6.0),
          ("mistral_ai", "mistral-small", 0.2, 0.6), ("groq", "llama-3.3-70b", 0.59, 0.79),
          ("deepseek", "deepseek-chat", 0.27, 1.1), ("deepseek", "deepseek-reasoner", 0.55, 2.19),
          ("cohere", "command-r-plus", 2.5, 10.0), ("cohere", "command-r", 0.15, 0.6),
          ("x_ai", "grok-3", 3.0, 15.0), ("x_ai", "grok-3-mini", 0.3, 0.5),
          ("ollama", "llama3.1:8b", None, None)]


def mix(x):
    """splitmix64: a well-spread 64-bit hash of x."""
    x = (x + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return x ^ (x >> 31)


class Workload:
    __slots__ = ("name", "owner", "namespace", "environment", "nodes", "models", "key", "shadow", "feature")

    def __init__(self, w):
        h = mix(w + 0x5EED)
        self.owner = "team-%02d" % (h % OWNERS)
        self.name = "svc-%04d" % w
        self.namespace = "%s-%s" % (self.owner, ("apps", "ml", "data")[(h >> 8) % 3])
        self.environment = ENVIRONMENTS[(h >> 12) % 3]
        self.nodes = ["node-%03d" % (((h >> 16) + i * 167) % NODES) for i in range(3)]
        self.models = [(h >> 24) % len(MODELS), (h >> 32) % len(MODELS)]
        self.key = "%032x" % mix(w % KEYS + 0xC0FFEE)
        self.shadow = w % 25 == 0  # 40 workloads call a public provider directly
        self.feature = FEATURES[(h >> 40) % len(FEATURES)] if (h >> 44) % 4 else None


FLEET = [Workload(w) for w in range(WORKLOADS)]


def event(n, total, seed=0):
    """(attributes, start_ns, host) of event n of `total` (ids differ by seed)."""
    h = mix(n * 0x100000001 + seed)
    w = FLEET[h % WORKLOADS]
    provider, model, price_in, price_out = MODELS[w.models[(h >> 10) % 2]]
    t = START + (n * DAYS * DAY) // max(total, 1) + (h >> 20) % 1_000_000_000
    host = w.nodes[(h >> 11) % 3]
    a = {"shadowmeter.event_id": "%016x%016x" % (seed & 0xFFFFFFFFFFFFFFFF, n),
         "gen_ai.provider.name": provider, "gen_ai.operation.name": "chat", "gen_ai.request.model": model,
         "server.address": "api.%s.example" % provider, "process.executable.name": "python3",
         "container.id": "%064x" % (mix(n % 4096) | 1), "k8s.namespace.name": w.namespace,
         "k8s.pod.name": "%s-7d9f-%d" % (w.name, (h >> 13) % 3), "k8s.deployment.name": w.name,
         "shadowmeter.owner": w.owner, "deployment.environment": w.environment,
         "shadowmeter.tls.library": "openssl", "shadowmeter.api_key.fingerprint": w.key,
         "shadowmeter.shadow": w.shadow}
    if w.shadow:
        a["shadowmeter.shadow.reason"] = "direct call to a public provider"
    if w.feature:
        a["shadowmeter.dimension.feature"] = w.feature
    r = (h >> 48) % 100
    if r < 3:  # a connection we could only see at connection level: no usage, no cost
        a.update({"shadowmeter.visibility": "connection_only", "shadowmeter.usage.source": "none",
                  "shadowmeter.tls.library": "rustls", "shadowmeter.visibility.reason": "unsupported_tls_library"})
        return a, t, host
    a["shadowmeter.visibility"] = "plaintext"
    a["shadowmeter.usage.source"] = "stream" if r < 18 else "estimated" if r < 21 else "none" if r < 22 else "response"
    a["shadowmeter.stream"] = r < 18
    if a["shadowmeter.usage.source"] == "none":
        return a, t, host
    inp = 200 + (h >> 4) % 4000
    out = 20 + (h >> 16) % 800
    a["gen_ai.usage.input_tokens"] = inp
    a["gen_ai.usage.output_tokens"] = out
    if (h >> 28) % 3 == 0:
        a["gen_ai.usage.cache_read.input_tokens"] = inp // 2
    if (h >> 30) % 7 == 0:
        a["gen_ai.usage.cache_write.input_tokens"] = inp // 4
    if model.startswith(("o3", "o4", "deepseek-reasoner")):
        a["gen_ai.usage.reasoning.output_tokens"] = out // 2
    if price_in is not None:
        a["shadowmeter.cost.usd"] = (inp * price_in + out * price_out) / 1e6
        a["shadowmeter.cost.pricing_source"] = "builtin:" + model
    return a, t, host


def batch_doc(first, count, total, seed=0):
    """One OTLP ExportTraceServiceRequest of events [first, first + count): one resource per node."""
    by_host = collections.defaultdict(list)
    for n in range(first, first + count):
        a, t, host = event(n, total, seed)
        by_host[host].append(otlp_span(a, "chat " + a["gen_ai.request.model"], t, t + 900_000))
    docs = [otlp_traces(spans, {"service.name": "shadowmeter-agent", "host.name": host})
            for host, spans in by_host.items()]
    return {"resourceSpans": [rs for d in docs for rs in d["resourceSpans"]]}


def batch_body(args):
    """gzip'd JSON of batch_doc(*args): for a process pool's imap."""
    return gzip.compress(json.dumps(batch_doc(*args), separators=(",", ":")).encode(), 4)


def batches(total, batch, seed=0):
    """Arguments of each batch_body of a data set of `total` events."""
    return [(i, min(batch, total - i), total, seed) for i in range(0, total, batch)]


class Sums:
    """Brute-force report totals over raw events: what showback, coverage and shadow must answer."""

    METRICS = ("calls", "input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens",
               "reasoning_tokens", "cost_usd", "priced_calls")
    TOKENS = {"input_tokens": "gen_ai.usage.input_tokens", "output_tokens": "gen_ai.usage.output_tokens",
              "cache_read_tokens": "gen_ai.usage.cache_read.input_tokens",
              "cache_creation_tokens": "gen_ai.usage.cache_write.input_tokens",
              "reasoning_tokens": "gen_ai.usage.reasoning.output_tokens"}

    def __init__(self):
        zero = lambda: dict.fromkeys(self.METRICS, 0)  # noqa: E731
        self.total = zero()
        self.by_owner = collections.defaultdict(zero)
        self.by_model = collections.defaultdict(zero)  # (provider, model)
        self.by_feature = collections.defaultdict(zero)  # feature or None
        self.coverage = collections.Counter()  # exact / estimated / none / connection_only
        self.shadow = {"calls": 0, "cost_usd": 0.0}

    def add(self, a):
        if a["shadowmeter.shadow"]:  # the shadow report counts blind connections to a provider too
            self.shadow["calls"] += 1
            self.shadow["cost_usd"] += a.get("shadowmeter.cost.usd", 0.0)
        if a["shadowmeter.visibility"] == "connection_only":
            self.coverage["connection_only"] += 1
            return
        src = a["shadowmeter.usage.source"]
        self.coverage["exact" if src in ("response", "stream", "header") else src] += 1
        cost = a.get("shadowmeter.cost.usd")
        for m in (self.total, self.by_owner[a["shadowmeter.owner"]],
                  self.by_model[(a["gen_ai.provider.name"], a["gen_ai.request.model"])],
                  self.by_feature[a.get("shadowmeter.dimension.feature")]):
            m["calls"] += 1
            for k, attr in self.TOKENS.items():
                m[k] += a.get(attr, 0)
            if cost is not None:
                m["cost_usd"] += cost
                m["priced_calls"] += 1


def sums(total, seed=0):
    s = Sums()
    for n in range(total):
        s.add(event(n, total, seed)[0])
    return s
