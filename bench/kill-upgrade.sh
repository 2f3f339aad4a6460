#!/usr/bin/env bash
# Upgrades killed at random: RUNS times (default 24), a two-hop upgrade on
# PostgreSQL with slow migrations (the second hop's without a transaction,
# with CREATE INDEX CONCURRENTLY), a backup and hooks is started and killed
# with `kill -9` after a random delay; then it is resumed (even runs) or
# rolled back (odd runs), and the outcome is checked: the installed
# release, the schema, every row and the config file are exactly those of a
# finished upgrade, or exactly those from before it; a rollback always ends
# before it, a resume after it unless the kill landed inside the migration
# without a transaction (which ferry cannot finish by itself: the resumed run
# fails there and rolls back to before, from the backup); no ferry, pg_dump
# or psql process and no advisory lock outlives it; `ferry status` is clean.
# The deterministic version of this (a crash at every journal record and
# inside every step, on every engine) runs in CI; this is the long random one.
#
#   bench/kill-upgrade.sh                 # RUNS=24
#   RUNS=5 FERRY=/path/to/ferry bench/kill-upgrade.sh
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-24}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
WORK=$PWD/bench/work/kill-upgrade
if [ -z "${FERRY:-}" ]; then
    cargo build -q -p ferry-cli
    FERRY=$PWD/target/debug/ferry
fi
rm -rf "$WORK"
mkdir -p "$WORK"

project() { # folder, database url
    mkdir -p "$1/migrations" "$1/releases"
    cat > "$1/ferry.toml" <<EOF
[project]
name = "shop"
[database]
url = "$2"
[config]
dir = "."
[backup]
files = ["app.env"]
[policy.minor]
backup = "required"
[[hooks]]
when = "before"
run = "echo before \$FERRY_HOP_TO >> hooks.log"
[[hooks]]
when = "after"
run = "echo after \$FERRY_HOP_TO >> hooks.log"
[[checks]]
name = "no item is lost"
sql = "SELECT count(*) FROM items"
expect = "20000"
EOF
    printf '# settings\nA=1\nAPI_TOKEN=tok-secret\n' > "$1/app.env"
    printf 'version = "1.0.0"\nschema = 1\n' > "$1/releases/1.0.0.toml"
    printf 'version = "1.1.0"\nschema = 2\n[[config]]\nfile = "app.env"\nadd = "UNIT"\nvalue = "cm"\n' > "$1/releases/1.1.0.toml"
    printf 'version = "1.2.0"\nschema = 3\nupgrade_from = ">=1.1.0"\n[[config]]\nfile = "app.env"\nrename = "A"\nto = "ALPHA"\n' > "$1/releases/1.2.0.toml"
    printf 'CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\nINSERT INTO items SELECT g, %s FROM generate_series(1, 20000) g;\n' "'item ' || g" > "$1/migrations/0001_items.up.sql"
    printf 'DROP TABLE items;\n' > "$1/migrations/0001_items.down.sql"
    printf 'ALTER TABLE items ADD COLUMN size INTEGER;\nUPDATE items SET size = id * 10;\nSELECT pg_sleep(0.7);\n' > "$1/migrations/0002_size.up.sql"
    printf 'ALTER TABLE items DROP COLUMN size;\n' > "$1/migrations/0002_size.down.sql"
    printf -- '-- ferry:no-transaction\nCREATE TABLE tags (id INTEGER PRIMARY KEY, item_id INTEGER NOT NULL);\nSELECT pg_sleep(0.7);\nCREATE INDEX CONCURRENTLY tags_item ON tags (item_id);\n' > "$1/migrations/0003_tags.up.sql"
    printf 'DROP TABLE tags;\n' > "$1/migrations/0003_tags.down.sql"
}

# Everything that must be exactly one of two states.
state() { # folder, database
    {
        psql -qtA "$PG/$2" -c "SELECT string_agg(table_name, ',' ORDER BY table_name) FROM information_schema.tables WHERE table_schema = 'public'"
        psql -qtA "$PG/$2" -c "SELECT count(*), sum(id) FROM items"
        psql -qtA "$PG/$2" -c "SELECT string_agg(version || ':' || success, ',' ORDER BY version) FROM ferry_history"
        psql -qtA "$PG/$2" -c "SELECT version FROM ferry_release ORDER BY seq DESC LIMIT 1" 2>/dev/null || true
        psql -qtA "$PG/$2" -c "SELECT count(*) FROM information_schema.columns WHERE table_name = 'items' AND column_name = 'size'"
        cat "$1/app.env"
    } | md5sum | cut -c1-12
}

