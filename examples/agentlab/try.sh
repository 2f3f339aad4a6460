#!/bin/sh
# An AgentLab upgrade from 1.0.0 to 2.0.0 and back, with nothing but the
# ferry binary: install 1.0.0, see where it stands and what the upgrade
# takes, upgrade in one journaled run, look at the journal, roll back.
#
# It runs in a scratch copy of this folder, so the example stays as it is.
# FERRY=/path/to/ferry picks the binary (default: this checkout's debug build).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
ferry=${FERRY:-$here/../../target/debug/ferry}
work=$(mktemp -d "${TMPDIR:-/tmp}/agentlab.XXXXXX")
cp -R "$here/." "$work"
rm -rf "$work"/agentlab.db* "$work/.ferry" "$work/try.sh"
cd "$work"

run() {
    printf '\n$ ferry %s\n' "$*"
    "$ferry" "$@"
}

echo "# AgentLab 1.0.0 is installed in $work: its SQLite database, config.yaml, profiles/"
run db migrate --to 2
run adopt 1.0.0
run status
echo
echo "# Upgrade to the newest release: what will it take?"
run plan
echo
echo "# Before upgrading: do the down scripts really undo their ups, and how"
echo "# long does the upgrade take? Both on scratch copies; the live database"
echo "# and files are only read."
run db verify
run rehearse --from-live
echo
echo "# One command does it all, journaled step by step: pre-flight checks,"
echo "# the backup the policy requires (verified), the config files (comments"
echo "# and layout kept), the database, the release recorded. A failure rolls"
echo "# everything back by itself; a killed run resumes with --resume."
run upgrade --yes
run status
echo
echo "# The journal, one line per step as it started and ended, kept in the"
echo "# database beside its history (any copy of the project pointed at the"
echo "# database sees it, resumes it or rolls it back):"
printf '\n$ ferry runs last --journal | cut -c1-110\n'
"$ferry" runs last --journal | cut -c1-110
echo
echo "# Changed our minds: back to 1.0.0, the least destructive way (down"
echo "# scripts here; the run's backup when they cannot restore it exactly)."
run rollback --yes
run status
echo
echo "# Done. The scratch copy is in $work."
