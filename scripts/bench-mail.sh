#!/usr/bin/env bash
# The mail intake's figures: letters a second turned into appeals by dialog-server's mail duty,
# and the time from handing a letter to the mail server to its appeal's change notification at
# an operator's listening store (what an open registry waits for), p50/p95, with IDLE. Against
# a private PostgreSQL (durable: every appeal is on disk before it counts; --fast turns that
# off) and a private Dovecot (scripts/mail-rig.sh), both on 127.0.0.1.
#   scripts/bench-mail.sh [--fast]   DIALOG_BENCH_MAIL_LETTERS=500 DIALOG_BENCH_MAIL_LATENCY=100
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/setup.sh
. scripts/setup.sh
pkgs=(openssl postgresql-client dovecot-imapd)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || pkgs+=(postgresql)
dialog_apt_install "${pkgs[@]}"

dir=$(mktemp -d /tmp/dialog-bench-mail.XXXXXX)
chmod 755 "$dir"
trap 'scripts/pg-cluster.sh stop "$dir/cluster" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
port=$(dialog_free_port 25470)
eval "$(scripts/pg-cluster.sh start "$dir/cluster" "$port" ${1:+"$1"})"
cargo bench --locked -q -p dialog-server --bench mail
