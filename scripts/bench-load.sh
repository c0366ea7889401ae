#!/usr/bin/env bash
# A center under load: 25, 50, 100 and 200 operators at once (registrations and searches,
# 1:10, a minute each; then registrations alone) over the 1,000,000-appeal demo database of
# scripts/bench.sh (made first when missing). Prints throughput and p50/p95/p99.
# The server is durable during the run (fsync and synchronous commit on).
#   scripts/bench-load.sh            DIALOG_LOAD_SESSIONS=25,50 DIALOG_LOAD_SECONDS=30 to shorten
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/setup.sh
. scripts/setup.sh
dialog_setup

dir=${DIALOG_BENCH_DIR:-/var/tmp/dialog-bench}
appeals=${DIALOG_BENCH_APPEALS:-1000000}
# Made when missing, brought up to the current migrations when not.
DIALOG_BENCH_ONLY_LOAD=1 scripts/bench.sh
port=$(dialog_free_port 25440)
pg_env=$(scripts/pg-cluster.sh start "$dir/cluster" "$port" --fast)
eval "$pg_env"
trap 'scripts/pg-cluster.sh stop "$dir/cluster"' EXIT
# Two hundred operators hold six hundred connections (the app's two and its listener each),
# as the README sizes a center of that size.
psql "$DATABASE_URL" -qc "alter system set max_connections = 700" >/dev/null
scripts/pg-cluster.sh stop "$dir/cluster"
# Durable, as a center runs it: every registration is on disk before it is acknowledged.
pg_env=$(scripts/pg-cluster.sh start "$dir/cluster" "$port")
eval "$pg_env"
DATABASE_URL=${DATABASE_URL%/postgres}/bench_$appeals cargo bench --locked -q -p dialog-core --bench load
