#!/usr/bin/env bash
# Runs Dialog from a fresh Debian 12 machine, as root or as a user:
#   scripts/run.sh
# Builds the desktop app and opens it. With DATABASE_URL set (the owner role of a Dialog
# database), first brings that database's schema up to date. Without it, keeps a private,
# durable PostgreSQL (started on every run, left running) in ~/.local/share/dialog/postgres —
# for root in /var/lib/dialog/postgres, where the server's own 'postgres' user can reach it —
# fills it once with the demo city (DIALOG_DEMO_APPEALS appeals, 20000 by default), and prints
# how to log in. DIALOG_DATA_DIR moves it; DIALOG_PG_PORT chooses its port (25431). On the
# demo city it also starts dialog-server's web (the same Dialog in a browser, for managers and
# supervisors) on https://127.0.0.1:8443 (DIALOG_WEB_PORT) and prints its address.
#
# DIALOG_BIN_DIR: a folder with dialog, dialog-admin and dialog-server already built (a
# package, a CI build); then nothing is built. DIALOG_UI_DIR: the built UI for the web
# (ui/dist by default).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/setup.sh
. scripts/setup.sh

if [ -n "${DIALOG_BIN_DIR:-}" ]; then
    dialog_run_packages
    admin=$DIALOG_BIN_DIR/dialog-admin
    app=$DIALOG_BIN_DIR/dialog
    server=$DIALOG_BIN_DIR/dialog-server
else
    dialog_setup
    dialog_build_ui
    cargo build --locked -q -p dialog -p dialog-admin -p dialog-server
    admin=${CARGO_TARGET_DIR:-target}/debug/dialog-admin
    app=${CARGO_TARGET_DIR:-target}/debug/dialog
    server=${CARGO_TARGET_DIR:-target}/debug/dialog-server
fi
ui_dir=$(realpath -m "${DIALOG_UI_DIR:-ui/dist}")

# dialog-server's web on the private database: the same Dialog in a browser. Its certificate
# is self-signed (made once, kept in $1/web); it stops with this terminal's session, or with
# `kill $(cat $1/web/server.pid)`.
start_web() {
    local dir=$1/web pg_port=$2
    if [ ! -x "$server" ] || [ ! -f "$ui_dir/index.html" ]; then
        echo "Веб-версия не запущена: нет $server или собранного интерфейса $ui_dir/index.html" >&2
        return 0
    fi
    mkdir -p "$dir"
    chmod 700 "$dir"
    # The web of an earlier run (if that process is still dialog-server) gives way.
    local old
    old=$(cat "$dir/server.pid" 2>/dev/null || true)
    if [ -n "$old" ] && tr '\0' ' ' <"/proc/$old/cmdline" 2>/dev/null | grep -q "dialog-server --config $dir/server.toml"; then
        kill "$old" 2>/dev/null || true
        sleep 0.5
    fi
    web_port=$(dialog_free_port "${DIALOG_WEB_PORT:-8443}")
    cat >"$dir/server.toml" <<CONF
[database]
host = "127.0.0.1"
port = $pg_port
name = "dialog"
tls = false

[web]
listen = "127.0.0.1:$web_port"
ui_dir = "$ui_dir"
state_dir = "$dir"
CONF
    nohup "$server" --config "$dir/server.toml" >"$dir/server.log" 2>&1 &
    echo $! >"$dir/server.pid"
    for _ in $(seq 50); do
        dialog_port_in_use "$web_port" && break
        kill -0 "$(cat "$dir/server.pid")" 2>/dev/null || break
        sleep 0.1
    done
    if ! dialog_port_in_use "$web_port"; then
        echo "Веб-версия не запустилась (журнал: $dir/server.log)" >&2
        tail -n 5 "$dir/server.log" >&2
        return 0
    fi
    web_url=https://127.0.0.1:$web_port
    web_fingerprint=$(openssl x509 -in "$dir/web-selfsigned.pem" -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2)
}

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
web_url=
start_web "$data" "$port"
cat <<INFO

Диалог работает на частной базе PostgreSQL: адрес сервера 127.0.0.1:$port/dialog.
Сотрудники демонстрационного города (пароль у всех dialog-demo): admin — администратор,
starshiy — старший диспетчер, operator1, operator2, operator3 — диспетчеры,
manager — представитель УК «Северная». Войдите в открывшемся окне, например как operator1.
Администрирование: DATABASE_URL=\$(scripts/pg-cluster.sh url "$data/postgres")/dialog $admin --help
Остановить сервер: scripts/pg-cluster.sh stop "$data/postgres"
INFO
if [ -n "$web_url" ]; then
    cat <<INFO

Диалог в браузере (для представителей УК и старших диспетчеров): $web_url
Сертификат самоподписанный — браузер предупредит; его отпечаток SHA-256: $web_fingerprint
Остановить веб-версию: kill \$(cat "$data/web/server.pid")
INFO
fi
open_app "127.0.0.1:$port/dialog"
