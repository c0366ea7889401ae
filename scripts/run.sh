#!/usr/bin/env bash
# Runs Dialog from a fresh Debian 12 machine:
#   scripts/run.sh
# With DATABASE_URL set (the owner role of a Dialog database), brings that database's schema
# up to date. Without it, keeps a private PostgreSQL in ~/.local/share/dialog/postgres
# (started on every run, left running), fills it once with the demo city
# (DIALOG_DEMO_APPEALS appeals, 20000 by default), and prints how to log in.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/setup.sh
. scripts/setup.sh
dialog_setup

cargo build --locked -q -p dialog-admin
admin=${CARGO_TARGET_DIR:-target}/debug/dialog-admin

if [ -n "${DATABASE_URL:-}" ]; then
    "$admin" migrate
    echo "База данных готова. Сотрудников добавляет администратор: $admin user add --help"
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

Диалог работает на частной базе PostgreSQL: 127.0.0.1:$port, база dialog.
Сотрудники демонстрационного города (пароль у всех dialog-demo): admin — администратор,
starshiy — старший диспетчер, operator1, operator2, operator3 — диспетчеры,
manager — представитель УК «Северная». Например:
  psql "postgres://operator1:dialog-demo@127.0.0.1:$port/dialog"
Администрирование: DATABASE_URL=$base/dialog $admin --help
Остановить сервер: scripts/pg-cluster.sh stop "$data/postgres"
INFO
