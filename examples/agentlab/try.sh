#!/bin/sh
# An AgentLab upgrade from 1.0.0 to 2.0.0, start to finish, with nothing but
# the ferry binary: install 1.0.0, see where it stands, plan the upgrade,
# migrate the config files and the database, record the release, look again.
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
run status
echo
echo "# Upgrade to the newest release: what will it take?"
run plan
echo
echo "# The policy wants a backup for a major upgrade: database and config files"
run backup create --label before-2.0.0
echo
echo "# Migrate the config files (comments and layout kept), then the database"
run config migrate
run db migrate
run adopt 2.0.0
run status
echo
echo "# Done. In $work: \`ferry config revert\` puts the config files back byte for byte,"
echo "# \`ferry db revert --to 2\` takes the database back to 1.0.0's schema."
