#!/usr/bin/env bash
# Backup benchmark: a SQLite database and a PostgreSQL database of about
# SIZE_MB each (default 1024), generated here; ferry's `backup create` and
# `backup verify` timed side by side, in the same run, with the plain tools:
#   SQLite:     sqlite3 .backup, then zstd (-T0 -3); and zstd -d to a scratch
#               file + PRAGMA integrity_check + removing the scratch file (ferry
#               removes its scratch copy too, inside its timing)
#   PostgreSQL: pg_dump -Fc, and pg_restore -f /dev/null (a full read)
# ferry runs with everything on: compression, SHA-256 of every member, the
# manifest, fsync, 0600 files; its verify reads the whole archive back and
# the dump in full.
#
#   bench/backup.sh                  # SIZE_MB=1024, RUNS=3, medians
#   SIZE_MB=256 RUNS=1 bench/backup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE_MB=${SIZE_MB:-1024}
RUNS=${RUNS:-3}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
WORK=$PWD/bench/work/backup
FERRY=$PWD/target/release/ferry
cargo build -q --release -p ferry-cli
mkdir -p "$WORK"
ROWS=$(( SIZE_MB * 1024 * 1024 / 230 ))

# --- data: rows of about 230 bytes, half random hex, half repetitive text
if [ ! -f "$WORK/data.db" ] || [ "$(cat "$WORK/rows" 2>/dev/null)" != "$ROWS" ]; then
    echo "generating $ROWS rows (~${SIZE_MB} MiB) in SQLite..." >&2
    rm -f "$WORK/data.db"
    sqlite3 "$WORK/data.db" > /dev/null "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;
      CREATE TABLE events (id INTEGER PRIMARY KEY, host TEXT, payload TEXT, n INTEGER);
      WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < $ROWS)
      INSERT INTO events SELECT x, 'host-' || (x % 97), hex(randomblob(48)) || ' status=ok region=eu-west-1 agent=collector', x * 7 FROM c;"
    echo "generating the same in PostgreSQL..." >&2
    psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS ferry_bench_backup" -c "CREATE DATABASE ferry_bench_backup"
    psql -q "$PG/ferry_bench_backup" -c "CREATE TABLE events (id BIGINT PRIMARY KEY, host TEXT, payload TEXT, n BIGINT);
      INSERT INTO events SELECT x, 'host-' || (x % 97), md5(random()::text) || md5(random()::text) || md5(random()::text) || ' status=ok region=eu-west-1 agent=collector', x * 7 FROM generate_series(1, $ROWS) x;"
    psql -q "$PG/ferry_bench_backup" -c "VACUUM ANALYZE events"
    echo "$ROWS" > "$WORK/rows"
fi
ls -l "$WORK/data.db" >&2
psql -qtA "$PG/ferry_bench_backup" -c "SELECT pg_size_pretty(pg_database_size(current_database()))" >&2

mkdir -p "$WORK/sqlite" "$WORK/pg"
printf '[database]\nurl = "sqlite://%s"\n[backup]\ndir = "%s"\n' "$WORK/data.db" "$WORK/sqlite/backups" > "$WORK/sqlite/ferry.toml"
printf '[database]\nurl = "%s"\n[backup]\ndir = "%s"\n' "$PG/ferry_bench_backup" "$WORK/pg/backups" > "$WORK/pg/ferry.toml"

now() { date +%s%N; }
declare -A T
timed() { local key=$1; shift; local s; s=$(now); "$@" > "$WORK/last.log" 2>&1 || { echo "FAILED: $key" >&2; cat "$WORK/last.log" >&2; exit 1; }; T[$key]="${T[$key]:-} $(( ($(now) - s) / 1000000 ))"; }
newest() { ls -t "$1"/*.tar.zst | head -1 | xargs basename | sed 's/\.tar\.zst$//'; }

for run in $(seq 1 "$RUNS"); do
    echo "run $run/$RUNS" >&2
    rm -rf "$WORK/sqlite/backups" "$WORK/pg/backups" "$WORK"/plain*
    sync
    timed sqlite.ferry.create "$FERRY" --project "$WORK/sqlite" backup create
    timed sqlite.ferry.verify "$FERRY" --project "$WORK/sqlite" backup verify "$(newest "$WORK/sqlite/backups")"
    timed sqlite.plain.create sh -c "sqlite3 '$WORK/data.db' \".backup '$WORK/plain.db'\" && zstd -q -T0 -3 '$WORK/plain.db' -o '$WORK/plain.db.zst' && sync"
    timed sqlite.plain.verify sh -c "zstd -q -d -c '$WORK/plain.db.zst' > '$WORK/plain-check.db' && sqlite3 '$WORK/plain-check.db' 'PRAGMA integrity_check' | grep -qx ok && rm '$WORK/plain-check.db'"
    timed pg.ferry.create "$FERRY" --project "$WORK/pg" backup create
    timed pg.ferry.verify "$FERRY" --project "$WORK/pg" backup verify "$(newest "$WORK/pg/backups")"
    timed pg.plain.create sh -c "pg_dump -Fc -f '$WORK/plain.dump' '$PG/ferry_bench_backup' && sync"
    timed pg.plain.verify pg_restore -f /dev/null "$WORK/plain.dump"
done

median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
m() { echo "${T[$1]}" | median; }
printf '\n~%s MiB per database, median of %s runs, milliseconds (side by side in one run)\n\n' "$SIZE_MB" "$RUNS"
for key in $(printf '%s\n' "${!T[@]}" | sort); do printf '%-22s %8s   %s\n' "$key" "$(m "$key")" "${T[$key]}"; done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo
echo "sqlite create: ferry / (sqlite3 .backup + zstd) = $(ratio "$(m sqlite.ferry.create)" "$(m sqlite.plain.create)")   (goal <= 1.10)"
echo "sqlite verify: ferry / (zstd -d + integrity_check) = $(ratio "$(m sqlite.ferry.verify)" "$(m sqlite.plain.verify)")"
echo "pg create:     ferry / pg_dump -Fc = $(ratio "$(m pg.ferry.create)" "$(m pg.plain.create)")   (goal <= 1.10)"
echo "pg verify:     ferry / pg_restore -f /dev/null = $(ratio "$(m pg.ferry.verify)" "$(m pg.plain.verify)")"
echo
ls -l "$WORK/sqlite/backups"/*.tar.zst "$WORK/plain.db.zst" "$WORK/pg/backups"/*.tar.zst "$WORK/plain.dump" | awk '{print $5, $9}'
