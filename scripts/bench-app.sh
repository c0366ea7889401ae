#!/usr/bin/env bash
# The desktop app's benchmark over the 1,000,000-appeal demo database that scripts/bench.sh
# keeps in /var/tmp/dialog-bench (run that first): search-to-paint p50/p95 and resident
# memory after a scripted session, under Xvfb through tauri-driver.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/setup.sh
. scripts/setup.sh
dialog_setup "${DIALOG_TEST_PACKAGES[@]}"
target=$(realpath -m "${CARGO_TARGET_DIR:-target}")
tools=${DIALOG_TOOLS_DIR:-/var/tmp/dialog-tools}
[ -x "$tools/bin/tauri-driver" ] || cargo install -q tauri-driver --locked --version "^2" --root "$tools"
# The release binary exactly as the .deb ships it.
ui/node_modules/.bin/tauri build --no-bundle >/dev/null
dir=${DIALOG_BENCH_DIR:-/var/tmp/dialog-bench}
appeals=${DIALOG_BENCH_APPEALS:-1000000}
pg_env=$(scripts/pg-cluster.sh start "$dir/cluster" "$(dialog_free_port 25440)" --fast)
eval "$pg_env"
export DIALOG_E2E_DB=${DATABASE_URL%/postgres}/bench_$appeals
export DIALOG_E2E_APP=$target/release/dialog
export DIALOG_E2E_DRIVER=$tools/bin/tauri-driver
home=$(mktemp -d /tmp/dialog-bench-home.XXXXXX)
trap 'rm -rf "$home"' EXIT
export HOME=$home XDG_CONFIG_HOME=$home/.config XDG_DATA_HOME=$home/.local/share XDG_CACHE_HOME=$home/.cache
xvfb-run -a -s "-screen 0 1280x800x24" node tests/e2e/bench.mjs
