#!/usr/bin/env bash
# Migration benchmark: N generated migrations (each creates a table and an
# index), applied to a fresh SQLite file and a fresh PostgreSQL database,
# then run again with nothing pending, then all reverted. ferry is measured
# side by side, in the same run, with dbmate, diesel (when installed) and the
# floor: the same SQL piped into sqlite3 / psql, one transaction per migration.
#
#   bench/migrate.sh                 # N=1000, 5 runs, medians
#   N=200 RUNS=3 bench/migrate.sh
#   FERRY=/path/to/ferry bench/migrate.sh   # no build
#
# Peers: dbmate from npm (`npm install -g dbmate`; the Go binary it ships is
# called directly, the `dbmate` command is a slow Node wrapper); diesel from
# `cargo install diesel_cli --no-default-features --features "postgres sqlite-bundled"`
# (set DIESEL=/path/to/diesel). Missing peers are reported and left out.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-1000}
RUNS=${RUNS:-5}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
WORK=$PWD/bench/work/migrate-$$
DBMATE=${DBMATE:-$(npm root -g 2>/dev/null)/dbmate/node_modules/@dbmate/linux-x64/bin/dbmate}
DIESEL=${DIESEL:-$(command -v diesel || true)}
if [ -z "${FERRY:-}" ]; then
    cargo build -q --release -p ferry-cli
    FERRY=$PWD/target/release/ferry
fi
[ -x "$DBMATE" ] || { echo "dbmate not found (npm install -g dbmate); leaving it out" >&2; DBMATE=; }
[ -n "$DIESEL" ] && [ -x "$DIESEL" ] || { echo "diesel not found; leaving it out" >&2; DIESEL=; }

