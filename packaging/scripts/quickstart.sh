#!/usr/bin/env bash
# The main job on one machine: the collector with its embedded SQLite store on loopback, and the agent
# exporting to it (and printing each event on stdout). Ctrl-C stops both; events not yet acknowledged
# stay in the agent's spool for the next run.
#   BUILD_DIR  build directory (default: build)
#   STATE_DIR  database, spool, token (default: /var/lib/shadowmeter)
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-build}
STATE_DIR=${STATE_DIR:-/var/lib/shadowmeter}
COLLECTOR_LISTEN=${COLLECTOR_LISTEN:-127.0.0.1:4318}

install -d -m 0700 "$STATE_DIR"
token_file="$STATE_DIR/collector.token"
if [ ! -s "$token_file" ]; then
  (umask 077 && openssl rand -hex 32 >"$token_file")
fi

"$BUILD_DIR/collectors/shadowmeter-collector" --listen "$COLLECTOR_LISTEN" \
  --db "sqlite:$STATE_DIR/collector.db" --auth-token-file "$token_file" &
collector=$!
trap 'kill -TERM "$collector" 2>/dev/null; wait "$collector" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  if curl -fsS "http://$COLLECTOR_LISTEN/readyz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$collector" 2>/dev/null; then echo "quickstart.sh: the collector did not start" >&2; exit 1; fi
  sleep 0.1
done
echo "quickstart.sh: collector on http://$COLLECTOR_LISTEN (query API: curl -H \"Authorization: Bearer \$(cat $token_file)\" http://$COLLECTOR_LISTEN/api/v1/calls)" >&2

"$BUILD_DIR/agent/shadowmeter-agent" --stdout --listen 127.0.0.1:9464 \
  --collector "http://$COLLECTOR_LISTEN/v1/traces" --collector-token-file "$token_file" \
  --spool-dir "$STATE_DIR/spool" "$@"
