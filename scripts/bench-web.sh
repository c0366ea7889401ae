#!/usr/bin/env bash
# The web's benchmark over the 1,000,000-appeal demo database that scripts/bench.sh keeps in
# /var/tmp/dialog-bench (run that first): dialog-server's web (release build) on loopback,
# Debian's Chromium headless. Prints
#   - sign-in → the desktop painted (its templates counted) in the browser, p50/p95, as the manager and the supervisor;
#   - a registry page over HTTP, p50/p95 of the server's own time (Server-Timing);
#   - the server's resident memory idle and with 100 people signed in, each with a page
#     listening to live changes (100 supervisors web001… are added to the database once).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/setup.sh
. scripts/setup.sh
dialog_setup chromium
dialog_build_ui
target=$(realpath -m "${CARGO_TARGET_DIR:-target}")
dir=${DIALOG_BENCH_DIR:-/var/tmp/dialog-bench}
appeals=${DIALOG_BENCH_APPEALS:-1000000}
[ -d "$dir/cluster/data" ] || { echo "Нет базы $dir: сначала scripts/bench.sh" >&2; exit 1; }
cargo build --release --locked -q -p dialog-server -p dialog-admin

port=$(dialog_free_port 25440)
pg_env=$(scripts/pg-cluster.sh start "$dir/cluster" "$port" --fast)
eval "$pg_env"
work=$(mktemp -d /tmp/dialog-bench-web.XXXXXX)
server_pid=
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    scripts/pg-cluster.sh stop "$dir/cluster"
    rm -rf "$work"
}
trap cleanup EXIT
# A hundred people hold three hundred connections (two for commands and one for live changes each).
if [ "$(psql "$DATABASE_URL" -Atc "show max_connections")" -lt 600 ]; then
    psql "$DATABASE_URL" -qc "alter system set max_connections = 600" >/dev/null
    scripts/pg-cluster.sh stop "$dir/cluster"
    pg_env=$(scripts/pg-cluster.sh start "$dir/cluster" "$port" --fast)
    eval "$pg_env"
fi
db=bench_$appeals
url=${DATABASE_URL%/postgres}/$db
export DIALOG_BENCH_WEB_PASSWORD=bench-web-2026
have=$(psql "$url" -Atc "select count(*) from staff where login like 'web___'")
if [ "$have" -lt 100 ]; then
    for i in $(seq -f %03g 1 100); do
        psql "$url" -Atc "select 1 from staff where login = 'web$i'" | grep -q 1 && continue
        DATABASE_URL=$url "$target/release/dialog-admin" user add "web$i" --role supervisor \
            --full-name "Проверка Веба $i" --password-env DIALOG_BENCH_WEB_PASSWORD >/dev/null
    done
fi

web_port=$(dialog_free_port 28600)
cat >"$work/server.toml" <<CONF
[database]
host = "127.0.0.1"
port = $port
name = "$db"
tls = false

[web]
listen = "127.0.0.1:$web_port"
ui_dir = "$PWD/ui/dist"
state_dir = "$work/state"
CONF
"$target/release/dialog-server" --config "$work/server.toml" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do dialog_port_in_use "$web_port" && break; sleep 0.1; done
echo "database: $(psql "$url" -Atc "select count(*) from appeals") appeals; web: release build, https://127.0.0.1:$web_port"
DIALOG_WEB_PORT=$web_port DIALOG_WEB_CERT=$work/state/web-selfsigned.pem DIALOG_WEB_DB=$url \
    DIALOG_WEB_SERVER_PID=$server_pid node tests/web/bench.mjs
