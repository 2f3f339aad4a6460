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
#
# On PostgreSQL a floor is timed too: the script runs verify cannot do
# without, through psql, with no snapshot and no bookkeeping. Two sessions
# in two fresh databases, split as ferry splits the work (the first five
# sevenths): the first runs up, down, up again for each of its part; the
# second applies that part, does the same for the rest, then runs every
# down from the head (the chain). One transaction per script, as ferry.
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
FIRST=$(((N * 5 + 6) / 7))
: >"$WORK/floor1.sql"
: >"$WORK/floor2.sql"
mkdir -p "$WORK/downs"
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
    up=$(cat "$WORK"/project/migrations/${v}_*.up.sql)
    down=$(cat "$WORK"/project/migrations/${v}_*.down.sql)
    step=$(printf 'BEGIN;\n%s\nCOMMIT;\nBEGIN;\n%s\nCOMMIT;\nBEGIN;\n%s\nCOMMIT;\n' "$up" "$down" "$up")
    if [ "$i" -le "$FIRST" ]; then
        printf '%s\n' "$step" >>"$WORK/floor1.sql"
        printf 'BEGIN;\n%s\nCOMMIT;\n' "$up" >>"$WORK/floor2.sql"
    else
        printf '%s\n' "$step" >>"$WORK/floor2.sql"
    fi
    printf 'BEGIN;\n%s\nCOMMIT;\n' "$down" >"$WORK/downs/$v.sql"
    i=$((i + 1))
done
# The chain: every down, newest first.
for f in $(ls -r "$WORK/downs"); do cat "$WORK/downs/$f"; done >>"$WORK/floor2.sql"

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

# The floor's two sessions at once (PostgreSQL only).
floor() { # suffix
    psql -q -X "$PG/postgres" -c "CREATE DATABASE ${DB}_f1$1" -c "CREATE DATABASE ${DB}_f2$1"
    t0=$(ms)
    psql -q -X -v ON_ERROR_STOP=1 "$PG/${DB}_f1$1" -c "SET synchronous_commit = off" -f "$WORK/floor1.sql" >/dev/null &
    f1=$!
    psql -q -X -v ON_ERROR_STOP=1 "$PG/${DB}_f2$1" -c "SET synchronous_commit = off" -f "$WORK/floor2.sql" >/dev/null
    wait "$f1"
    t1=$(ms)
    psql -q -X "$PG/postgres" -c "DROP DATABASE ${DB}_f1$1" -c "DROP DATABASE ${DB}_f2$1"
    echo $((t1 - t0))
}

bench() { # engine
    engine=$1
    apply=""
    verify=""
    floors=""
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
        if [ "$engine" = postgres ]; then
            floors="$floors $(floor "$r")"
        fi
        r=$((r + 1))
    done
    a=$(echo "$apply" | tr ' ' '\n' | grep . | median)
    v=$(echo "$verify" | tr ' ' '\n' | grep . | median)
    # Each pair's ratio (verify over the apply of the same run), sorted.
    ratios=$(paste -d' ' <(echo "$verify" | tr ' ' '\n' | grep .) <(echo "$apply" | tr ' ' '\n' | grep .) |
        awk '{ printf "%.2f\n", $1 / $2 }' | sort -n | tr '\n' ' ')
    echo "$engine: N=$N apply ${a} ms, verify ${v} ms, ratio of medians $(echo "scale=2; $v / $a" | bc); runs: apply$apply, verify$verify; pair ratios $ratios"
    if [ -n "$floors" ]; then
        f=$(echo "$floors" | tr ' ' '\n' | grep . | median)
        echo "$engine: floor (psql, two sessions, no snapshots) ${f} ms = $(echo "scale=2; $f / $a" | bc)x apply; verify = $(echo "scale=2; $v / $f" | bc)x the floor; runs: floor$floors"
    fi
}

for e in ${ENGINES:-postgres sqlite}; do
    bench "$e"
done
