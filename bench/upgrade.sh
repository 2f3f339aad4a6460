#!/usr/bin/env bash
# What the journaled run costs over its parts: `ferry upgrade --yes` against
# the sum of `ferry backup create` + `ferry config migrate` + `ferry db migrate`
# run by hand, side by side in one run, on
#   sqlite:   the AgentLab example with 1,000 extra migrations (SQLite),
#   postgres: the same project on PostgreSQL with a table of about SIZE_MB
#             (default 200) of data.
# Each pair starts from the same installed state (1.0.0, config files as
# shipped, a fresh copy of the database made before the timer); the order of
# the two alternates from pair to pair. ferry upgrade also verifies its
# backup (a full read of the archive and the dump), takes its locks, runs
# pre-flight and post checks and journals every step; the sum by hand does
# none of that.
#
#   bench/upgrade.sh                       # PAIRS=11, SIZE_MB=200
#   PAIRS=3 SIZE_MB=50 bench/upgrade.sh
#   FERRY=/path/to/ferry bench/upgrade.sh  # no build
set -euo pipefail
cd "$(dirname "$0")/.."

PAIRS=${PAIRS:-11}
SIZE_MB=${SIZE_MB:-200}
EXTRA=${EXTRA:-1000}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
WORK=$PWD/bench/work/upgrade
if [ -z "${FERRY:-}" ]; then
    cargo build -q --release -p ferry-cli
    FERRY=$PWD/target/release/ferry
fi
rm -rf "$WORK"
mkdir -p "$WORK"
TAG=$$

# --- the project: AgentLab with EXTRA more migrations in 2.0.0
proj=$WORK/project
cp -R examples/agentlab "$proj"
rm -rf "$proj"/agentlab.db* "$proj/.ferry" "$proj/try.sh"
for i in $(seq 4 $((EXTRA + 3))); do
    v=$(printf '%04d' "$i")
    printf 'CREATE TABLE extra_%s (id INTEGER PRIMARY KEY, name VARCHAR(40));\nCREATE INDEX extra_%s_name ON extra_%s (name);\n' "$i" "$i" "$i" > "$proj/migrations/${v}_extra_$i.up.sql"
    printf 'DROP TABLE extra_%s;\n' "$i" > "$proj/migrations/${v}_extra_$i.down.sql"
done
sed -i "s/^schema = 3$/schema = $((EXTRA + 3))/" "$proj/releases/2.0.0.toml"

now() { date +%s%N; }
declare -A T
timed() { local key=$1; shift; local s; s=$(now); "$@" > "$WORK/last.log" 2>&1 || { echo "FAILED: $key" >&2; cat "$WORK/last.log" >&2; exit 1; }; T[$key]="${T[$key]:-} $(( ($(now) - s) / 1000000 ))"; }

# A copy of the project ($3, default the SQLite one) at 1.0.0 on the
# database URL $2, in folder $1.
fresh() {
    rm -rf "$1"
    cp -R "${3:-$proj}" "$1"
    DATABASE_URL=$2 "$FERRY" --project "$1" db migrate --to 2 > /dev/null
    DATABASE_URL=$2 "$FERRY" --project "$1" adopt 1.0.0 > /dev/null
}

# The same project for PostgreSQL: AgentLab's SQLite dialect, translated.
pgproj=$WORK/project-pg
cp -R "$proj" "$pgproj"
sed -i -e 's/INTEGER PRIMARY KEY AUTOINCREMENT/BIGSERIAL PRIMARY KEY/' \
    -e "s/DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))/DEFAULT (now()::text)/" "$pgproj"/migrations/000[123]_*.sql

# --- PostgreSQL: a template database at 1.0.0 with SIZE_MB of data; each
# timed run gets its own copy (CREATE DATABASE ... TEMPLATE), dropped after.
ROWS=$(( SIZE_MB * 1024 * 1024 / 230 ))
TEMPLATE=ferry_bench_upgrade_tpl_$TAG
psql -q "$PG/postgres" -c "CREATE DATABASE $TEMPLATE"
fresh "$WORK/tpl" "$PG/$TEMPLATE" "$pgproj"
psql -q "$PG/$TEMPLATE" -c "CREATE TABLE bench_events (id BIGINT PRIMARY KEY, host TEXT, payload TEXT, n BIGINT);
  INSERT INTO bench_events SELECT x, 'host-' || (x % 97), md5(random()::text) || md5(random()::text) || md5(random()::text) || ' status=ok region=eu-west-1 agent=collector', x * 7 FROM generate_series(1, $ROWS) x;
" > /dev/null
psql -q "$PG/$TEMPLATE" -c "VACUUM ANALYZE bench_events" > /dev/null
psql -qtA "$PG/$TEMPLATE" -c "SELECT 'postgres database: ' || pg_size_pretty(pg_database_size(current_database()))" >&2
cleanup() { psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $TEMPLATE WITH (FORCE)" 2>/dev/null || true; }
trap cleanup EXIT

pg_copy() { psql -q "$PG/postgres" -c "CREATE DATABASE $1 TEMPLATE $TEMPLATE"; }
pg_drop() { psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)"; }

by_hand() { # folder, url
    DATABASE_URL=$2 "$FERRY" --project "$1" backup create --label before-2.0.0 &&
    DATABASE_URL=$2 "$FERRY" --project "$1" config migrate --from 1.0.0 &&
    DATABASE_URL=$2 "$FERRY" --project "$1" db migrate
}
upgrade() { # folder, url
    DATABASE_URL=$2 "$FERRY" --project "$1" upgrade --yes
}

for pair in $(seq 1 "$PAIRS"); do
    echo "pair $pair/$PAIRS" >&2
    for engine in sqlite postgres; do
        order="hand upgrade"
        [ $((pair % 2)) -eq 0 ] && order="upgrade hand"
        for who in $order; do
            dir=$WORK/$engine-$who
            if [ "$engine" = sqlite ]; then
                url="sqlite://$dir/agentlab.db"
                fresh "$dir" "$url"
            else
                db=ferry_bench_upgrade_${TAG}_$who
                pg_drop "$db"; pg_copy "$db"
                url="$PG/$db"
                rm -rf "$dir"; cp -R "$WORK/tpl" "$dir"; rm -rf "$dir/.ferry"
            fi
            sync
            if [ "$who" = hand ]; then timed "$engine.hand" by_hand "$dir" "$url"; else timed "$engine.upgrade" upgrade "$dir" "$url"; fi
            [ "$engine" = postgres ] && pg_drop "$db"
        done
    done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
m() { echo "${T[$1]}" | median; }
printf '\n%s pairs, milliseconds, side by side in one run (medians, then every run)\n\n' "$PAIRS"
for key in $(printf '%s\n' "${!T[@]}" | sort); do printf '%-18s %8s   %s\n' "$key" "$(m "$key")" "${T[$key]}"; done
echo
for engine in sqlite postgres; do
    read -ra H <<< "${T[$engine.hand]}"
    read -ra U <<< "${T[$engine.upgrade]}"
    ratios=$(for i in "${!H[@]}"; do awk -v a="${U[$i]}" -v b="${H[$i]}" 'BEGIN { printf "%.3f\n", a / b }'; done | sort -n)
    med=$(echo "$ratios" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    lo=$(echo "$ratios" | head -1); hi=$(echo "$ratios" | tail -1)
    wins=$(echo "$ratios" | awk '$1 <= 1.05 {n++} END {print n+0}')
    echo "$engine: upgrade / (backup + config + db migrate) = $med (min $lo, max $hi; $wins of ${#H[@]} pairs within 1.05; goal <= 1.05)"
done
