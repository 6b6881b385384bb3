// AgentMetrics: family names, help texts, labels and exact values in the text exposition format.
#include <catch2/catch.hpp>
#include <string>

#include "metrics/agent_metrics.h"

using shadowmeter::metrics::AgentMetrics;

namespace {

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.rfind(line + "\n", 0) == 0;
}

}  // namespace

TEST_CASE("a fresh registry exposes every family at zero") {
  AgentMetrics m;
  const std::string text = m.serialize();
  for (const char* line : {
           "# TYPE shadowmeter_events_total counter",
           "shadowmeter_events_total{outcome=\"ok\"} 0",
           "shadowmeter_events_total{outcome=\"error\"} 0",
           "# TYPE shadowmeter_capture_bytes_total counter",
           "shadowmeter_capture_bytes_total{direction=\"egress\"} 0",
           "shadowmeter_capture_bytes_total{direction=\"ingress\"} 0",
           "shadowmeter_ringbuf_drops_total 0",
           "shadowmeter_capture_gaps_total 0",
           "shadowmeter_parse_errors_total{reason=\"malformed\"} 0",
           "shadowmeter_parse_errors_total{reason=\"truncated\"} 0",
           "shadowmeter_parse_errors_total{reason=\"gap\"} 0",
           "shadowmeter_parse_errors_total{reason=\"decode_error\"} 0",
           "shadowmeter_parse_errors_total{reason=\"decode_limit\"} 0",
           "shadowmeter_parse_errors_total{reason=\"body_limit\"} 0",
           "shadowmeter_parse_errors_total{reason=\"json\"} 0",
           "shadowmeter_connections_classified_total{class=\"ai\"} 0",
           "shadowmeter_connections_classified_total{class=\"not_ai\"} 0",
           "shadowmeter_connections_classified_total{class=\"server\"} 0",
           "shadowmeter_connections_classified_total{class=\"http2\"} 0",
           "shadowmeter_connections_classified_total{class=\"not_http\"} 0",
           "shadowmeter_capture_uncopied_bytes_total{reason=\"read_fault\"} 0",
           "shadowmeter_capture_uncopied_bytes_total{reason=\"oversize_call\"} 0",
           "# TYPE shadowmeter_attached_files gauge",
           "shadowmeter_attached_files 0",
           "# TYPE shadowmeter_connections_tracked gauge",
           "shadowmeter_connections_tracked 0",
           "shadowmeter_attach_failures_total 0",
           "# TYPE shadowmeter_buffer_bytes gauge",
           "shadowmeter_buffer_bytes 0",
           "shadowmeter_buffer_evictions_total 0",
       }) {
    INFO(line);
    CHECK(has_line(text, line));
  }
  CHECK(has_line(text, "# HELP shadowmeter_buffer_bytes Bytes held in per-connection buffers right now"));
}

TEST_CASE("serialization shows exact values after updates") {
  AgentMetrics m;
  m.events_ok.Increment();
  m.events_ok.Increment(2);
  m.events_error.Increment();
  m.bytes_egress.Increment(1500);
  m.bytes_ingress.Increment(123456789);
  m.ringbuf_drops.Increment(7);
  m.capture_gaps.Increment(4);
  m.parse_error("truncated").Increment();
  m.parse_error("truncated").Increment();
  m.parse_error("new_reason").Increment(5);
  m.classified("ai").Increment(3);
  m.classified("not_ai").Increment(10);
  m.attached_files.Set(12);
  m.connections_tracked.Set(3);
  m.connections_tracked.Decrement();
  m.attach_failures.Increment(2);
  m.buffer_bytes.Set(65536);
  m.buffer_evictions.Increment();

  const std::string text = m.serialize();
  for (const char* line : {
           "shadowmeter_events_total{outcome=\"ok\"} 3",
           "shadowmeter_events_total{outcome=\"error\"} 1",
           "shadowmeter_capture_bytes_total{direction=\"egress\"} 1500",
           "shadowmeter_capture_bytes_total{direction=\"ingress\"} 123456789",
           "shadowmeter_ringbuf_drops_total 7",
           "shadowmeter_capture_gaps_total 4",
           "shadowmeter_parse_errors_total{reason=\"truncated\"} 2",
           "shadowmeter_parse_errors_total{reason=\"new_reason\"} 5",
           "shadowmeter_parse_errors_total{reason=\"json\"} 0",
           "shadowmeter_connections_classified_total{class=\"ai\"} 3",
           "shadowmeter_connections_classified_total{class=\"not_ai\"} 10",
           "shadowmeter_attached_files 12",
           "shadowmeter_connections_tracked 2",
           "shadowmeter_attach_failures_total 2",
           "shadowmeter_buffer_bytes 65536",
           "shadowmeter_buffer_evictions_total 1",
       }) {
    INFO(line);
    CHECK(has_line(text, line));
  }
}

TEST_CASE("labelled accessors return the same child for the same label") {
  AgentMetrics m;
  CHECK(&m.parse_error("gap") == &m.parse_error("gap"));
  CHECK(&m.parse_error("gap") != &m.parse_error("json"));
  CHECK(&m.classified("ai") == &m.classified("ai"));
  m.parse_error("gap").Increment();
  CHECK(m.parse_error("gap").Value() == 1.0);
}

TEST_CASE("the registry is shared, so other code can add families to the same exposition") {
  AgentMetrics m;
  auto& extra =
      prometheus::BuildGauge().Name("shadowmeter_test_extra").Help("test").Register(m.registry()).Add({});
  extra.Set(42);
  CHECK(m.registry_ptr().get() == &m.registry());
  CHECK(has_line(m.serialize(), "shadowmeter_test_extra 42"));
}
