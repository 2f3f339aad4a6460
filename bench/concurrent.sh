#!/usr/bin/env bash
# Many replicas starting at once: N migrations (default 500) applied to a
# fresh PostgreSQL database by one `ferry db migrate`, against the same run
# by P processes started together (default 16), as replicas of a service
# that each migrate at start-up would. The time is from the first start to
# the last exit. Each pair gets two fresh, uniquely named databases made
# before the timer and dropped after it; the order alternates. After every
# run of P processes, each migration must be in the history exactly once and
# every table must exist, or the benchmark stops.
#
#   bench/concurrent.sh                   # N=500, P=16, PAIRS=11
#   N=100 PAIRS=3 bench/concurrent.sh
#   FERRY=/path/to/ferry bench/concurrent.sh
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-500}
P=${P:-16}
PAIRS=${PAIRS:-11}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
WORK=$PWD/bench/work/concurrent-$$
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
mkdir -p "$WORK/project/migrations"
for i in $(seq 1 "$N"); do
    v=$(printf '%05d' "$i")
    printf 'CREATE TABLE t%d (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL);\nCREATE INDEX t%d_name ON t%d (name);\n' "$i" "$i" "$i" > "$WORK/project/migrations/${v}_t$i.up.sql"
    printf 'DROP TABLE t%d;\n' "$i" > "$WORK/project/migrations/${v}_t$i.down.sql"
done
: > "$WORK/project/ferry.toml"

fresh() { DBS+=("$1"); psql -q "$PG/postgres" -c "CREATE DATABASE $1"; }
drop() { psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)"; }
migrate() { "$FERRY" --project "$WORK/project" --database-url "$PG/$1" db migrate; }
many() { # database: P processes at once; fails if any fails
    local pids=() i
    for i in $(seq 1 "$P"); do migrate "$1" > "$WORK/many.$i.log" 2>&1 & pids+=($!); done
    for i in "${pids[@]}"; do wait "$i" || return 1; done
}
exactly_once() {
    local got
    got=$(psql -qtA "$PG/$1" -c "SELECT count(*) || ' ' || count(DISTINCT version) || ' ' || (SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name ~ '^t[0-9]+\$') FROM ferry_history WHERE success")
    [ "$got" = "$N $N $N" ] || { echo "FAILED: after $P processes: history rows, versions, tables = $got (want $N each)" >&2; exit 1; }
}

for pair in $(seq 1 "$PAIRS"); do
    echo "pair $pair/$PAIRS" >&2
    one=ferry_bench_conc_$$_${pair}_one
    all=ferry_bench_conc_$$_${pair}_many
    fresh "$one"; fresh "$all"
    if [ $((pair % 2)) -eq 1 ]; then
        timed one migrate "$one"; timed many many "$all"
    else
        timed many many "$all"; timed one migrate "$one"
    fi
    exactly_once "$one"; exactly_once "$all"
    drop "$one"; drop "$all"
done
printf '\nN=%s migrations, P=%s processes, %s pairs, ms (median, then every run)\n\n' "$N" "$P" "$PAIRS"
table
echo
pairs "PostgreSQL, $P processes at once / one" many one 1.1
