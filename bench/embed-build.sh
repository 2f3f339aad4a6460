#!/bin/sh
# The cost of embedding ferry: examples/embedded-app's normal dependency
# tree and its clean debug build time, at BEFORE (a git revision; default
# cd3e0e0, the last one before the core was split off) and at the working
# tree, built in turn RUNS times (default 3) with fresh target folders.
#
#   bench/embed-build.sh            # cd3e0e0 against the working tree
#   BEFORE=HEAD~5 RUNS=5 bench/embed-build.sh
set -eu
cd "$(dirname "$0")/.."
before=${BEFORE:-cd3e0e0}
runs=${RUNS:-3}
work=$(mktemp -d "${TMPDIR:-/tmp}/ferry-embed-build.XXXXXX")
trap 'git worktree remove --force "$work/before" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git worktree add -q --detach "$work/before" "$before"

crates() { (cd "$1" && cargo tree -q -e normal -p embedded-app --prefix none | awk '{print $1}' | sort -u | wc -l); }
echo "embedded-app's normal tree: $(crates "$work/before") crates at $before, $(crates .) now"
for heavy in tar zstd ureq toml_edit yaml-edit jsonc-parser; do
    now=$(cd . && cargo tree -q -e normal -p embedded-app --prefix none | awk '{print $1}' | grep -cx "$heavy" || true)
    echo "  $heavy: $([ "$now" -gt 0 ] && echo present || echo absent) now"
done

for i in $(seq 1 "$runs"); do
    for side in before now; do
        dir=.; [ "$side" = before ] && dir="$work/before"
        rm -rf "$work/target-$side"
        s=$(date +%s.%N)
        (cd "$dir" && CARGO_TARGET_DIR="$work/target-$side" cargo build -q -p embedded-app)
        e=$(date +%s.%N)
        printf '%s run %d: %.1f s\n' "$side" "$i" "$(echo "$e - $s" | bc)"
    done
done
