#!/usr/bin/env bash
# Config migrations at scale: the AgentLab example with N more profiles
# (every one renamed twice by the 2.0.0 release), `ferry config migrate
# --from 1.0.0` against a durable floor doing the same renames
# (bench/config_floor.py: read, rename as text, record the original and
# write the new file with an fsync each, rename, fsync each folder), in
# PAIRS interleaved pairs; between runs the files are put back (not timed).
# The dry run and the revert are timed too, for the record.
#
#   bench/config.sh                        # N=1000, PAIRS=11
#   N=100 PAIRS=5 bench/config.sh
#   FERRY=/path/to/ferry bench/config.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000}
PAIRS=${PAIRS:-11}
WORK=$PWD/bench/work/config-$$
if [ -z "${FERRY:-}" ]; then
    cargo build -q --release -p ferry-cli
    FERRY=$PWD/target/release/ferry
fi
. bench/lib.sh
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK"
cp -R examples/agentlab/. "$WORK/ferry"
rm -rf "$WORK/ferry"/agentlab.db* "$WORK/ferry/.ferry" "$WORK/ferry/try.sh"
for i in $(seq 1 "$N"); do cp "$WORK/ferry/profiles/gpu.yaml" "$WORK/ferry/profiles/p$i.yaml"; done
cp -R "$WORK/ferry" "$WORK/floor"
floor="python3 bench/config_floor.py"

ferry_side() {
    timed ferry.migrate "$FERRY" --project "$WORK/ferry" config migrate --from 1.0.0
    timed ferry.revert "$FERRY" --project "$WORK/ferry" config revert
}
floor_side() {
    timed floor.migrate $floor "$WORK/floor" "$WORK/floor-record" template_vm=template_vmid cpu=cores
    $floor --restore "$WORK/floor" "$WORK/floor-record"
    rm -rf "$WORK/floor-record"
}
for pair in $(seq 1 "$PAIRS"); do
    echo "pair $pair/$PAIRS" >&2
    timed ferry.dry "$FERRY" --project "$WORK/ferry" config migrate --from 1.0.0 --dry-run
    if [ $((pair % 2)) -eq 1 ]; then ferry_side; floor_side; else floor_side; ferry_side; fi
done
printf '\n%s config files (%s more profiles), %s pairs, ms (median, then every run)\n\n' "$((N + 3))" "$N" "$PAIRS"
table
echo
pairs "config migrate, ferry / durable floor" ferry.migrate floor.migrate 1.1
