# Shared by scripts/test.sh and scripts/run.sh: installs what a fresh Debian 12 machine lacks.
# Sourced, not run.

# Debian packages needed to build, run and test Dialog: the toolchain's C side, the desktop
# app's WebKitGTK stack, the PostgreSQL client, and for the end-to-end tests a virtual X
# server and WebKit's WebDriver; poppler-utils and zbar-tools read the printed PDFs back in
# dialog-print's tests (text, fonts, pages, the QR code). The softphone links libopus and
# ALSA.
DIALOG_PACKAGES=(
    build-essential pkg-config openssl ca-certificates libssl-dev postgresql-client
    libwebkit2gtk-4.1-dev libsoup-3.0-dev librsvg2-dev libayatana-appindicator3-dev libxdo-dev
    libopus-dev libasound2-dev
)
# The telephony test rig (Kamailio, rtpengine, baresip; sox makes its tones) runs in a network
# namespace of its own (iproute2, util-linux's unshare). x11-utils and imagemagick find the
# app's window and photograph it in the first-run test. Debian's Chromium runs the web's
# end-to-end tests (headless, driven by playwright-core from the UI's npm packages); curl asks
# the web whether it answers in the first-run test. Dovecot is the mail intake's IMAP server in
# its tests (scripts/mail-rig.sh; its own configuration, never /etc/dovecot).
DIALOG_TEST_PACKAGES=(
    xvfb xauth x11-utils imagemagick webkit2gtk-driver dbus gnome-keyring poppler-utils zbar-tools
    kamailio kamailio-websocket-modules kamailio-tls-modules rtpengine-daemon baresip-core sox iproute2
    chromium curl dovecot-imapd
)

# Building Asterisk for the telephony tests (scripts/asterisk.sh build, once per machine): its
# -dev packages beside the C toolchain. Not needed with DIALOG_ASTERISK (an installed Asterisk).
DIALOG_ASTERISK_PACKAGES=(
    libedit-dev libjansson-dev libxml2-dev libsqlite3-dev uuid-dev libssl-dev libsrtp2-dev
    libcurl4-openssl-dev bzip2 xz-utils
)

# The sqlx-cli whose `cargo sqlx prepare` writes and checks .sqlx/: the version of the sqlx the
# workspace builds with.
DIALOG_SQLX_CLI_VERSION=0.8.6

dialog_missing_packages() {
    local p missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    echo "${missing[@]}"
}

dialog_apt_install() {
    local missing
    missing=$(dialog_missing_packages "$@")
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" != 0 ]; then
        echo "Нужны пакеты Debian: $missing — установите их: sudo apt-get install $missing" >&2
        exit 1
    fi
    echo "Устанавливаю пакеты Debian: $missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=300 update -qq >/dev/null
    # shellcheck disable=SC2086
    apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends $missing >/dev/null
}

# Installs Debian packages (plus those given as arguments), checks Rust and Node.js, and
# installs the UI's npm packages.
dialog_setup() {
    local pkgs=("${DIALOG_PACKAGES[@]}" "$@")
    # The PostgreSQL server binaries (initdb, pg_ctl) for the private cluster.
    compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || pkgs+=(postgresql)
    command -v npm >/dev/null || pkgs+=(nodejs npm)
    dialog_apt_install "${pkgs[@]}"
    if ! command -v cargo >/dev/null; then
        [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
    fi
    command -v cargo >/dev/null || {
        echo "Не найден Rust (cargo). Установите его: https://rustup.rs (нужен Rust 1.88 или новее)" >&2
        exit 1
    }
    (cd ui && npm ci --no-audit --no-fund --loglevel=error)
}

# What running an already built app needs: the private PostgreSQL's server and client, and
# the libraries the app links.
dialog_run_packages() {
    local pkgs=(openssl ca-certificates postgresql-client libwebkit2gtk-4.1-0 libopus0 libasound2)
    compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || pkgs+=(postgresql)
    dialog_apt_install "${pkgs[@]}"
}

# Builds the UI into ui/dist (the app embeds it at compile time).
dialog_build_ui() {
    (cd ui && npm run --silent build >/dev/null)
}

# A free TCP port on 127.0.0.1, starting from $1. Pick starts below the kernel's ephemeral
# range (32768+), where client sockets could hold the port.
dialog_port_in_use() {
    if command -v ss >/dev/null; then
        [ -n "$(ss -Htan "( sport = :$1 )" 2>/dev/null)" ]
    else
        (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null
    fi
}

dialog_free_port() {
    local port=$1
    while dialog_port_in_use "$port"; do
        port=$((port + 1))
    done
    echo "$port"
}
