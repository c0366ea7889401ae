#!/usr/bin/env bash
# End-to-end tests of dialog-server's web in a real browser: Debian's Chromium, headless,
# driven by playwright-core (no browser is downloaded). Needs DATABASE_URL: a superuser of a
# PostgreSQL server (scripts/test.sh starts one). Starts dialog-server's web duty on a demo
# city of its own, with a self-signed certificate it makes itself; screenshots go to
# $target/e2e-screens/web-*.png.
#   tests/web/run.sh prepare   # only builds (before the tests leave the network)
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/setup.sh
. scripts/setup.sh
target=$(realpath -m "${CARGO_TARGET_DIR:-target}")
[ -f ui/dist/index.html ] || dialog_build_ui
cargo build --locked -q -p dialog-server -p dialog-admin
[ "${1:-}" = prepare ] && exit 0
command -v chromium >/dev/null || { echo "Нужен Chromium из Debian: apt-get install chromium" >&2; exit 1; }

base=${DATABASE_URL%/*}
db=dialog_web_$$
work=$(mktemp -d /tmp/dialog-web-e2e.XXXXXX)
server_pid=
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    psql "$DATABASE_URL" -qc "drop database if exists $db with (force)" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
psql "$DATABASE_URL" -qc "create database $db"
DATABASE_URL=$base/$db "$target/debug/dialog-admin" migrate >/dev/null
DATABASE_URL=$base/$db "$target/debug/dialog-admin" demo --appeals 3000 --quiet >/dev/null

hostport=${base#*@}
hostport=${hostport%%/*}
port=$(dialog_free_port 28443)
cat >"$work/server.toml" <<CONF
[database]
host = "${hostport%:*}"
port = ${hostport##*:}
name = "$db"
tls = false

[web]
listen = "127.0.0.1:$port"
ui_dir = "$PWD/ui/dist"
state_dir = "$work/state"
CONF
DIALOG_LOG=${DIALOG_LOG:-info} "$target/debug/dialog-server" --config "$work/server.toml" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
    dialog_port_in_use "$port" && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
    sleep 0.1
done

export DIALOG_WEB_PORT=$port
export DIALOG_WEB_DB=$base/$db
export DIALOG_WEB_CERT=$work/state/web-selfsigned.pem
export DIALOG_WEB_LOG=$work/server.log
export DIALOG_E2E_SCREENS=$target/e2e-screens
mkdir -p "$DIALOG_E2E_SCREENS"
rm -f "$DIALOG_E2E_SCREENS"/web-*.png
node --test --test-force-exit --test-concurrency=1 tests/web/ || { tail -n 50 "$work/server.log" >&2; exit 1; }
