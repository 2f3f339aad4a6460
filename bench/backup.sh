#!/usr/bin/env bash
# Backup benchmark: a SQLite database and a PostgreSQL database of about
# SIZE_MB each (default 512), generated here under unique names and removed
# at the end; ferry's `backup create` and `backup verify` timed in PAIRS
# interleaved pairs (the order alternating) against the plain tools doing
# the same work, like for like:
#   SQLite create:  sqlite3 .backup, zstd -T0 -3, then fsync of the archive
#   SQLite verify:  zstd -d to a scratch file, PRAGMA integrity_check, rm
#   PG create:      pg_dump -Fc -Z0 | zstd -T0 -3, then fsync of the archive
#                   (and, a second column, pg_dump -Fc with its own gzip)
#   PG verify:      zstd -dc | pg_restore -f /dev/null (a full read)
# Output files are fsynced one by one (`sync FILE`), never with a global
# sync that would flush other processes' data into a timing. ferry runs
# with everything on: SHA-256 of every member, the manifest, fsync, 0600
# files; its verify also checks the archive's own checksum and sidecars.
#
#   bench/backup.sh                       # SIZE_MB=512, PAIRS=11
#   SIZE_MB=64 PAIRS=3 bench/backup.sh
#   FERRY=/path/to/ferry bench/backup.sh  # no build
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE_MB=${SIZE_MB:-512}
PAIRS=${PAIRS:-11}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
WORK=$PWD/bench/work/backup-$$
if [ -z "${FERRY:-}" ]; then
    cargo build -q --release -p ferry-cli
    FERRY=$PWD/target/release/ferry
fi
. bench/lib.sh
# The plain tools run the binaries ferry runs: on Debian, /usr/bin/pg_dump is
# pg_wrapper (Perl, ~20 ms a call), which ferry skips for the newest
# installed client; PGBIN=/usr/bin times the peers through the wrapper.
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
PGBIN=${PGBIN:-$(dirname "$(command -v pg_dump)")}
DB=ferry_bench_backup_$$
cleanup() {
    psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK"
ROWS=$(( SIZE_MB * 1024 * 1024 / 230 ))

# --- data: rows of about 230 bytes, half random hex, half repetitive text
echo "generating $ROWS rows (~${SIZE_MB} MiB) in SQLite and PostgreSQL..." >&2
sqlite3 "$WORK/data.db" > /dev/null "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;
  CREATE TABLE events (id INTEGER PRIMARY KEY, host TEXT, payload TEXT, n INTEGER);
  WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < $ROWS)
  INSERT INTO events SELECT x, 'host-' || (x % 97), hex(randomblob(48)) || ' status=ok region=eu-west-1 agent=collector', x * 7 FROM c;"
psql -q "$PG/postgres" -c "CREATE DATABASE $DB"
psql -q "$PG/$DB" -c "CREATE TABLE events (id BIGINT PRIMARY KEY, host TEXT, payload TEXT, n BIGINT);
  INSERT INTO events SELECT x, 'host-' || (x % 97), md5(random()::text) || md5(random()::text) || md5(random()::text) || ' status=ok region=eu-west-1 agent=collector', x * 7 FROM generate_series(1, $ROWS) x;"
psql -q "$PG/$DB" -c "VACUUM ANALYZE events"
echo "SQLite file: $(du -m "$WORK/data.db" | cut -f1) MiB; PostgreSQL: $(psql -qtA "$PG/$DB" -c "SELECT pg_size_pretty(pg_database_size(current_database()))")" >&2

mkdir -p "$WORK/sqlite" "$WORK/pg"
printf '[database]\nurl = "sqlite://%s"\n[backup]\ndir = "%s"\n' "$WORK/data.db" "$WORK/sqlite/backups" > "$WORK/sqlite/ferry.toml"
printf '[database]\nurl = "%s"\n[backup]\ndir = "%s"\n' "$PG/$DB" "$WORK/pg/backups" > "$WORK/pg/ferry.toml"
newest() { ls -t "$1"/*.tar.zst | head -1 | xargs basename | sed 's/\.tar\.zst$//'; }

ferry_side() { # engine
    local dir=$WORK/$1
    timed "$1.ferry.create" "$FERRY" --project "$dir" backup create
    timed "$1.ferry.verify" "$FERRY" --project "$dir" backup verify "$(newest "$dir/backups")"
    rm -rf "$dir/backups"
}
plain_side() { # engine
    if [ "$1" = sqlite ]; then
        timed sqlite.plain.create sh -c "sqlite3 '$WORK/data.db' \".backup '$WORK/plain.db'\" && zstd -q -T0 -3 --rm '$WORK/plain.db' -o '$WORK/plain.db.zst' && sync '$WORK/plain.db.zst'"
        timed sqlite.plain.verify sh -c "zstd -q -d -c '$WORK/plain.db.zst' > '$WORK/check.db' && sqlite3 '$WORK/check.db' 'PRAGMA integrity_check' | grep -qx ok && rm '$WORK/check.db'"
        rm -f "$WORK/plain.db.zst"
    else
        timed pg.plain.create sh -c "'$PGBIN/pg_dump' -Fc -Z0 '$PG/$DB' | zstd -q -T0 -3 -o '$WORK/plain.dump.zst' && sync '$WORK/plain.dump.zst'"
        timed pg.plain.verify sh -c "zstd -q -d -c '$WORK/plain.dump.zst' | '$PGBIN/pg_restore' -f /dev/null"
        timed pg.gzip.create sh -c "'$PGBIN/pg_dump' -Fc -f '$WORK/plain.dump' '$PG/$DB' && sync '$WORK/plain.dump'"
        ls -l "$WORK/plain.dump.zst" "$WORK/plain.dump" | awk '{print $5, $9}' > "$WORK/sizes"
        rm -f "$WORK/plain.dump.zst" "$WORK/plain.dump"
    fi
}

for pair in $(seq 1 "$PAIRS"); do
    echo "pair $pair/$PAIRS" >&2
    for engine in sqlite pg; do
        if [ $((pair % 2)) -eq 1 ]; then ferry_side $engine; plain_side $engine; else plain_side $engine; ferry_side $engine; fi
    done
done
"$FERRY" --project "$WORK/pg" backup create > /dev/null
"$FERRY" --project "$WORK/sqlite" backup create > /dev/null
printf '\n~%s MiB per database, %s pairs, ms (median, then every run)\n\n' "$SIZE_MB" "$PAIRS"
table
echo
pairs "SQLite create, ferry / (.backup + zstd -T0 -3)" sqlite.ferry.create sqlite.plain.create 1.0
pairs "SQLite verify, ferry / (zstd -d + integrity_check)" sqlite.ferry.verify sqlite.plain.verify 1.0
pairs "PostgreSQL create, ferry / (pg_dump -Fc -Z0 | zstd -T0 -3)" pg.ferry.create pg.plain.create 1.0
pairs "PostgreSQL create, ferry / pg_dump -Fc" pg.ferry.create pg.gzip.create 1.0
pairs "PostgreSQL verify, ferry / (zstd -dc | pg_restore -f /dev/null)" pg.ferry.verify pg.plain.verify 1.0
echo
echo "archive sizes (bytes):"
ls -l "$WORK"/sqlite/backups/*.tar.zst "$WORK"/pg/backups/*.tar.zst | awk '{print $5, $9}'
cat "$WORK/sizes"
