#!/usr/bin/env bash
# Every check and every test of Dialog, from a fresh Debian 12 machine:
#   scripts/test.sh
# Installs what is missing; checks formatting, lints (warnings are errors), TypeScript, and
# that the UI's generated types match the Rust ones; starts a private PostgreSQL cluster in a
# temporary directory (unless DATABASE_URL is given; the TLS tests then need
# DIALOG_TEST_PG_CA, the CA of that server); runs all Rust tests and the end-to-end tests of
# the real app under Xvfb; stops the cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/setup.sh
. scripts/setup.sh
dialog_setup "${DIALOG_TEST_PACKAGES[@]}"

echo "== generated TypeScript types are current"
cargo test --locked -q -p dialog-core --features ts export_bindings >/dev/null
if ! git diff --quiet -- ui/src/generated || [ -n "$(git ls-files --others --exclude-standard ui/src/generated)" ]; then
    git status --short ui/src/generated
    echo "ui/src/generated is stale: run 'cargo test -p dialog-core --features ts export_bindings' and commit it" >&2
    exit 1
fi
echo "== tsc --noEmit, UI build"
(cd ui && npx tsc --noEmit)
dialog_build_ui
echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

if [ -z "${DATABASE_URL:-}" ]; then
    pgdir=$(mktemp -d /tmp/dialog-test-pg.XXXXXX)
    chmod 755 "$pgdir"
    trap 'scripts/pg-cluster.sh stop "$pgdir/cluster"; rm -rf "$pgdir"' EXIT
    port=$(dialog_free_port 25432)
    echo "== private PostgreSQL on 127.0.0.1:$port"
    eval "$(scripts/pg-cluster.sh start "$pgdir/cluster" "$port")"
fi

echo "== tests"
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --locked --no-fail-fast
else
    cargo test --workspace --locked --no-fail-fast
fi
echo "== end-to-end tests of the desktop app"
tests/e2e/run.sh
