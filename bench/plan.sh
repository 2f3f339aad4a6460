#!/bin/sh
# `ferry status` and `ferry plan` with many migrations and releases: N
# migrations (N=10000), R releases (R=500, one every N/R migrations), the
# database at the oldest release, on SQLite and PostgreSQL; and `ferry plan
# --from` without a database. Each command runs RUNS times (default 11),
# interleaved; the median and the spread (min-max) are printed, in ms.
# "cold" is `plan --from` with the script cache (.ferry/cache/) deleted
# first, as on the first run after a checkout: it reads every up file and
# writes the cache again. With hyperfine installed, the three warm commands
# are also timed without a shell in the way (RUNS*3 runs each).
#
#   bench/plan.sh                  # N=10000 R=500
#   N=2000 R=100 bench/plan.sh     # quicker
#   FERRY=/path/to/ferry bench/plan.sh   # no build
set -eu

N=${N:-10000}
R=${R:-500}
RUNS=${RUNS:-11}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$HERE/.."
if [ -z "${FERRY:-}" ]; then
    cargo build -q --release -p ferry-cli
    FERRY="$PWD/target/release/ferry"
fi
WORK=$(mktemp -d "$HERE/work/plan.XXXXXX" 2>/dev/null || { mkdir -p "$HERE/work"; mktemp -d "$HERE/work/plan.XXXXXX"; })
DB="ferry_bench_plan_$$"
trap 'psql -q -X "$PG/postgres" -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1; rm -rf "$WORK"' EXIT

P="$WORK/project"
mkdir -p "$P/migrations" "$P/releases"
python3 - "$P" "$N" "$R" <<'PY'
import sys, os
p, n, r = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(1, n + 1):
    with open(f"{p}/migrations/{i:05d}_m{i}.up.sql", "w") as f:
        f.write(f"CREATE TABLE t{i} (id INTEGER PRIMARY KEY, v TEXT);\n")
    with open(f"{p}/migrations/{i:05d}_m{i}.down.sql", "w") as f:
        f.write(f"DROP TABLE t{i};\n")
step = n // r
for k in range(r):
    major, minor = divmod(k, 20)
    with open(f"{p}/releases/{major + 1}.{minor}.0.toml", "w") as f:
        f.write(f'version = "{major + 1}.{minor}.0"\nschema = {(k + 1) * step}\n')
PY

ms() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {printf "%d (%d-%d)", a[int((NR+1)/2)], a[1], a[NR]}'; }

setup() { # url
    printf '[database]\nurl = "%s"\n' "$1" >"$P/ferry.toml"
    "$FERRY" --project "$P" db migrate --to $((N / R)) >/dev/null
    "$FERRY" --project "$P" adopt 1.0.0 >/dev/null
}

time_cmds() { # label, then commands separated by ';' are fixed below
    label=$1
    : >"$WORK/status" ; : >"$WORK/plan" ; : >"$WORK/from" ; : >"$WORK/cold"
    i=0
    while [ "$i" -lt "$RUNS" ]; do
        t0=$(ms); "$FERRY" --project "$P" status >/dev/null || true; t1=$(ms)
        echo $(((t1 - t0) / 1000000)) >>"$WORK/status"
        t0=$(ms); "$FERRY" --project "$P" plan >/dev/null; t1=$(ms)
        echo $(((t1 - t0) / 1000000)) >>"$WORK/plan"
        t0=$(ms); "$FERRY" --project "$P" plan --from 1.0.0 >/dev/null; t1=$(ms)
        echo $(((t1 - t0) / 1000000)) >>"$WORK/from"
        rm -rf "$P/.ferry/cache"
        t0=$(ms); "$FERRY" --project "$P" plan --from 1.0.0 >/dev/null; t1=$(ms)
        echo $(((t1 - t0) / 1000000)) >>"$WORK/cold"
        i=$((i + 1))
    done
    echo "$label: status $(median <"$WORK/status") · plan $(median <"$WORK/plan") · plan --from (no database) $(median <"$WORK/from") · cold $(median <"$WORK/cold")"
    # The times above include starting `date` twice and the shell's fork
    # and exec: a few ms of each. hyperfine, when installed, times the
    # process alone (no shell), after warm-up runs.
    if command -v hyperfine >/dev/null; then
        hyperfine -N -w 3 -r "$((RUNS * 3))" --export-json "$WORK/h.json" \
            "$FERRY --project $P status" "$FERRY --project $P plan" "$FERRY --project $P plan --from 1.0.0" >/dev/null 2>&1
        python3 - "$WORK/h.json" "$label" <<'PY'
import json, sys
rs = json.load(open(sys.argv[1]))["results"]
names = ["status", "plan", "plan --from"]
print(f"{sys.argv[2]}, hyperfine ({len(rs[0]['times'])} runs, no shell): " + " · ".join(
    f"{n} {r['median'] * 1000:.1f} ({r['min'] * 1000:.1f}-{r['max'] * 1000:.1f})" for n, r in zip(names, rs)))
PY
    fi
}

echo "N=$N migrations, R=$R releases, RUNS=$RUNS; median (min-max) ms"
# Files changed in the last two seconds are not cached: a checkout is older.
sleep 2
setup "sqlite://$WORK/bench.db"
time_cmds SQLite
psql -q -X "$PG/postgres" -c "CREATE DATABASE $DB"
setup "$PG/$DB"
time_cmds PostgreSQL
