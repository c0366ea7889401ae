#!/usr/bin/env bash
# Every check and every test of Dialog, from a fresh Debian 12 machine:
#   scripts/test.sh
# Installs what is missing; checks formatting, lints (warnings are errors), TypeScript, that
# the UI's generated types match the Rust ones, and that .sqlx/ is current; starts a private
# PostgreSQL cluster in a temporary directory (unless DATABASE_URL is given; the TLS tests
# then need DIALOG_TEST_PG_CA, the CA of that server); runs all Rust tests and the end-to-end
# tests of the real app under Xvfb and of the web in Debian's Chromium; stops the cluster. The
# tests run in a private network namespace (scripts/in-netns.sh) with the telephony rig
# (scripts/sip-rig.sh) and a real Asterisk (scripts/asterisk.sh: built once into
# /var/tmp/dialog-asterisk, or DIALOG_ASTERISK) in it.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/setup.sh
. scripts/setup.sh
dialog_setup "${DIALOG_TEST_PACKAGES[@]}" "${DIALOG_ASTERISK_PACKAGES[@]}"

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
# The query macros build from .sqlx/ (SQLX_OFFLINE in .cargo/config.toml): it must be what
# the migrations give. sqlx-cli is built once and kept outside the clone, like tauri-driver.
tools=${DIALOG_TOOLS_DIR:-/var/tmp/dialog-tools}
if [ "$("$tools/bin/sqlx" --version 2>/dev/null)" != "sqlx-cli $DIALOG_SQLX_CLI_VERSION" ]; then
    echo "== sqlx-cli $DIALOG_SQLX_CLI_VERSION into $tools"
    cargo install -q --locked sqlx-cli --version "$DIALOG_SQLX_CLI_VERSION" --no-default-features \
        --features postgres,rustls --root "$tools"
fi
scripts/sqlx-check.sh

# Everything that needs the network (crates, npm, tauri-driver) is fetched and built above and
# here; the tests then run in a network namespace with only loopback, where the telephony rig
# lives and where ICE can offer no other address.
echo "== building the tests"
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --locked --no-run
else
    cargo test --workspace --locked --no-run
fi
tests/e2e/run.sh prepare
tests/web/run.sh prepare
echo "== Asterisk for the telephony tests (built once, then reused)"
scripts/asterisk.sh build >/dev/null
echo "== the README's first command, as root and as a new user"
tests/first-run.sh
exec scripts/in-netns.sh scripts/test-inside.sh
