#!/usr/bin/env bash
# The registry benchmark over a 1,000,000-appeal demo database (DIALOG_BENCH_APPEALS to
# change the size). The database is kept in /var/tmp/dialog-bench between runs, since loading
# a million appeals takes minutes; the server is stopped afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/setup.sh
. scripts/setup.sh
dialog_setup

dir=${DIALOG_BENCH_DIR:-/var/tmp/dialog-bench}
appeals=${DIALOG_BENCH_APPEALS:-1000000}
mkdir -p "$dir"
chmod 755 "$dir"
port=$(dialog_free_port 25440)
pg_env=$(scripts/pg-cluster.sh start "$dir/cluster" "$port" --fast)
eval "$pg_env"
trap 'scripts/pg-cluster.sh stop "$dir/cluster"' EXIT
base=${DATABASE_URL%/postgres}
db=bench_$appeals

cargo build --release --locked -q -p dialog-admin
admin=${CARGO_TARGET_DIR:-target}/release/dialog-admin
if ! psql "$DATABASE_URL" -Atc "select 1 from pg_database where datname = '$db'" | grep -q 1; then
    psql "$DATABASE_URL" -qc "create database $db"
    DATABASE_URL=$base/$db "$admin" migrate
    start=$(date +%s)
    DATABASE_URL=$base/$db "$admin" demo --appeals "$appeals"
    echo "demo of $appeals appeals loaded in $(($(date +%s) - start)) s"
else
    DATABASE_URL=$base/$db "$admin" migrate
fi
psql "$base/$db" -Atc "select 'database size: ' || pg_size_pretty(pg_database_size(current_database()))"
[ -n "${DIALOG_BENCH_ONLY_LOAD:-}" ] && exit 0
DATABASE_URL=$base/$db cargo bench --locked -q -p dialog-core --bench registry
