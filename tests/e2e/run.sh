#!/usr/bin/env bash
# End-to-end tests of the real desktop app under Xvfb, driven through tauri-driver.
# Needs DATABASE_URL: a superuser of a PostgreSQL server (scripts/test.sh starts one), and
# the telephony rig's variables (scripts/sip-rig.sh) for the call tests.
# Screenshots of the login, registry and card screens go to $target/e2e-screens.
set -euo pipefail
cd "$(dirname "$0")/../.."
target=$(realpath -m "${CARGO_TARGET_DIR:-target}")
tools=${DIALOG_TOOLS_DIR:-/var/tmp/dialog-tools}

# tauri-driver is built once and kept outside the clone.
if [ ! -x "$tools/bin/tauri-driver" ]; then
    cargo install -q tauri-driver --locked --version "^2" --root "$tools"
fi
cargo build --locked -q -p dialog -p dialog-admin
# `run.sh prepare` only fetches and builds (scripts/test.sh does it before it leaves the network).
[ "${1:-}" = prepare ] && exit 0

base=${DATABASE_URL%/*}
db=dialog_e2e_$$
psql "$DATABASE_URL" -qc "create database $db"
trap 'psql "$DATABASE_URL" -qc "drop database if exists $db with (force)" >/dev/null 2>&1 || true' EXIT
DATABASE_URL=$base/$db "$target/debug/dialog-admin" migrate >/dev/null
DATABASE_URL=$base/$db "$target/debug/dialog-admin" demo --appeals 3000 --quiet >/dev/null
# The Kamailio rig has no PBX bridge: this center trusts the operators' recordings, as an admin
# would choose for one without it.
DATABASE_URL=$base/$db "$target/debug/dialog-admin" call-evidence app >/dev/null

export DIALOG_E2E_DB=$base/$db
export DIALOG_E2E_APP=$target/debug/dialog
export DIALOG_E2E_DRIVER=$tools/bin/tauri-driver
export DIALOG_E2E_SCREENS=$target/e2e-screens
export DIALOG_E2E_PORT=${DIALOG_E2E_PORT:-24444}
rm -rf "$DIALOG_E2E_SCREENS"
# The app's settings, trusted certificates and web storage live in a home of the run's own.
home=$(mktemp -d /tmp/dialog-e2e-home.XXXXXX)
trap 'rm -rf "$home"; psql "$DATABASE_URL" -qc "drop database if exists $db with (force)" >/dev/null 2>&1 || true' EXIT
export HOME=$home XDG_CONFIG_HOME=$home/.config XDG_DATA_HOME=$home/.local/share XDG_CACHE_HOME=$home/.cache
mkdir -p "$XDG_CONFIG_HOME" "$XDG_DATA_HOME" "$XDG_CACHE_HOME"
# A session bus with an unlocked GNOME Keyring: the Secret Service a desktop would have.
dbus-run-session -- sh -c '
    echo -n e2e-keyring | gnome-keyring-daemon --unlock --components=secrets >/dev/null
    xvfb-run -a -s "-screen 0 1280x800x24" node --test --test-force-exit --test-concurrency=1 tests/e2e/'

