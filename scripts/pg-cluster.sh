#!/usr/bin/env bash
# A private PostgreSQL cluster for tests and local runs, made with the machine's initdb.
#   scripts/pg-cluster.sh start DIR PORT   -> prints shell lines to eval (DATABASE_URL, ...)
#   scripts/pg-cluster.sh stop DIR
# The cluster listens on 127.0.0.1 only, requires SCRAM passwords, and offers TLS with a
# self-signed certificate (DIR/ca.crt) for the host names localhost and 127.0.0.1.
set -euo pipefail

pg_bin() {
    local d
    for d in /usr/lib/postgresql/*/bin; do
        [ -x "$d/initdb" ] && { echo "$d"; return; }
    done
    command -v initdb >/dev/null && dirname "$(command -v initdb)" && return
    echo "PostgreSQL server binaries (initdb) not found: install the 'postgresql' package" >&2
    exit 1
}

# initdb refuses to run as root: run the server as the 'postgres' system user then.
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

start() {
    local dir=$1 port=$2 bin
    bin=$(pg_bin)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    local password=dialog-owner-secret
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        rm -rf "$dir/data"
        printf '%s\n' "$password" >"$dir/pwfile"
        # A self-signed server certificate (as many centers run), for TLS tests and local runs
        # over TLS; it is its own authority, so ca.crt is the same certificate.
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=localhost" \
            -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -addext "basicConstraints=critical,CA:FALSE" \
            -addext "keyUsage=digitalSignature,keyEncipherment" -addext "extendedKeyUsage=serverAuth" \
            -keyout "$dir/server.key" -out "$dir/server.crt" 2>/dev/null
        cp "$dir/server.crt" "$dir/ca.crt"
        chmod 600 "$dir/server.key"
        [ "$(id -u)" = 0 ] && chown -R postgres "$dir"
        as_owner "$bin/initdb" -D "$dir/data" -U postgres --pwfile="$dir/pwfile" --auth=scram-sha-256 \
            --locale=C.UTF-8 --encoding=UTF8 >"$dir/initdb.log"
        cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 300
shared_buffers = 512MB
work_mem = 16MB
maintenance_work_mem = 512MB
fsync = off
synchronous_commit = off
full_page_writes = off
ssl = on
ssl_cert_file = '$dir/server.crt'
ssl_key_file = '$dir/server.key'
log_min_messages = warning
CONF
        printf 'local all all scram-sha-256\nhost all all 127.0.0.1/32 scram-sha-256\n' >"$dir/data/pg_hba.conf"
    fi
    if as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
        # Already running: report the port it was started on.
        port=$(sed -n 4p "$dir/data/postmaster.pid")
    else
        as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -o "-p $port" -w -t 60 start >/dev/null
    fi
    echo "export DATABASE_URL=postgres://postgres:$password@127.0.0.1:$port/postgres"
    echo "export DIALOG_TEST_PG_CA=$dir/ca.crt"
}

stop() {
    local dir=$1 bin
    bin=$(pg_bin)
    [ -f "$dir/data/PG_VERSION" ] || return 0
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}

case "${1:-}" in
    start) start "$2" "$3" ;;
    stop) stop "$2" ;;
    *) echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
