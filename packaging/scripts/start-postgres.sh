#!/usr/bin/env bash
# Starts the Debian PostgreSQL cluster for the collector's tests and lets root connect over the local
# socket (peer authentication) as a superuser, so the tests can create and drop their own databases.
# Idempotent; prints why and exits 1 when PostgreSQL is not installed.
set -euo pipefail
if ! command -v pg_lsclusters >/dev/null; then
  echo "start-postgres.sh: PostgreSQL is not installed (apt-get install postgresql)" >&2
  exit 1
fi
read -r ver cluster _ status _ < <(pg_lsclusters -h | head -n 1) || {
  echo "start-postgres.sh: no PostgreSQL cluster (pg_createcluster)" >&2
  exit 1
}
if [ "$status" != "online" ]; then
  pg_ctlcluster "$ver" "$cluster" start
fi
for _ in $(seq 1 50); do
  if su postgres -c "psql -Atqc 'select 1'" >/dev/null 2>&1; then break; fi
  sleep 0.2
done
if ! su postgres -c "psql -Atqc \"select 1 from pg_roles where rolname='root'\"" | grep -q 1; then
  su postgres -c "createuser --superuser root"
fi
echo "start-postgres.sh: PostgreSQL $ver/$cluster online; role root ready"
