#!/usr/bin/env bash
# The README's first command (scripts/run.sh) on a machine that never ran Dialog: as root,
# whose home nobody else may enter, and as a new user. Each time the private PostgreSQL must
# come up closed to other users and durable, the demo city must be loaded and its people able
# to log in, the app must open on it (a screenshot of each goes to
# $target/e2e-screens/first-run-*.png) and the web answer at the address printed. Needs root (it makes the user); scripts/test.sh runs
# it after the build. The root run builds as the README's command does; the user's run takes
# the binaries just built (DIALOG_BIN_DIR), since Rust lives in root's home here.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/setup.sh
. scripts/setup.sh
[ "$(id -u)" = 0 ] || { echo "tests/first-run.sh needs root: it makes a user of its own" >&2; exit 1; }
target=$(realpath -m "${CARGO_TARGET_DIR:-target}")
screens=$target/e2e-screens
mkdir -p "$screens"
work=$(mktemp -d /var/tmp/dialog-first-run.XXXXXX)
chmod 755 "$work"
user=dialogfr$$
cleanup=("rm -rf '$work'")
on_exit() {
    local i
    for ((i = ${#cleanup[@]} - 1; i >= 0; i--)); do eval "${cleanup[$i]}" || true; done
}
trap on_exit EXIT
fail() {
    echo "first run: $*" >&2
    exit 1
}

# A display for the app.
display=$(( 90 + $$ % 100 ))
Xvfb ":$display" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
cleanup+=("kill $!")
for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X$display" ] && break; sleep 0.1; done
chmod 777 "/tmp/.X11-unix/X$display" 2>/dev/null || true

# Runs scripts/run.sh as $1 (root or the user) with the given environment; waits for the
# app's window; checks the database it made; leaves a screenshot.
first_run() {
    local who=$1 data=$2 port=$3 shot=$4 clone=$5
    shift 5
    local log=$work/$who.log runner=()
    [ "$who" = root ] || runner=(runuser -u "$who" --)
    # A session of its own, so that the app and everything it started end together.
    (cd "$clone" && exec setsid "${runner[@]}" env "$@" DISPLAY=":$display" DIALOG_PG_PORT="$port" \
        DIALOG_DEMO_APPEALS=400 scripts/run.sh >"$log" 2>&1) &
    local pid=$! t0=$SECONDS
    cleanup+=("kill -- -$pid 2>/dev/null; ${runner[*]} '$clone/scripts/pg-cluster.sh' stop '$data/postgres'")
    local shown=
    for _ in $(seq 600); do
        if xwininfo -display ":$display" -root -tree 2>/dev/null | grep -q '"Диалог"'; then
            shown=1
            break
        fi
        kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; fail "$who: scripts/run.sh ended before the app opened"; }
        sleep 0.5
    done
    [ -n "$shown" ] || { cat "$log" >&2; fail "$who: the app's window did not open"; }
    sleep 3
    import -display ":$display" -window root "$screens/$shot" 2>/dev/null || true
    grep -q "127.0.0.1:$port/dialog" "$log" || fail "$who: the login details were not printed"
    # The same Dialog in a browser: dialog-server's web answers at the address printed.
    local web
    web=$(grep -o 'https://127.0.0.1:[0-9]*' "$log" | head -n 1)
    [ -n "$web" ] || { cat "$log" >&2; fail "$who: the web's address was not printed"; }
    curl -sfk "$web/" | grep -q '<title>Диалог</title>' || fail "$who: the web at $web does not answer"

    # The cluster: closed to other users, with a private superuser password, durable.
    local dir=$data/postgres
    [ "$(stat -c %a "$dir")" = 700 ] || fail "$who: $dir is open to others ($(stat -c %a "$dir"))"
    [ "$(stat -c %a "$dir/superuser-password")" = 600 ] || fail "$who: the superuser password is readable by others"
    if runuser -u nobody -- cat "$dir/superuser-password" >/dev/null 2>&1; then
        fail "$who: another user read the superuser password"
    fi
    local url
    url=$(scripts/pg-cluster.sh url "$dir")
    [ "$(psql "$url/postgres" -Atc "select string_agg(setting, ',' order by name) from pg_settings where name in ('fsync', 'full_page_writes', 'synchronous_commit')")" = on,on,on ] ||
        fail "$who: the private database is not durable"
    # The demo city, and its people log in as themselves.
    local appeals
    appeals=$(PGPASSWORD=dialog-demo psql -h 127.0.0.1 -p "$port" -U operator1 -d dialog -Atc "select count(*) from dialog_registry(null, null, null, null, 500)")
    [ "$appeals" -gt 0 ] || fail "$who: operator1 sees no appeals of the demo city"
    if PGPASSWORD=dialog-owner-secret psql -h 127.0.0.1 -p "$port" -U postgres -d dialog -Atc "select 1" >/dev/null 2>&1; then
        fail "$who: the old fixed superuser password works"
    fi
    kill -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    echo "first run as $who: in $((SECONDS - t0)) s the app opened on the demo city ($appeals appeals on operator1's first page), database private and durable"
}

# As root, with a home nobody else may enter, exactly as the README says (it builds).
root_home=$work/root-home
mkdir -m 700 "$root_home"
first_run root "$work/root-data" "$(dialog_free_port 25531)" first-run-root.png "$PWD" \
    HOME="$root_home" DIALOG_DATA_DIR="$work/root-data" \
    RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"

# As a new user, from a clone of their own.
useradd --create-home --home-dir "$work/home-$user" --shell /bin/bash "$user"
cleanup+=("pkill -u '$user'; sleep 1; pkill -9 -u '$user'; userdel '$user'")
chmod 700 "$work/home-$user"
clone=$work/home-$user/dialog
git clone -q --no-hardlinks "$PWD" "$clone"
bins=$work/bin
mkdir -p "$bins"
cp "$target/debug/dialog" "$target/debug/dialog-admin" "$target/debug/dialog-server" "$bins/"
cp -r ui/dist "$bins/ui"
chmod -R a+rX "$bins"
chown -R "$user" "$clone"
first_run "$user" "$work/home-$user/.local/share/dialog" "$(dialog_free_port 25541)" first-run-user.png "$clone" \
    HOME="$work/home-$user" DIALOG_BIN_DIR="$bins" DIALOG_UI_DIR="$bins/ui"
