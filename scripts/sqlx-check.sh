#!/usr/bin/env bash
# Checks that .sqlx/, the data the query macros (sqlx::query!) build from, is what a database
# with the migrations says of every query of every crate and target; a query left in .sqlx/
# that no code runs fails too. Uses DATABASE_URL (a superuser's) when given, otherwise a
# private PostgreSQL cluster in a temporary directory, stopped at the end. Needs sqlx-cli
# (scripts/test.sh installs it into /var/tmp/dialog-tools, or DIALOG_TOOLS_DIR).
#   scripts/sqlx-check.sh          check
#   scripts/sqlx-check.sh write    write .sqlx/ anew (then commit it)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/setup.sh
. scripts/setup.sh
tools=${DIALOG_TOOLS_DIR:-/var/tmp/dialog-tools}
export PATH=$tools/bin:$PATH

[ "${1:-}" = write ] || echo "== .sqlx is what the migrations give the query macros (cargo sqlx prepare --check)"

cleanup=()
on_exit() {
    local i
    for ((i = ${#cleanup[@]} - 1; i >= 0; i--)); do eval "${cleanup[$i]}" || true; done
}
trap on_exit EXIT

if [ -z "${DATABASE_URL:-}" ]; then
    pgdir=$(mktemp -d /tmp/dialog-sqlx-pg.XXXXXX)
    chmod 755 "$pgdir"
    cleanup+=("scripts/pg-cluster.sh stop '$pgdir/cluster'; rm -rf '$pgdir'")
    eval "$(scripts/pg-cluster.sh start "$pgdir/cluster" "$(dialog_free_port 25432)" --fast)"
fi
db=dialog_sqlx_$$
psql "$DATABASE_URL" -qc "create database $db"
cleanup+=("psql '$DATABASE_URL' -qc 'drop database if exists $db with (force)' >/dev/null 2>&1")
export DATABASE_URL=${DATABASE_URL%/*}/$db
sqlx migrate run --source migrations >/dev/null

if [ "${1:-}" = write ]; then
    cargo sqlx prepare --workspace -- --workspace --all-targets --locked
    exit 0
fi
out=$(cargo sqlx prepare --workspace --check -- --workspace --all-targets --locked 2>&1) || {
    echo "$out" >&2
    echo ".sqlx is stale: run scripts/sqlx-check.sh write and commit .sqlx" >&2
    exit 1
}
if grep -q "potentially unused queries" <<<"$out"; then
    echo ".sqlx holds queries no code runs: run scripts/sqlx-check.sh write and commit .sqlx" >&2
    exit 1
fi
