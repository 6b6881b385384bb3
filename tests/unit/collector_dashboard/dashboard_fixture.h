// Report JSON in the shapes of collectors/reports/report.h, for the dashboard's tests.
#pragma once

#include <nlohmann/json.hpp>

namespace shadowmeter::testing {

inline nlohmann::json showback_by_owner_day_fixture() {
  return nlohmann::json::parse(R"({
    "report": "showback", "from": "2026-11-20T00:00:00Z", "to": "2026-11-23T12:00:00Z",
    "generated_at": "2026-11-23T12:00:01Z", "owner": "",
    "cost_note": "estimated list-price cost from the agents' price tables; not an invoice",
    "group_by": ["owner"], "granularity": "day", "currency": "USD",
    "totals": {"calls": 1234567, "input_tokens": 98765432, "output_tokens": 1234, "cache_read_tokens": 0,
               "cache_creation_tokens": 0, "reasoning_tokens": 0, "cost_usd": 12.345678, "priced_calls": 1234560,
               "unpriced_calls": 7, "cost_per_call_usd": 0.0000100000, "cost_per_1k_tokens_usd": 0.000125},
    "rows": [
      {"period": "2026-11-20", "owner": "team-a", "calls": 10, "input_tokens": 100, "output_tokens": 10,
       "cache_read_tokens": 0, "cache_creation_tokens": 0, "reasoning_tokens": 0, "cost_usd": 5.5,
       "priced_calls": 10, "unpriced_calls": 0, "cost_per_call_usd": 0.55, "cost_per_1k_tokens_usd": 50,
       "pricing_sources": ["litellm"]},
      {"period": "2026-11-20", "owner": "<script>alert(1)</script>", "calls": 3, "input_tokens": 30,
       "output_tokens": 3, "cache_read_tokens": 0, "cache_creation_tokens": 0, "reasoning_tokens": 0,
       "cost_usd": 1.25, "priced_calls": 3, "unpriced_calls": 0, "cost_per_call_usd": 0.41,
       "cost_per_1k_tokens_usd": 37, "pricing_sources": []},
      {"period": "2026-11-22", "owner": null, "calls": 2, "input_tokens": 20, "output_tokens": 2,
       "cache_read_tokens": 0, "cache_creation_tokens": 0, "reasoning_tokens": 0, "cost_usd": 0.004213,
       "priced_calls": 2, "unpriced_calls": 0, "cost_per_call_usd": 0.002, "cost_per_1k_tokens_usd": 0.19,
       "pricing_sources": []}
    ],
    "model_tiers": [], "top_movers": [], "rolled_up_calls": 0})");
}

inline nlohmann::json showback_by_model_fixture() {
  return nlohmann::json::parse(R"({
    "report": "showback", "from": "2026-11-20T00:00:00Z", "to": "2026-11-23T12:00:00Z",
    "generated_at": "2026-11-23T12:00:01Z", "owner": "", "cost_note": "estimated; not an invoice",
    "group_by": ["provider", "model"], "granularity": "total", "currency": "USD",
    "totals": {"calls": 15, "input_tokens": 150, "output_tokens": 15, "cache_read_tokens": 0,
               "cache_creation_tokens": 0, "reasoning_tokens": 0, "cost_usd": 6.754213, "priced_calls": 15,
               "unpriced_calls": 0, "cost_per_call_usd": 0.45, "cost_per_1k_tokens_usd": 40.9},
    "rows": [
      {"provider": "openai", "model": "gpt-4o", "calls": 10, "input_tokens": 100, "output_tokens": 10,
       "cost_usd": 5.5},
      {"provider": "anthropic", "model": "claude-<b>bold</b>", "calls": 5, "input_tokens": 50,
       "output_tokens": 5, "cost_usd": 1.254213}
    ],
    "model_tiers": [{"tier": "frontier", "calls": 10, "cost_usd": 5.5, "cost_share": 0.8143},
                    {"tier": "small", "calls": 5, "cost_usd": 1.254213, "cost_share": 0.1857}],
    "top_movers": [], "rolled_up_calls": 0})");
}