# The two states to compare with, made once by runs that are not killed.
db=ferry_kill_ref_$$
psql -q "$PG/postgres" -c "CREATE DATABASE $db"
project "$WORK/ref" "$PG/$db"
"$FERRY" --project "$WORK/ref" db migrate --to 1 > /dev/null
"$FERRY" --project "$WORK/ref" adopt 1.0.0 > /dev/null
BEFORE=$(state "$WORK/ref" "$db")
"$FERRY" --project "$WORK/ref" upgrade --yes > /dev/null
AFTER=$(state "$WORK/ref" "$db")
psql -q "$PG/postgres" -c "DROP DATABASE $db WITH (FORCE)"
echo "before: $BEFORE, after: $AFTER"

declare -A OUTCOMES
failures=0
for run in $(seq 1 "$RUNS"); do
    db=ferry_kill_${$}_$run
    dir=$WORK/run-$run
    psql -q "$PG/postgres" -c "CREATE DATABASE $db"
    project "$dir" "$PG/$db"
    "$FERRY" --project "$dir" db migrate --to 1 > /dev/null
    "$FERRY" --project "$dir" adopt 1.0.0 > /dev/null
    delay=$(awk -v r="$RANDOM" 'BEGIN { printf "%.2f", (r % 300) / 100 }')
    "$FERRY" --project "$dir" upgrade --yes > "$dir/run.log" 2>&1 &
    pid=$!
    sleep "$delay"
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    at=$(jq -r '.upgrade.state + " " + ((.upgrade.hop // "") | tostring) + " " + (.upgrade.step // "")' < <("$FERRY" --project "$dir" status --json 2>/dev/null || true))
    if [ $((run % 2)) -eq 0 ]; then
        how=resume; want=$AFTER
        if [ "${at%% *}" != done ]; then "$FERRY" --project "$dir" upgrade --resume > "$dir/after.log" 2>&1 || true; fi
    else
        how=rollback; want=$BEFORE
        if [ "${at%% *}" = done ]; then
            "$FERRY" --project "$dir" rollback --yes > "$dir/after.log" 2>&1 || true
        else
            "$FERRY" --project "$dir" upgrade --rollback > "$dir/after.log" 2>&1 || true
        fi
    fi
    got=$(state "$dir" "$db")
    sleep 0.2
    left=$(pgrep -f "ferry --project $dir|pg_dump.*$db|psql.*$db" | grep -v "^$$\$" || true)
    locks=$(psql -qtA "$PG/$db" -c "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")
    clean=$("$FERRY" --project "$dir" status > /dev/null 2>&1 && echo clean || echo TROUBLED)
    verdict=ok
    if [ "$how" = resume ] && [ "$got" = "$BEFORE" ] && [ "$at" = "running 2 migrate" ] && grep -q "rolled back" "$dir/after.log"; then
        want=$BEFORE; verdict="ok (resume failed in the no-transaction migration and rolled back)"
    fi
    if [ "$got" != "$want" ] || [ -n "$left" ] || [ "$locks" != 0 ] || [ "$clean" != clean ]; then
        verdict=FAILED; failures=$((failures + 1))
    fi
    OUTCOMES["$at"]=$(( ${OUTCOMES["$at"]:-0} + 1 ))
    printf 'run %2d: killed after %ss at [%s], %s: state %s, processes left [%s], advisory locks %s, status %s: %s\n' \
        "$run" "$delay" "$at" "$how" "$([ "$got" = "$want" ] && echo as-wanted || echo "$got")" "$left" "$locks" "$clean" "$verdict"
    psql -q "$PG/postgres" -c "DROP DATABASE $db WITH (FORCE)"
done
echo
echo "where the kills landed:"
for k in "${!OUTCOMES[@]}"; do printf '  %-28s %s\n' "$k" "${OUTCOMES[$k]}"; done
echo "$RUNS runs, $failures inconsistent"
[ "$failures" -eq 0 ]
