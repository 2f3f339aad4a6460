#!/usr/bin/env bash
# SQLite to PostgreSQL: `ferry db transfer` (schema from the project's
# PostgreSQL migrations, rows converted, every table read back and checked)
# against pgloader (Debian package pgloader; it makes the schema itself and
# checks nothing) on the same SQLite file of about SIZE_MB (default 1024),
# in PAIRS interleaved pairs (the order alternating), each into a fresh,
# uniquely named PostgreSQL database made before the timer and dropped
# after it.
#
#   bench/transfer.sh                      # SIZE_MB=1024, PAIRS=3
#   SIZE_MB=128 PAIRS=5 bench/transfer.sh
#   FERRY=/path/to/ferry bench/transfer.sh
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE_MB=${SIZE_MB:-1024}
PAIRS=${PAIRS:-3}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
WORK=$PWD/bench/work/transfer-$$
if [ -z "${FERRY:-}" ]; then
    cargo build -q --release -p ferry-cli
    FERRY=$PWD/target/release/ferry
fi
command -v pgloader > /dev/null || { echo "pgloader is not installed (apt-get install pgloader)" >&2; exit 1; }
. bench/lib.sh
DBS=()
cleanup() {
    for db in "${DBS[@]}"; do psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/project/migrations/sqlite" "$WORK/project/migrations/postgres"
cd "$WORK/project"
printf '[database]\nurl = "sqlite://big.db"\n[migrations]\ndir = "migrations/${ENGINE}"\n' > ferry.toml
echo "CREATE TABLE events (id INTEGER PRIMARY KEY, host TEXT NOT NULL, ok BOOLEAN NOT NULL, payload TEXT, n INTEGER, at TIMESTAMP NOT NULL);" > migrations/sqlite/0001_events.up.sql
echo "CREATE TABLE events (id BIGINT PRIMARY KEY, host TEXT NOT NULL, ok BOOLEAN NOT NULL, payload TEXT, n BIGINT, at TIMESTAMP NOT NULL);" > migrations/postgres/0001_events.up.sql
"$FERRY" db migrate > /dev/null
ROWS=$(( SIZE_MB * 1024 * 1024 / 170 ))
echo "generating $ROWS rows (~${SIZE_MB} MiB) in SQLite..." >&2
sqlite3 big.db > /dev/null "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;
  WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < $ROWS)
  INSERT INTO events SELECT x, 'host-' || (x % 97), x % 3 <> 0, hex(randomblob(48)) || ' status=ok region=eu-west-1', x * 7, datetime(1700000000 + x, 'unixepoch') FROM c;"
echo "SQLite file: $(du -m big.db | cut -f1) MiB, $ROWS rows" >&2

fresh() { DBS+=("$1"); psql -q "$PG/postgres" -c "CREATE DATABASE $1"; }
drop() { psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)"; }
ferry_side() { fresh "$1"; timed ferry "$FERRY" db transfer --to "$PG/$1"; drop "$1"; }
pgloader_side() { fresh "$1"; timed pgloader pgloader --quiet big.db "postgresql://${PG#postgres://}/$1"; drop "$1"; }
for pair in $(seq 1 "$PAIRS"); do
    echo "pair $pair/$PAIRS" >&2
    if [ $((pair % 2)) -eq 1 ]; then
        ferry_side "ferry_bench_tr_$$_${pair}_f"; pgloader_side "ferry_bench_tr_$$_${pair}_p"
    else
        pgloader_side "ferry_bench_tr_$$_${pair}_p"; ferry_side "ferry_bench_tr_$$_${pair}_f"
    fi
done
printf '\n~%s MiB SQLite file, %s rows, %s pairs, ms (median, then every run)\n\n' "$SIZE_MB" "$ROWS" "$PAIRS"
table
echo
pairs "SQLite → PostgreSQL, ferry db transfer (verification on) / pgloader" ferry pgloader 1.0
