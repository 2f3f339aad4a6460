#!/usr/bin/env bash
# Nothing pending: `ferry db migrate` against `dbmate migrate` (and
# `diesel migration run`, when installed) with N migrations (default
# 10,000) already applied, on SQLite and PostgreSQL. Each peer's runs are
# paired with ferry runs of their own.
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
# diesel, when installed (cargo install diesel_cli --no-default-features
# --features "postgres sqlite-bundled"; or DIESEL=path): a third column.
DIESEL=${DIESEL:-$(command -v diesel || true)}
[ -n "$DIESEL" ] && [ -x "$DIESEL" ] || { echo "diesel not found; leaving it out" >&2; DIESEL=; }
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
mkdir -p "$WORK/ferry/migrations" "$WORK/dbmate" "$WORK/diesel"
for i in $(seq 1 "$N"); do
    v=$(printf '%05d' "$i")
    up="CREATE TABLE t$i (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL);"
    printf '%s\n' "$up" > "$WORK/ferry/migrations/${v}_t$i.up.sql"
    printf 'DROP TABLE t%d;\n' "$i" > "$WORK/ferry/migrations/${v}_t$i.down.sql"
    printf -- '-- migrate:up\n%s\n-- migrate:down\nDROP TABLE t%d;\n' "$up" "$i" > "$WORK/dbmate/${v}_t$i.sql"
    if [ -n "$DIESEL" ]; then
        mkdir "$WORK/diesel/${v}_t$i"
        printf '%s\n' "$up" > "$WORK/diesel/${v}_t$i/up.sql"
        printf 'DROP TABLE t%d;\n' "$i" > "$WORK/diesel/${v}_t$i/down.sql"
    fi
done
: > "$WORK/ferry/ferry.toml"
pf=ferry_bench_noop_$$_f; pd=ferry_bench_noop_$$_d; pz=ferry_bench_noop_$$_z
for db in $pf $pd $pz; do DBS+=("$db"); psql -q "$PG/postgres" -c "CREATE DATABASE $db"; done
echo "applying $N migrations with each tool (not timed)..." >&2
ferry_sqlite() { "$FERRY" --project "$WORK/ferry" --database-url "sqlite://$WORK/ferry.db" db migrate; }
ferry_pg() { "$FERRY" --project "$WORK/ferry" --database-url "$PG/$pf" db migrate; }
dbmate_sqlite() { "$DBMATE" --url "sqlite:$WORK/dbmate.db" --migrations-dir "$WORK/dbmate" --no-dump-schema migrate; }
dbmate_pg() { "$DBMATE" --url "$PG/$pd?sslmode=disable" --migrations-dir "$WORK/dbmate" --no-dump-schema migrate; }
diesel_sqlite() { "$DIESEL" migration run --database-url "$WORK/diesel.db" --migration-dir "$WORK/diesel"; }
diesel_pg() { "$DIESEL" migration run --database-url "$PG/$pz" --migration-dir "$WORK/diesel"; }
peers="dbmate${DIESEL:+ diesel}"
for f in ferry_sqlite ferry_pg dbmate_sqlite dbmate_pg ${DIESEL:+diesel_sqlite diesel_pg}; do $f > /dev/null; done
for pair in $(seq 1 "$PAIRS"); do
    echo "pair $pair/$PAIRS" >&2
    for engine in sqlite pg; do
        for peer in $peers; do
            if [ $((pair % 2)) -eq 1 ]; then
                timed "$engine.ferry.$peer" "ferry_$engine"; timed "$engine.$peer" "${peer}_$engine"
            else
                timed "$engine.$peer" "${peer}_$engine"; timed "$engine.ferry.$peer" "ferry_$engine"
            fi
        done
    done
done
printf '\nN=%s applied, nothing pending, %s pairs, ms (median, then every run)\n\n' "$N" "$PAIRS"
table
echo
for peer in $peers; do
    pairs "nothing pending, SQLite, ferry / $peer" sqlite.ferry.$peer sqlite.$peer 0.5
    pairs "nothing pending, PostgreSQL, ferry / $peer" pg.ferry.$peer pg.$peer 0.5
done
