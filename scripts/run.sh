#!/usr/bin/env bash
# Runs Dialog from a fresh Debian 12 machine:
#   scripts/run.sh
# Builds the desktop app and opens it. With DATABASE_URL set (the owner role of a Dialog
# database), first brings that database's schema up to date. Without it, keeps a private
# PostgreSQL in ~/.local/share/dialog/postgres (started on every run, left running), fills
# it once with the demo city (DIALOG_DEMO_APPEALS appeals, 20000 by default), and prints how
# to log in.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/setup.sh
. scripts/setup.sh
dialog_setup

dialog_build_ui
cargo build --locked -q -p dialog -p dialog-admin
admin=${CARGO_TARGET_DIR:-target}/debug/dialog-admin
app=${CARGO_TARGET_DIR:-target}/debug/dialog

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

data=${DIALOG_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/dialog}
mkdir -p "$data"
chmod 755 "$data"
port=${DIALOG_PG_PORT:-25431}
eval "$(scripts/pg-cluster.sh start "$data/postgres" "$port")"
owner_url=$DATABASE_URL
base=${owner_url%/postgres}
if ! psql "$owner_url" -Atc "select 1 from pg_database where datname = 'dialog'" | grep -q 1; then
    psql "$owner_url" -qc "create database dialog"
    DATABASE_URL=$base/dialog "$admin" migrate
    DATABASE_URL=$base/dialog "$admin" demo --appeals "${DIALOG_DEMO_APPEALS:-20000}"
else
    DATABASE_URL=$base/dialog "$admin" migrate
fi
cat <<INFO

Диалог работает на частной базе PostgreSQL: адрес сервера 127.0.0.1:$port/dialog.
Сотрудники демонстрационного города (пароль у всех dialog-demo): admin — администратор,
starshiy — старший диспетчер, operator1, operator2, operator3 — диспетчеры,
manager — представитель УК «Северная». Войдите в открывшемся окне, например как operator1.
Администрирование: DATABASE_URL=$base/dialog $admin --help
Остановить сервер: scripts/pg-cluster.sh stop "$data/postgres"
INFO
open_app "127.0.0.1:$port/dialog"
