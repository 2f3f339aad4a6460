#!/bin/bash
# `ferry db verify` on N migrations against applying them once, on
# PostgreSQL (and SQLite for comparison).
#
#   bench/verify.sh               # N=1000, RUNS=3, medians
#   N=200 RUNS=1 bench/verify.sh  # quicker
#   FERRY=/path/to/ferry bench/verify.sh   # a given binary, no build
#   ENGINES=postgres bench/verify.sh       # one engine
#
# The migrations are a realistic mix, each with a correct down: a table with
# a primary key and a default, a column added with an index, a check
# constraint, a view over two tables. verify applies each, snapshots the
# catalogue, reverts it, snapshots again, applies it again, then runs the
# chain check; "apply" is `ferry db migrate` of the same files to a fresh
# database. The goal (issue 15) is verify <= 3x apply on PostgreSQL.
set -eu

N=${N:-1000}
RUNS=${RUNS:-3}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
HERE=$(cd "$(dirname "$0")" && pwd)
DB="ferry_bench_verify_$$"

cd "$HERE/.."
if [ -z "${FERRY:-}" ]; then
    cargo build -q --release -p ferry-cli
    FERRY="$PWD/target/release/ferry"
fi
mkdir -p "$HERE/work"
WORK=$(mktemp -d "$HERE/work/verify.XXXXXX")
trap 'for d in $(psql -tA -X "$PG/postgres" -c "SELECT datname FROM pg_database WHERE datname LIKE '"'"'${DB}_%'"'"'"); do psql -q -X "$PG/postgres" -c "DROP DATABASE IF EXISTS $d"; done; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/project/migrations"

i=1
while [ "$i" -le "$N" ]; do
    v=$(printf '%04d' "$i")
    case $((i % 4)) in
    1)
        printf 'CREATE TABLE t%s (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '"'"'x'"'"', n INTEGER);\n' "$i" \
            >"$WORK/project/migrations/${v}_table_$i.up.sql"
        printf 'DROP TABLE t%s;\n' "$i" >"$WORK/project/migrations/${v}_table_$i.down.sql"
        ;;
    2)
        t=$((i - 1))
        printf 'ALTER TABLE t%s ADD COLUMN c%s VARCHAR(40);\nCREATE INDEX t%s_c%s_idx ON t%s (c%s);\n' "$t" "$i" "$t" "$i" "$t" "$i" \
            >"$WORK/project/migrations/${v}_column_$i.up.sql"
        printf 'DROP INDEX t%s_c%s_idx;\nALTER TABLE t%s DROP COLUMN c%s;\n' "$t" "$i" "$t" "$i" \
            >"$WORK/project/migrations/${v}_column_$i.down.sql"
        ;;
    3)
        t=$((i - 2))
        printf 'ALTER TABLE t%s ADD CONSTRAINT t%s_n_check CHECK (n >= 0);\n' "$t" "$t" \
            >"$WORK/project/migrations/${v}_check_$i.up.sql"
        printf 'ALTER TABLE t%s DROP CONSTRAINT t%s_n_check;\n' "$t" "$t" \
            >"$WORK/project/migrations/${v}_check_$i.down.sql"
        ;;
    0)
        t=$((i - 3))
        printf 'CREATE VIEW v%s AS SELECT id, name FROM t%s WHERE n > 0;\n' "$i" "$t" \
            >"$WORK/project/migrations/${v}_view_$i.up.sql"
        printf 'DROP VIEW v%s;\n' "$i" >"$WORK/project/migrations/${v}_view_$i.down.sql"
        ;;
    esac
    i=$((i + 1))
done

ms() { date +%s%3N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# A fresh database for one timed command, made before the timer starts.
fresh() { # engine, suffix
    case $1 in
    postgres)
        psql -q -X "$PG/postgres" -c "CREATE DATABASE ${DB}_$2"
        echo "$PG/${DB}_$2"
        ;;
    sqlite)
        echo "sqlite://$WORK/bench_$2.db"
        ;;
    esac
}

# Dropped after the timer stopped: dropping a database of 1,000 tables
# right before a timed run slows the run.
gone() { # engine, suffix
    case $1 in
    postgres) psql -q -X "$PG/postgres" -c "DROP DATABASE IF EXISTS ${DB}_$2" ;;
    sqlite) rm -f "$WORK/bench_$2.db"* ;;
    esac
}

bench() { # engine
    engine=$1
    apply=""
    verify=""
    r=1
    while [ "$r" -le "$RUNS" ]; do
        printf '[database]\nurl = "%s"\n' "$(fresh "$engine" "a$r")" >"$WORK/project/ferry.toml"
        t0=$(ms)
        "$FERRY" --project "$WORK/project" db migrate >/dev/null
        t1=$(ms)
        apply="$apply $((t1 - t0))"
        gone "$engine" "a$r"
        # verify makes its own scratch database; the one named here is
        # only the project's, which it reads nothing from.
        printf '[database]\nurl = "%s"\n' "$(fresh "$engine" "v$r")" >"$WORK/project/ferry.toml"
        t0=$(ms)
        "$FERRY" --project "$WORK/project" db verify >"$WORK/verify.out" || { cat "$WORK/verify.out"; exit 1; }
        t1=$(ms)
        verify="$verify $((t1 - t0))"
        gone "$engine" "v$r"
        r=$((r + 1))
    done
    a=$(echo "$apply" | tr ' ' '\n' | grep . | median)
    v=$(echo "$verify" | tr ' ' '\n' | grep . | median)
    # Each pair's ratio (verify over the apply of the same run), sorted.
    ratios=$(paste -d' ' <(echo "$verify" | tr ' ' '\n' | grep .) <(echo "$apply" | tr ' ' '\n' | grep .) |
        awk '{ printf "%.2f\n", $1 / $2 }' | sort -n | tr '\n' ' ')
    echo "$engine: N=$N apply ${a} ms, verify ${v} ms, ratio of medians $(echo "scale=2; $v / $a" | bc); runs: apply$apply, verify$verify; pair ratios $ratios"
}

for e in ${ENGINES:-postgres sqlite}; do
    bench "$e"
done
