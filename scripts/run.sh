#!/usr/bin/env bash
# Runs Dialog from a fresh Debian 12 machine, as root or as a user:
#   scripts/run.sh
# Builds the desktop app and opens it. With DATABASE_URL set (the owner role of a Dialog
# database), first brings that database's schema up to date. Without it, keeps a private,
# durable PostgreSQL (started on every run, left running) in ~/.local/share/dialog/postgres —
# for root in /var/lib/dialog/postgres, where the server's own 'postgres' user can reach it —
# fills it once with the demo city (DIALOG_DEMO_APPEALS appeals, 20000 by default), and prints
# how to log in. DIALOG_DATA_DIR moves it; DIALOG_PG_PORT chooses its port (25431).
#
# DIALOG_BIN_DIR: a folder with dialog and dialog-admin already built (a package, a CI build);
# then nothing is built.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/setup.sh
. scripts/setup.sh

if [ -n "${DIALOG_BIN_DIR:-}" ]; then
    dialog_run_packages
    admin=$DIALOG_BIN_DIR/dialog-admin
    app=$DIALOG_BIN_DIR/dialog
else
    dialog_setup
    dialog_build_ui
    cargo build --locked -q -p dialog -p dialog-admin
    admin=${CARGO_TARGET_DIR:-target}/debug/dialog-admin
    app=${CARGO_TARGET_DIR:-target}/debug/dialog
fi

open_app() {
    if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
        echo "Нет графического сеанса (DISPLAY): запустите $app из рабочего стола." >&2
        return 0
    fi
    DIALOG_SERVER=$1 exec "$app"
}

if [ -n "${DATABASE_URL:-}" ]; then
    "$admin" migrate
    echo "База данных готова. Сотрудников добавляет администратор: $admin user add --help"
    open_app "$(psql "$DATABASE_URL" -Atc "select inet_server_addr() || ':' || inet_server_port() || '/' || current_database()" 2>/dev/null || true)"
    exit 0
fi

if [ "$(id -u)" = 0 ]; then
    data=${DIALOG_DATA_DIR:-/var/lib/dialog}
else
    data=${DIALOG_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/dialog}
fi
mkdir -p "$data"
chmod 700 "$data"
# As root the server runs as 'postgres', which must reach its folder; nobody else may.
if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
    chown postgres "$data"
fi
port=${DIALOG_PG_PORT:-25431}
pg_env=$(scripts/pg-cluster.sh start "$data/postgres" "$port") || {
    echo "Не удалось запустить сервер PostgreSQL в $data/postgres (журнал: $data/postgres/server.log)" >&2
    exit 1
}
eval "$pg_env"
owner_url=$DATABASE_URL
base=${owner_url%/postgres}
if ! psql "$owner_url" -Atc "select 1 from pg_database where datname = 'dialog'" | grep -q 1; then
    psql "$owner_url" -qc "create database dialog"
    DATABASE_URL=$base/dialog "$admin" migrate
    DATABASE_URL=$base/dialog "$admin" demo --appeals "${DIALOG_DEMO_APPEALS:-20000}"
else
    DATABASE_URL=$base/dialog "$admin" migrate
fi
port=${base##*:}
cat <<INFO

Диалог работает на частной базе PostgreSQL: адрес сервера 127.0.0.1:$port/dialog.
Сотрудники демонстрационного города (пароль у всех dialog-demo): admin — администратор,
starshiy — старший диспетчер, operator1, operator2, operator3 — диспетчеры,
manager — представитель УК «Северная». Войдите в открывшемся окне, например как operator1.
Администрирование: DATABASE_URL=\$(scripts/pg-cluster.sh url "$data/postgres")/dialog $admin --help
Остановить сервер: scripts/pg-cluster.sh stop "$data/postgres"
INFO
open_app "127.0.0.1:$port/dialog"
