#!/bin/sh
# TwisterLab from development to production: 1.1.0 on SQLite, moved to
# PostgreSQL with `ferry db transfer`, upgraded to the multi-tenant 2.0.0 with
# maintenance mode, batched backfills and a watch window, then a watch that
# sees the service in trouble and rolls the upgrade back.
#
# It runs in a scratch copy of this folder and a database it creates and
# drops on the PostgreSQL server at $PG (default: this machine's), with the
# bundled service.py on a free port. FERRY=/path/to/ferry picks the binary.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
ferry=${FERRY:-$here/../../target/debug/ferry}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
work=$(mktemp -d "${TMPDIR:-/tmp}/twisterlab.XXXXXX")
cp -R "$here/." "$work"
rm -rf "$work"/twisterlab.db* "$work/.ferry" "$work/try.sh" "$work/maintenance.flag" "$work/metrics.json"
cd "$work"
db=twisterlab_try_$$
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 service.py --port "$port" --dir . &
service=$!
cleanup() {
    kill "$service" 2>/dev/null || true
    psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" 2>/dev/null || true
}
trap cleanup EXIT
export TWISTERLAB_URL="http://127.0.0.1:$port"
# A short watch for the walkthrough: 4 rounds, a second apart.
sed -i -e 's/^duration = "10m"/duration = "3s"/' -e 's/^interval = "30s"/interval = "1s"/' ferry.toml

run() {
    printf '\n$ ferry %s\n' "$*"
    "$ferry" "$@"
}

echo "# Development: TwisterLab 1.1.0 on SQLite ($work/twisterlab.db), with some agents and tasks"
run db migrate --to 2
run adopt 1.1.0
"$ferry" db status > /dev/null
python3 - <<'PY'
import sqlite3
c = sqlite3.connect("twisterlab.db")
c.executemany("INSERT INTO agents (name, kind) VALUES (?, ?)", [("alpha", "worker"), ("beta", "planner"), ("gamma", "worker")])
c.executemany("INSERT INTO tasks (agent_id, ok, latency_ms, payload) VALUES (?, ?, ?, ?)",
              [(1 + i % 3, i % 50 != 0, 100 + i % 300, b"\xca\xfe") for i in range(2000)])
c.commit()
PY
echo
echo "# Production: an empty PostgreSQL database; the data moves there, its schema from migrations/postgres"
psql -q "$PG/postgres" -c "CREATE DATABASE $db"
run db transfer --to "$PG/$db"
export DATABASE_URL="$PG/$db"
echo
echo "# From now on ferry works on PostgreSQL (DATABASE_URL). What does 2.0.0 take?"
run plan
echo
echo "# The upgrade: maintenance mode, a verified backup, the tenant backfill in batches, checks, the watch"
run upgrade --yes
run status
echo
echo "# Then the service has trouble: 9% of requests fail. A watch after the upgrade rolls it back."
echo '{"error_rate": 0.09, "p95_ms": 240}' > metrics.json
run watch --duration 2s --rollback-on-fail || true
run status || true
echo
echo "# Done. The scratch folder stays: $work"
