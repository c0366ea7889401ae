#!/usr/bin/env bash
# The test run proper, called by scripts/test.sh inside a network namespace with only
# loopback (scripts/in-netns.sh), after everything is built: a private PostgreSQL cluster
# (unless DATABASE_URL is given), the telephony rig, Asterisk, all Rust tests, the end-to-end
# tests of the desktop app and of the web. Stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/setup.sh
. scripts/setup.sh

cleanup=()
on_exit() {
    local i
    for ((i = ${#cleanup[@]} - 1; i >= 0; i--)); do eval "${cleanup[$i]}" || true; done
}
trap on_exit EXIT

if [ -z "${DATABASE_URL:-}" ]; then
    pgdir=$(mktemp -d /tmp/dialog-test-pg.XXXXXX)
    chmod 755 "$pgdir"
    cleanup+=("scripts/pg-cluster.sh stop '$pgdir/cluster'; rm -rf '$pgdir'")
    port=$(dialog_free_port 25432)
    echo "== private PostgreSQL on 127.0.0.1:$port"
    pg_env=$(scripts/pg-cluster.sh start "$pgdir/cluster" "$port" --fast)
    eval "$pg_env"
    # The end-to-end tests stop and start this server to show what the app does meanwhile.
    export DIALOG_TEST_PG_DIR=$pgdir/cluster DIALOG_TEST_PG_PORT=$port
fi

rigdir=$(mktemp -d /tmp/dialog-test-rig.XXXXXX)
cleanup+=("scripts/sip-rig.sh stop '$rigdir' >/dev/null 2>&1; rm -rf '$rigdir'")
echo "== telephony rig: Kamailio, rtpengine, baresip"
eval "$(scripts/sip-rig.sh start "$rigdir")"
# The telephony tests must not skip themselves here.
export DIALOG_REQUIRE_RIG=1
# Nor the mail intake's: each starts a Dovecot of its own (scripts/mail-rig.sh).
export DIALOG_REQUIRE_MAIL_RIG=1

astdir=$(mktemp -d /tmp/dialog-test-asterisk.XXXXXX)
cleanup+=("scripts/asterisk.sh stop '$astdir' >/dev/null 2>&1; rm -rf '$astdir'")
echo "== Asterisk, configured as docs/telephony.md says"
astenv=$(scripts/asterisk.sh start "$astdir")
eval "$astenv"
export DIALOG_REQUIRE_ASTERISK=1

# The cluster-wide group roles are made once, as a center's first migration makes them, before
# the tests migrate dozens of databases at the same moment.
roles_db=${DATABASE_URL%/*}/dialog_roles_$$
psql "$DATABASE_URL" -qc "create database dialog_roles_$$"
DATABASE_URL=$roles_db "$(realpath -m "${CARGO_TARGET_DIR:-target}")/debug/dialog-admin" migrate >/dev/null
psql "$DATABASE_URL" -qc "drop database dialog_roles_$$"

echo "== tests"
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --locked --offline --no-fail-fast
else
    cargo test --workspace --locked --offline --no-fail-fast
fi
echo "== end-to-end tests of the desktop app"
tests/e2e/run.sh
echo "== end-to-end tests of the web in a browser"
tests/web/run.sh
