#!/usr/bin/env bash
# A private PostgreSQL cluster for local runs, tests and benchmarks, made with the machine's
# initdb.
#   scripts/pg-cluster.sh start DIR PORT [--fast]  -> prints shell lines to eval (DATABASE_URL, ...)
#   scripts/pg-cluster.sh stop DIR
#   scripts/pg-cluster.sh url DIR                   -> the superuser's address (for dialog-admin)
#
# The cluster listens on 127.0.0.1 only, requires SCRAM passwords and offers TLS with a
# self-signed certificate (DIR/ca.crt) for the host names localhost and 127.0.0.1. Its
# superuser's password is made at random when the cluster is made and kept in
# DIR/superuser-password, readable by the cluster's owner only; DIR itself is closed to other
# users. As root the server runs as the 'postgres' system user, which then owns DIR: choose a
# DIR that user can reach (not under root's home).
#
# Durable by default: a crash of the machine or the server loses nothing that was committed.
# --fast (tests and benchmarks only) trades that for speed: fsync, synchronous_commit and
# full_page_writes off.
set -euo pipefail

pg_bin() {
    local d
    for d in /usr/lib/postgresql/*/bin; do
        [ -x "$d/initdb" ] && { echo "$d"; return; }
    done
    command -v initdb >/dev/null && dirname "$(command -v initdb)" && return
    echo "Не найдены программы сервера PostgreSQL (initdb): установите пакет postgresql" >&2
    exit 1
}

# initdb refuses to run as root: run the server as the 'postgres' system user then.
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# Whether the server's user can reach DIR (every folder above it must let it through).
reachable() {
    as_owner test -x "$1" 2>/dev/null
}

# Durability (or its absence) lives in a file of its own, included last, so that a cluster
# made by an older version of this script becomes durable on its next start.
write_mode() {
    local dir=$1 fast=$2
    if [ "$fast" = 1 ]; then
        printf '# Tests and benchmarks only: a crash may lose committed transactions.\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\n'
    else
        printf '# Durable: what was committed survives a crash.\nfsync = on\nsynchronous_commit = on\nfull_page_writes = on\n'
    fi >"$dir/data/dialog-mode.conf"
    grep -q "^include_if_exists = 'dialog-mode.conf'" "$dir/data/postgresql.conf" ||
        echo "include_if_exists = 'dialog-mode.conf'" >>"$dir/data/postgresql.conf"
}

start() {
    local dir=$1 port=$2 fast=${3:-0} bin password
    bin=$(pg_bin)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    umask 077
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
        chown postgres "$dir"
        if ! reachable "$dir"; then
            echo "Папка $dir недоступна системному пользователю postgres, от имени которого работает сервер." >&2
            echo "Выберите папку вне домашнего каталога root, например /var/lib/dialog/postgres." >&2
            exit 1
        fi
    fi
    chmod 700 "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        rm -rf "$dir/data"
        password=$(openssl rand -hex 24)
        (umask 077 && printf '%s\n' "$password" >"$dir/superuser-password")
        # A self-signed server certificate (as many centers run), for TLS tests and local runs
        # over TLS; it is its own authority, so ca.crt is the same certificate.
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=localhost" \
            -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -addext "basicConstraints=critical,CA:FALSE" \
            -addext "keyUsage=digitalSignature,keyEncipherment" -addext "extendedKeyUsage=serverAuth" \
            -keyout "$dir/server.key" -out "$dir/server.crt" 2>/dev/null
        cp "$dir/server.crt" "$dir/ca.crt"
        chmod 600 "$dir/server.key"
        chmod 644 "$dir/ca.crt" "$dir/server.crt"
        [ "$(id -u)" = 0 ] && chown -R postgres "$dir"
        as_owner "$bin/initdb" -D "$dir/data" -U postgres --pwfile="$dir/superuser-password" --auth=scram-sha-256 \
            --locale=C.UTF-8 --encoding=UTF8 >"$dir/initdb.log"
        cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 300
shared_buffers = 512MB
work_mem = 16MB
maintenance_work_mem = 512MB
ssl = on
ssl_cert_file = '$dir/server.crt'
ssl_key_file = '$dir/server.key'
log_min_messages = warning
CONF
        printf 'local all all scram-sha-256\nhost all all 127.0.0.1/32 scram-sha-256\n' >"$dir/data/pg_hba.conf"
    fi
    write_mode "$dir" "$fast"
    [ "$(id -u)" = 0 ] && chown postgres "$dir/data/dialog-mode.conf"
    # A server that was just killed may still show as running for a moment: wait until it
    # either answers or is gone.
    local i
    for i in $(seq 100); do
        as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1 || break
        "$bin/pg_isready" -q -h 127.0.0.1 -p "$(sed -n 4p "$dir/data/postmaster.pid" 2>/dev/null || echo "$port")" && break
        sleep 0.3
    done
    if as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
        # Already running: report the port it was started on, and take the mode now.
        port=$(sed -n 4p "$dir/data/postmaster.pid")
        as_owner "$bin/pg_ctl" -D "$dir/data" reload >/dev/null
    else
        as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -o "-p $port" -w -t 60 start >/dev/null
    fi
    secure_old_layout "$dir" "$port"
    password=$(cat "$dir/superuser-password")
    echo "export DATABASE_URL=postgres://postgres:$password@127.0.0.1:$port/postgres"
    echo "export DIALOG_TEST_PG_CA=$dir/ca.crt"
}

# A cluster made by an older version of this script kept a fixed superuser password in a file
# others could read: give it a new random one, kept privately.
secure_old_layout() {
    local dir=$1 port=$2 password
    [ -f "$dir/pwfile" ] || return 0
    password=$(openssl rand -hex 24)
    PGPASSWORD=$(cat "$dir/pwfile") psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -qAt \
        -c "alter role postgres password '$password'" >/dev/null
    (umask 077 && printf '%s\n' "$password" >"$dir/superuser-password")
    [ "$(id -u)" = 0 ] && chown postgres "$dir/superuser-password"
    rm -f "$dir/pwfile"
}

stop() {
    local dir=$1 bin
    bin=$(pg_bin)
    [ -f "$dir/data/PG_VERSION" ] || return 0
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}

url() {
    local dir=$1 port
    port=$(sed -n 4p "$dir/data/postmaster.pid" 2>/dev/null) || true
    [ -n "$port" ] || { echo "Сервер в $dir не запущен: scripts/pg-cluster.sh start $dir PORT" >&2; exit 1; }
    echo "postgres://postgres:$(cat "$dir/superuser-password")@127.0.0.1:$port"
}

case "${1:-}" in
    start)
        fast=0
        [ "${4:-}" = --fast ] && fast=1
        start "$2" "$3" "$fast"
        ;;
    stop) stop "$2" ;;
    url) url "$2" ;;
    *) echo "usage: $0 start DIR PORT [--fast] | stop DIR | url DIR" >&2; exit 2 ;;
esac
