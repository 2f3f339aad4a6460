#!/bin/sh
# The real tools, where the package registries carry them, on ferry's
# fixtures (crates/ferry/tests/fixtures/foreign): each applies the first
# migrations of its folder to a fresh SQLite database and to a fresh
# PostgreSQL database, writing its history table its own way; then ferry
# imports the same folder, adopts that history and must find exactly those
# migrations applied and the rest pending, and `ferry db migrate` must apply
# only the rest.
#
#   pip install alembic sqlalchemy psycopg2-binary      # alembic
#   npm install -g dbmate                               # dbmate
#   cargo install sqlx-cli --no-default-features --features sqlite,postgres,rustls
#   bench/real-tools.sh
#
# A tool that is not installed is reported and left out. The CI tests build
# the same history tables from each tool's documented DDL instead, so that
# CI needs none of these tools.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT="$HERE/.."
FIX="$ROOT/crates/ferry/tests/fixtures/foreign"
WORK="$HERE/work/real-tools"
PG=${PG:-postgres://postgres@127.0.0.1:5432}
cd "$ROOT"
if [ -z "${FERRY:-}" ]; then
    cargo build -q -p ferry-cli
    FERRY="$ROOT/target/debug/ferry"
fi
rm -rf "$WORK"
mkdir -p "$WORK"
failed=0

# A ferry project in $1 for database $2 with the fixture of tool $3 imported.
project() {
    mkdir -p "$1"
    printf '[project]\nname = "real-tools"\n\n[database]\nurl = "%s"\n' "$2" > "$1/ferry.toml"
    src="$FIX/$3"
    [ "$3" = alembic ] && src="$FIX/alembic/versions"
    "$FERRY" --project "$1" import --from "$3" "$src" > /dev/null
}

# ferry adopts tool $2's history in project $1: $3 applied, then migrates.
check() {
    out=$("$FERRY" --project "$1" db adopt --from "$2" --json) || { echo "  FAILED: adopt"; failed=1; return; }
    n=$(printf '%s' "$out" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["adopted"]))')
    if [ "$n" != "$3" ]; then
        echo "  FAILED: adopted $n, expected $3"; failed=1; return
    fi
    if "$FERRY" --project "$1" db migrate > /dev/null && "$FERRY" --project "$1" db status > /dev/null; then
        echo "  ok: $3 adopted, the rest applied by ferry"
    else
        echo "  FAILED: migrate after adopt"; failed=1
    fi
}

pgdb() {
    psql -q -X "$PG/postgres" -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" 2>/dev/null
    echo "$PG/$1"
}

# The first $2 files of folder $1 (sorted), copied to $3.
first_files() {
    mkdir -p "$3"
    ls "$1" | sort | head -n "$2" | while read -r f; do cp -R "$1/$f" "$3/"; done
}

if command -v alembic > /dev/null; then
    for engine in sqlite postgres; do
        echo "alembic on $engine"
        w="$WORK/alembic-$engine"
        mkdir -p "$w"
        (cd "$w" && alembic init env > /dev/null)
        cp "$FIX"/alembic/versions/*.py "$w/env/versions/"
        if [ "$engine" = sqlite ]; then url="sqlite:///$w/app.db"; ferry_url="sqlite://$w/app.db"; else
            ferry_url=$(pgdb ferry_real_alembic); url=$(echo "$ferry_url" | sed 's|^postgres://|postgresql+psycopg2://|'); fi
        sed -i "s|^sqlalchemy.url = .*|sqlalchemy.url = $url|" "$w/alembic.ini"
        # Up to the email branch: two revisions.
        (cd "$w" && alembic upgrade 2b3c4d5e6f7a > /dev/null 2>&1)
        project "$w/ferry" "$ferry_url" alembic
        check "$w/ferry" alembic 2
    done
else
    echo "alembic: not installed (pip install alembic sqlalchemy psycopg2-binary)"
fi

if command -v dbmate > /dev/null; then
    for engine in sqlite postgres; do
        echo "dbmate on $engine"
        w="$WORK/dbmate-$engine"
        first_files "$FIX/dbmate" 2 "$w/first"
        if [ "$engine" = sqlite ]; then url="sqlite:$w/app.db"; ferry_url="sqlite://$w/app.db"; else
            ferry_url=$(pgdb ferry_real_dbmate); url="$ferry_url?sslmode=disable"; fi
        dbmate --url "$url" --migrations-dir "$w/first" --no-dump-schema up > /dev/null
        project "$w/ferry" "$ferry_url" dbmate
        check "$w/ferry" dbmate 2
    done
else
    echo "dbmate: not installed (npm install -g dbmate)"
fi

SQLX=${SQLX:-$(command -v sqlx || true)}
if [ -n "$SQLX" ]; then
    for engine in sqlite postgres; do
        echo "sqlx on $engine"
        w="$WORK/sqlx-$engine"
        first_files "$FIX/sqlx" 4 "$w/first"   # two reversible pairs
        if [ "$engine" = sqlite ]; then url="sqlite://$w/app.db?mode=rwc"; ferry_url="sqlite://$w/app.db"; else
            ferry_url=$(pgdb ferry_real_sqlx); url="$ferry_url"; fi
        "$SQLX" migrate run --source "$w/first" --database-url "$url" > /dev/null
        project "$w/ferry" "$ferry_url" sqlx
        check "$w/ferry" sqlx 2
    done
else
    echo "sqlx: not installed (cargo install sqlx-cli --no-default-features --features sqlite,postgres,rustls)"
fi

exit $failed
