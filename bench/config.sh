#!/bin/sh
# Config migrations at scale: the AgentLab example with N profiles (every one
# renamed by the 2.0.0 release), timing a dry run, the migration (each file
# written beside its original, synced, renamed; originals recorded) and the
# revert. Release build; RUNS runs; medians.
#
#   bench/config.sh               # N=1000 profiles, 5 runs
#   N=100 RUNS=3 bench/config.sh
set -eu
N=${N:-1000}
RUNS=${RUNS:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build -q --release -p ferry-cli --manifest-path "$root/Cargo.toml"
ferry="$root/target/release/ferry"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -R "$root/examples/agentlab/." "$work"
rm -rf "$work"/agentlab.db* "$work/.ferry"
i=0
while [ "$i" -lt "$N" ]; do
    cp "$work/profiles/gpu.yaml" "$work/profiles/p$i.yaml"
    i=$((i + 1))
done

ms() { # milliseconds a command takes
    start=$(date +%s%N)
    "$@" >/dev/null
    end=$(date +%s%N)
    echo $(((end - start) / 1000000))
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

dry="" mig="" rev=""
r=0
while [ "$r" -lt "$RUNS" ]; do
    dry="$dry $(ms "$ferry" --project "$work" config migrate --from 1.0.0 --dry-run)"
    mig="$mig $(ms "$ferry" --project "$work" config migrate --from 1.0.0)"
    rev="$rev $(ms "$ferry" --project "$work" config revert)"
    r=$((r + 1))
done
echo "N=$((N + 3)) config files ($N profiles), $RUNS runs, medians:"
echo "  dry run (read, edit, check, diff): $(echo $dry | tr ' ' '\n' | median) ms"
echo "  migrate (and record originals):    $(echo $mig | tr ' ' '\n' | median) ms"
echo "  revert:                            $(echo $rev | tr ' ' '\n' | median) ms"
