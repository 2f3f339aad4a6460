#!/bin/sh
# A batched backfill (-- ferry:batch) against one UPDATE of the whole table,
# side by side on PostgreSQL, with a concurrent writer inserting rows.
#
#   bench/backfill.sh                         # ROWS=10000000, SIZE=1000
#   ROWS=1000000 bench/backfill.sh            # quicker
#
# For each of: the writer alone, the writer during `ferry db migrate` of a
# batched `priority = priority * 2`, the writer during the same change as one
# `UPDATE tasks SET priority = priority * 2` through psql, it reports the
# change's rows per second, the writer's insert latency (p50, p99, max, from
# pgbench's per-transaction log over the first WINDOW seconds) and, for the
# batched run, the longest batch: the time from a batch's start to its commit,
# the longest any of its row locks was held (from ferry's debug log).
set -eu

ROWS=${ROWS:-10000000}
SIZE=${SIZE:-1000}
RATE=${RATE:-200}          # the writer's inserts per second
WINDOW=${WINDOW:-20}       # seconds of writer latency measured
PG=${PG:-postgres://postgres@127.0.0.1:5432}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK="$HERE/work/backfill-$$"
# One database per phase, named for it and this script's process: made and
# filled before the phase, dropped after it.
PHASES="idle batched single"

cd "$HERE/.."
if [ -z "${FERRY:-}" ]; then
    cargo build -q --release -p ferry-cli
    FERRY="$PWD/target/release/ferry"
fi
cleanup() {
    for phase in $PHASES; do
        psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS ferry_bench_backfill_$$_$phase WITH (FORCE)" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/project/migrations"

psql_admin() { psql -q -X -v ON_ERROR_STOP=1 "$PG/postgres" "$@"; }
psql_db() { psql -q -X -v ON_ERROR_STOP=1 "$PG/$DB" "$@"; }

setup() { # phase
    DB=ferry_bench_backfill_$$_$1
    psql_admin -c "CREATE DATABASE $DB"
    printf '[project]\nname = "backfill"\n\n[database]\nurl = "%s"\n' "$PG/$DB" >"$WORK/project/ferry.toml"
    psql_db <<SQL
CREATE TABLE tasks (id BIGINT PRIMARY KEY, priority INTEGER NOT NULL, status TEXT NOT NULL, payload TEXT NOT NULL);
INSERT INTO tasks SELECT x, (x % 5) + 1, 'queued', md5(x::text) FROM generate_series(1, $ROWS) x;
CREATE INDEX tasks_status_priority ON tasks (status, priority);
CREATE SEQUENCE writer_ids START $((ROWS + 1));
VACUUM ANALYZE tasks;
CHECKPOINT;
SQL
}

teardown() { psql_admin -c "DROP DATABASE IF EXISTS $DB"; }

cat > "$WORK/writer.sql" <<'SQL'
INSERT INTO tasks (id, priority, status, payload) VALUES (nextval('writer_ids'), 3, 'queued', 'from the writer');
SQL

cat > "$WORK/project/migrations/0001_rescale.up.sql" <<EOF
-- ferry:batch table=tasks key=id size=$SIZE
UPDATE tasks SET priority = priority * 2 WHERE id BETWEEN :first AND :last;
EOF

# The writer, in the background for WINDOW seconds; its log in $1.
writer() {
    (cd "$WORK" && pgbench -n -c 1 -R "$RATE" -T "$WINDOW" -f writer.sql -l --log-prefix="$1" "$PG/$DB" >/dev/null 2>&1) &
    WRITER=$!
}

# p50 p99 max of the latencies (µs, third field) in the writer's log, in ms.
latency() {
    cat "$WORK"/"$1".* | awk '{print $3}' | sort -n | awk '
        { v[NR] = $1 }
        END {
            if (NR == 0) { print "no inserts"; exit }
            printf "%d inserts, p50 %.1f ms, p99 %.1f ms, max %.1f ms", NR, v[int(NR * 0.50) + 1] / 1000, v[int(NR * 0.99) + 1] / 1000, v[NR] / 1000
        }'
}

now_ms() { date +%s%3N; }

echo "rows: $ROWS, batch size: $SIZE, writer: $RATE inserts/s for ${WINDOW}s"

setup idle
writer idle
wait "$WRITER"
echo "writer alone:         $(latency idle)"
teardown

setup batched
writer batched
start=$(now_ms)
FERRY_LOG=ferry=debug "$FERRY" --project "$WORK/project" db migrate --allow-unmanaged 2>"$WORK/ferry.log" >/dev/null || { tail -5 "$WORK/ferry.log" >&2; exit 1; }
batched_ms=$(( $(now_ms) - start ))
wait "$WRITER"
longest=$(grep 'batch committed' "$WORK/ferry.log" | sed 's/.*ms=\([0-9.]*\).*/\1/' | sort -n | tail -1)
batches=$(grep -c 'batch committed' "$WORK/ferry.log")
over=$(grep 'batch committed' "$WORK/ferry.log" | sed 's/.*ms=\([0-9.]*\).*/\1/' | awk '$1 > 100' | wc -l)
wrong=$(psql_db -tA -c "SELECT count(*) FROM tasks WHERE id <= $ROWS AND priority <> 2 * ((id % 5) + 1)")
echo "batched (ferry):      $batched_ms ms, $(( ROWS * 1000 / batched_ms )) rows/s, $batches batches, longest ${longest} ms, $over over 100 ms, $wrong rows wrong; writer: $(latency batched)"
teardown

setup single
writer single
start=$(now_ms)
psql_db -c "UPDATE tasks SET priority = priority * 2 WHERE id <= $ROWS"
single_ms=$(( $(now_ms) - start ))
wait "$WRITER"
echo "one UPDATE (psql):    $single_ms ms, $(( ROWS * 1000 / single_ms )) rows/s (its row locks held the whole time); writer: $(latency single)"

awk -v b="$batched_ms" -v s="$single_ms" 'BEGIN { printf "batched / single rows per second: %.2f\n", s / b }'
teardown