inline nlohmann::json shadow_fixture() {
  return nlohmann::json::parse(R"({
    "report": "shadow", "from": "2026-11-20T00:00:00Z", "to": "2026-11-23T12:00:00Z",
    "generated_at": "2026-11-23T12:00:01Z", "owner": "", "cost_note": "estimated; not an invoice",
    "since": "2026-11-16T12:00:00Z",
    "totals": {"findings": 2, "new_findings": 1, "calls": 7, "cost_usd": 0.75},
    "findings": [
      {"workload": "deployment/chatbot", "k8s.namespace.name": "apps", "process.executable.name": "python3",
       "gen_ai.provider.name": "openai", "server.address": "api.openai.com",
       "shadowmeter.api_key.fingerprint": "fp:abc", "reason": "direct call to a public provider",
       "first_seen": "2026-11-21T10:00:00Z", "last_seen": "2026-11-23T10:00:00Z", "nodes": ["node-1"],
       "calls": 5, "input_tokens": 50, "output_tokens": 5, "cost_usd": 0.5, "new": true},
      {"workload": null, "k8s.namespace.name": null, "process.executable.name": "curl\u0001",
       "gen_ai.provider.name": "anthropic", "server.address": "api.anthropic.com",
       "shadowmeter.api_key.fingerprint": null, "reason": "no policy", "first_seen": "2026-10-01T00:00:00Z",
       "last_seen": "2026-11-22T00:00:00Z", "nodes": ["node-1", "node-2"], "calls": 2, "input_tokens": 20,
       "output_tokens": 2, "cost_usd": 0.25, "new": false}
    ]})");
}

inline nlohmann::json coverage_fixture() {
  return nlohmann::json::parse(R"({
    "report": "coverage", "from": "2026-11-20T00:00:00Z", "to": "2026-11-23T12:00:00Z",
    "generated_at": "2026-11-23T12:00:01Z", "owner": "", "cost_note": "estimated; not an invoice",
    "allocation": {"total_cost_usd": 6.754213, "allocated_cost_usd": 6.75, "unallocated_cost_usd": 0.004213,
                   "allocated_share": 0.99937, "unowned_workloads": [
                     {"workload": "unit/batch.service", "k8s.namespace.name": null, "node": "node-2", "calls": 2,
                      "cost_usd": 0.004213}]},
    "visibility": {
      "overall": {"calls": 16, "exact": 12, "estimated": 3, "none": 1, "blind_connections": 3,
                  "exact_share": 0.75, "estimated_share": 0.1875, "none_share": 0.0625},
      "by_node": [{"node": "node-1", "calls": 16, "exact": 12, "estimated": 3, "none": 1, "blind_connections": 3,
                   "exact_share": 0.75, "estimated_share": 0.1875, "none_share": 0.0625}],
      "by_namespace": [], "by_executable": [],
      "blind_spots": [{"node": "node-1", "k8s.namespace.name": "apps", "process.executable.name": "goapp",
                       "shadowmeter.tls.library": "go", "server.address": "api.openai.com",
                       "reason": "tls library not instrumented", "connections": 3, "bytes_sent": 2048,
                       "bytes_received": 8192, "plaintext_calls_same_executable": 0}]},
    "pricing": {"calls": 16, "priced_calls": 15, "unpriced_calls": 1, "unpriced_share": 0.0625,
                "unpriced_models": [{"gen_ai.provider.name": "vllm", "model": "my-llama", "calls": 1}]},
    "fleet": {"agents": [
                {"node": "node-1", "agent_version": "0.1.0", "last_heartbeat": "2026-11-23T11:59:50Z",
                 "stale": false, "ringbuf_drops": 0, "uncopied_bytes": 0, "parse_errors": 0, "attach_failures": 0,
                 "spool_dropped_events": 0, "incomplete": false, "reasons": []},
                {"node": "node-2", "agent_version": "0.1.0", "last_heartbeat": null, "stale": true,
                 "ringbuf_drops": 17, "uncopied_bytes": 4096, "parse_errors": 1, "attach_failures": 0,
                 "spool_dropped_events": 3, "incomplete": true, "reasons": ["ringbuf drops", "spool drops"]}],
              "agents_reporting": 2, "agents_stale": 1, "incomplete_nodes": ["node-2"]}})");
}

}  // namespace shadowmeter::testing
