#!/bin/sh
# `ferry db verify` on N migrations against applying them once, on
# PostgreSQL (and SQLite for comparison).
#
#   bench/verify.sh               # N=1000, RUNS=3, medians
#   N=200 RUNS=1 bench/verify.sh  # quicker
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
WORK="$HERE/work/verify"
DB=ferry_bench_verify

cd "$HERE/.."
cargo build -q --release -p ferry-cli
FERRY="$PWD/target/release/ferry"
rm -rf "$WORK"
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

bench() { # engine url-of-a-fresh-db
    engine=$1
    apply=""
    verify=""
    r=1
    while [ "$r" -le "$RUNS" ]; do
        url=$(fresh "$engine")
        printf '[database]\nurl = "%s"\n' "$url" >"$WORK/project/ferry.toml"
        t0=$(ms)
        "$FERRY" --project "$WORK/project" db migrate >/dev/null
        t1=$(ms)
        apply="$apply $((t1 - t0))"
        url=$(fresh "$engine")
        printf '[database]\nurl = "%s"\n' "$url" >"$WORK/project/ferry.toml"
        t0=$(ms)
        "$FERRY" --project "$WORK/project" db verify >"$WORK/verify.out" || { cat "$WORK/verify.out"; exit 1; }
        t1=$(ms)
        verify="$verify $((t1 - t0))"
        r=$((r + 1))
    done
    a=$(echo "$apply" | tr ' ' '\n' | grep . | median)
    v=$(echo "$verify" | tr ' ' '\n' | grep . | median)
    echo "$engine: N=$N apply ${a} ms, verify ${v} ms, ratio $(echo "scale=2; $v / $a" | bc)"
}

fresh() {
    case $1 in
    postgres)
        psql -q -X "$PG/postgres" -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
        echo "$PG/$DB"
        ;;
    sqlite)
        rm -f "$WORK/bench.db"*
        echo "sqlite://$WORK/bench.db"
        ;;
    esac
}

bench postgres
bench sqlite
psql -q -X "$PG/postgres" -c "DROP DATABASE IF EXISTS $DB"
