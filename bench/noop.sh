#!/usr/bin/env bash
# Nothing pending: `ferry db migrate` against `dbmate migrate` with N
# migrations (default 10,000) already applied, on SQLite and PostgreSQL.
# Each tool's database is migrated once, before any timing, into a fresh,
# uniquely named database dropped at the end; then PAIRS interleaved pairs
# (the order alternating) of a run with nothing to do. Both read every
# migration file; ferry also checks each applied migration's checksum and
# takes its lock.
#
#   bench/noop.sh                          # N=10000, PAIRS=11
#   N=1000 PAIRS=5 bench/noop.sh
#   FERRY=/path/to/ferry DBMATE=/path/to/dbmate bench/noop.sh
#
# dbmate: `npm install -g dbmate` (the Go binary it ships is called directly;
# the `dbmate` command is a slow Node wrapper).
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-10000}
PAIRS=${PAIRS:-11}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
WORK=$PWD/bench/work/noop-$$
DBMATE=${DBMATE:-$(npm root -g 2>/dev/null)/dbmate/node_modules/@dbmate/linux-x64/bin/dbmate}
[ -x "$DBMATE" ] || { echo "dbmate not found (npm install -g dbmate, or DBMATE=path)" >&2; exit 1; }
if [ -z "${FERRY:-}" ]; then
    cargo build -q --release -p ferry-cli
    FERRY=$PWD/target/release/ferry
fi
. bench/lib.sh
DBS=()
cleanup() {
    for db in "${DBS[@]}"; do psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/ferry/migrations" "$WORK/dbmate"
for i in $(seq 1 "$N"); do
    v=$(printf '%05d' "$i")
    up="CREATE TABLE t$i (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL);"
    printf '%s\n' "$up" > "$WORK/ferry/migrations/${v}_t$i.up.sql"
    printf 'DROP TABLE t%d;\n' "$i" > "$WORK/ferry/migrations/${v}_t$i.down.sql"
    printf -- '-- migrate:up\n%s\n-- migrate:down\nDROP TABLE t%d;\n' "$up" "$i" > "$WORK/dbmate/${v}_t$i.sql"
done
: > "$WORK/ferry/ferry.toml"
pf=ferry_bench_noop_$$_f; pd=ferry_bench_noop_$$_d
for db in $pf $pd; do DBS+=("$db"); psql -q "$PG/postgres" -c "CREATE DATABASE $db"; done
echo "applying $N migrations with each tool (not timed)..." >&2
ferry_sqlite() { "$FERRY" --project "$WORK/ferry" --database-url "sqlite://$WORK/ferry.db" db migrate; }
ferry_pg() { "$FERRY" --project "$WORK/ferry" --database-url "$PG/$pf" db migrate; }
dbmate_sqlite() { "$DBMATE" --url "sqlite:$WORK/dbmate.db" --migrations-dir "$WORK/dbmate" --no-dump-schema migrate; }
dbmate_pg() { "$DBMATE" --url "$PG/$pd?sslmode=disable" --migrations-dir "$WORK/dbmate" --no-dump-schema migrate; }
for f in ferry_sqlite ferry_pg dbmate_sqlite dbmate_pg; do $f > /dev/null; done
for pair in $(seq 1 "$PAIRS"); do
    echo "pair $pair/$PAIRS" >&2
    for engine in sqlite pg; do
        if [ $((pair % 2)) -eq 1 ]; then
            timed "$engine.ferry" "ferry_$engine"; timed "$engine.dbmate" "dbmate_$engine"
        else
            timed "$engine.dbmate" "dbmate_$engine"; timed "$engine.ferry" "ferry_$engine"
        fi
    done
done
printf '\nN=%s applied, nothing pending, %s pairs, ms (median, then every run)\n\n' "$N" "$PAIRS"
table
echo
pairs "nothing pending, SQLite, ferry / dbmate" sqlite.ferry sqlite.dbmate 0.5
pairs "nothing pending, PostgreSQL, ferry / dbmate" pg.ferry pg.dbmate 0.5
