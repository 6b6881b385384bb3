#!/bin/sh
# Validates the example alert rules with Prometheus' own tool: syntax (promtool check rules) and
# behaviour (promtool test rules: each alert fires and stays silent on given series). Exit 77 (skip)
# when promtool is not installed (Debian: apt-get install prometheus).
set -eu
cd "$(dirname "$0")"
if ! command -v promtool >/dev/null 2>&1; then
  echo "SKIP: promtool not installed (apt-get install --no-install-recommends prometheus)"
  exit 77
fi
promtool check rules shadowmeter-alerts.yaml
promtool test rules shadowmeter-alerts.test.yaml shadowmeter-alerts-7d.test.yaml