DBS=()
cleanup() {
    for db in "${DBS[@]}"; do psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK"/{ferry/migrations,dbmate,diesel}
sql_up() { printf 'CREATE TABLE t%d (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL, created_at VARCHAR(40));\nCREATE INDEX t%d_name ON t%d (name);\n' "$1" "$1" "$1"; }
sql_down() { printf 'DROP TABLE t%d;\n' "$1"; }
for i in $(seq 1 "$N"); do
    v=$(printf '%05d' "$i")
    sql_up "$i" > "$WORK/ferry/migrations/${v}_t$i.up.sql"
    sql_down "$i" > "$WORK/ferry/migrations/${v}_t$i.down.sql"
    { echo "-- migrate:up"; sql_up "$i"; echo "-- migrate:down"; sql_down "$i"; } > "$WORK/dbmate/${v}_t$i.sql"
    mkdir -p "$WORK/diesel/${v}_t$i"
    sql_up "$i" > "$WORK/diesel/${v}_t$i/up.sql"
    sql_down "$i" > "$WORK/diesel/${v}_t$i/down.sql"
    { echo "BEGIN;"; sql_up "$i"; echo "COMMIT;"; } >> "$WORK/floor_up.sql"
done
: > "$WORK/ferry/ferry.toml"

# now in milliseconds
now() { date +%s%N; }
declare -A T
record() { T[$1]="${T[$1]:-} $2"; }
timed() { # key, command...
    local key=$1; shift
    local s; s=$(now)
    "$@" > "$WORK/last.log" 2>&1 || { echo "FAILED: $key: $*" >&2; cat "$WORK/last.log" >&2; exit 1; }
    record "$key" $(( ($(now) - s) / 1000000 ))
}
# A fresh, uniquely named database for each tool's run (tool, run and this
# script's process in its name), made before its timer and dropped after
# its last timed command. The server's checkpoint after the drop writes its
# pages out before the next timer starts, not during it.
fresh_pg() { # tool
    PGDB=ferry_bench_migrate_$$_${run}_$1
    DBS+=("$PGDB")
    pg="$PG/$PGDB"
    psql -q "$PG/postgres" -c "CREATE DATABASE $PGDB" > /dev/null
}
drop_pg() { psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $PGDB WITH (FORCE)" -c "CHECKPOINT" > /dev/null; }

sqlite_ferry() {
    rm -f "$WORK"/ferry.db*
    timed sqlite.ferry.up "$FERRY" --project "$WORK/ferry" --database-url "sqlite://$WORK/ferry.db" db migrate
    timed sqlite.ferry.noop "$FERRY" --project "$WORK/ferry" --database-url "sqlite://$WORK/ferry.db" db migrate
    timed sqlite.ferry.revert "$FERRY" --project "$WORK/ferry" --database-url "sqlite://$WORK/ferry.db" db revert --to 0
}
sqlite_floor() {
    rm -f "$WORK"/floor.db*
    timed sqlite.floor.up sh -c "sqlite3 '$WORK/floor.db' < '$WORK/floor_up.sql'"
}
sqlite_dbmate() {
    [ -n "$DBMATE" ] || return 0
    rm -f "$WORK"/dbmate.db*
    timed sqlite.dbmate.up "$DBMATE" --url "sqlite:$WORK/dbmate.db" --migrations-dir "$WORK/dbmate" --no-dump-schema migrate
    timed sqlite.dbmate.noop "$DBMATE" --url "sqlite:$WORK/dbmate.db" --migrations-dir "$WORK/dbmate" --no-dump-schema migrate
}
sqlite_diesel() {
    [ -n "$DIESEL" ] || return 0
    rm -f "$WORK"/diesel.db*
    timed sqlite.diesel.up "$DIESEL" migration run --database-url "$WORK/diesel.db" --migration-dir "$WORK/diesel"
    timed sqlite.diesel.noop "$DIESEL" migration run --database-url "$WORK/diesel.db" --migration-dir "$WORK/diesel"
    timed sqlite.diesel.revert "$DIESEL" migration revert --all --database-url "$WORK/diesel.db" --migration-dir "$WORK/diesel"
}
pg_ferry() {
    fresh_pg ferry
    timed pg.ferry.up "$FERRY" --project "$WORK/ferry" --database-url "$pg" db migrate
    timed pg.ferry.noop "$FERRY" --project "$WORK/ferry" --database-url "$pg" db migrate
    timed pg.ferry.revert "$FERRY" --project "$WORK/ferry" --database-url "$pg" db revert --to 0
    drop_pg
}
pg_floor() {
    fresh_pg floor
    timed pg.floor.up psql -q -X -v ON_ERROR_STOP=1 "$pg" -f "$WORK/floor_up.sql"
    drop_pg
}
pg_dbmate() {
    [ -n "$DBMATE" ] || return 0
    fresh_pg dbmate
    timed pg.dbmate.up "$DBMATE" --url "$pg?sslmode=disable" --migrations-dir "$WORK/dbmate" --no-dump-schema migrate
    timed pg.dbmate.noop "$DBMATE" --url "$pg?sslmode=disable" --migrations-dir "$WORK/dbmate" --no-dump-schema migrate
    drop_pg
}
pg_diesel() {
    [ -n "$DIESEL" ] || return 0
    fresh_pg diesel
    timed pg.diesel.up "$DIESEL" migration run --database-url "$pg" --migration-dir "$WORK/diesel"
    timed pg.diesel.noop "$DIESEL" migration run --database-url "$pg" --migration-dir "$WORK/diesel"
    timed pg.diesel.revert "$DIESEL" migration revert --all --database-url "$pg" --migration-dir "$WORK/diesel"
    drop_pg
}

# Each run starts with a different tool, so no tool always follows the same
# neighbour (PostgreSQL checkpoints after a heavy run slow whoever is next).
tools=(ferry floor dbmate diesel)
for run in $(seq 1 "$RUNS"); do
    echo "run $run/$RUNS" >&2
    shift_by=$(( (run - 1) % ${#tools[@]} ))
    order=("${tools[@]:shift_by}" "${tools[@]:0:shift_by}")
    for tool in "${order[@]}"; do "sqlite_$tool"; done
    for tool in "${order[@]}"; do "pg_$tool"; done
done

# "Nothing pending" takes a few milliseconds: a shell's own fork and `date`
# calls would be a large part of it, so hyperfine measures it when present.
if command -v hyperfine > /dev/null; then
    rm -f "$WORK"/*.db*
    "$FERRY" --project "$WORK/ferry" --database-url "sqlite://$WORK/ferry.db" db migrate > /dev/null
    fresh_pg noop && "$FERRY" --project "$WORK/ferry" --database-url "$pg" db migrate > /dev/null
    noop=(-n "ferry, SQLite" "$FERRY --project $WORK/ferry --database-url sqlite://$WORK/ferry.db db migrate"
          -n "ferry, PostgreSQL" "$FERRY --project $WORK/ferry --database-url $pg db migrate")
    if [ -n "$DBMATE" ]; then
        "$DBMATE" --url "sqlite:$WORK/dbmate.db" --migrations-dir "$WORK/dbmate" --no-dump-schema migrate > /dev/null
        noop+=(-n "dbmate, SQLite" "$DBMATE --url sqlite:$WORK/dbmate.db --migrations-dir $WORK/dbmate --no-dump-schema migrate")
    fi
    hyperfine -N -w 3 -r 30 --export-json "$WORK/noop.json" "${noop[@]}" > /dev/null
    HYPER=$(python3 -c 'import json,sys; [print("  %-20s %6.1f ms +- %.1f" % (r["command"], r["mean"]*1000, r["stddev"]*1000)) for r in json.load(open(sys.argv[1]))["results"]]' "$WORK/noop.json")
fi

median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf '\nN=%s migrations, median of %s runs, milliseconds (all times in one run, side by side)\n\n' "$N" "$RUNS"
printf '%-22s %10s   %s\n' "measurement" "median" "all runs"
for key in $(printf '%s\n' "${!T[@]}" | sort); do
    printf '%-22s %10s  %s\n' "$key" "$(echo "${T[$key]}" | median)" "${T[$key]}"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
m() { echo "${T[$1]:-}" | median; }
echo
echo "pg.ferry.up / pg.floor.up           = $(ratio "$(m pg.ferry.up)" "$(m pg.floor.up)")  (goal <= 0.95)"
[ -n "$DBMATE" ] && echo "sqlite.ferry.up / sqlite.dbmate.up   = $(ratio "$(m sqlite.ferry.up)" "$(m sqlite.dbmate.up)")  (goal <= 1.00)"
[ -n "$DIESEL" ] && echo "sqlite.ferry.revert / diesel.revert  = $(ratio "$(m sqlite.ferry.revert)" "$(m sqlite.diesel.revert)")  (goal < 1.00)"
[ -n "$DIESEL" ] && echo "pg.ferry.revert / diesel.revert      = $(ratio "$(m pg.ferry.revert)" "$(m pg.diesel.revert)")  (goal < 1.00)"
echo "nothing pending: sqlite $(m sqlite.ferry.noop) ms, pg $(m pg.ferry.noop) ms  (goal < 15; wall time seen from bash)"
if [ -n "${HYPER:-}" ]; then
    echo
    echo "nothing pending, hyperfine (30 runs, no shell), mean:"
    echo "$HYPER"
fi
