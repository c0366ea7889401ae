#!/usr/bin/env bash
# A private IMAP server for the mail intake's tests and benchmark: Dovecot from Debian's
# packages (dovecot-imapd), with its own configuration in DIR — its own TLS certificate and
# CA, one user in a passwd file, maildir storage, IMAP over TLS on 127.0.0.1:PORT — never the
# system's /etc/dovecot. Letters reach it through Dovecot's own delivery agent (dovecot-lda).
#
#   scripts/mail-rig.sh start DIR PORT   -> prints shell lines to eval (DIALOG_TEST_IMAP...)
#   scripts/mail-rig.sh stop DIR         (SIGTERM; `kill DIR` is SIGKILL to every process)
#   scripts/mail-rig.sh kill DIR
#   scripts/mail-rig.sh deliver DIR FILE [FOLDER]   -> one RFC 5322 file into the mailbox
#
# Started again on the same DIR, it keeps the mailbox and the certificate. As root the mail is
# stored as the user 'nobody'; otherwise as the caller.
set -euo pipefail

die() {
    echo "mail-rig: $*" >&2
    exit 1
}

USER_NAME=dialog
USER_PASSWORD=mail-rig-password

make_certs() {
    local dir=$1
    [ -s "$dir/ca.pem" ] && [ -s "$dir/server.pem" ] && return
    printf '%s\n' 'subjectAltName=IP:127.0.0.1,DNS:localhost' 'basicConstraints=critical,CA:FALSE' \
        'keyUsage=critical,digitalSignature,keyEncipherment' 'extendedKeyUsage=serverAuth' >"$dir/server-ext.cnf"
    {
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout "$dir/ca-key.pem" -out "$dir/ca.pem" -days 3650 -subj "/CN=Dialog mail rig test CA" \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" &&
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
                -keyout "$dir/server-key.pem" -out "$dir/server.csr" -subj "/CN=127.0.0.1" &&
            openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca-key.pem" \
                -CAcreateserial -out "$dir/server.pem" -days 825 -extfile "$dir/server-ext.cnf"
    } >"$dir/openssl.log" 2>&1 || {
        cat "$dir/openssl.log" >&2
        die "openssl failed"
    }
}

write_config() {
    local dir=$1 port=$2 mail_user login_user
    if [ "$(id -u)" = 0 ]; then
        mail_user=nobody
        login_user=dovenull
    else
        mail_user=$(id -un)
        login_user=$mail_user
    fi
    mkdir -p "$dir/run" "$dir/state" "$dir/home/$USER_NAME"
    chown -R "$mail_user" "$dir/home"
    echo "$USER_NAME:{PLAIN}$USER_PASSWORD" >"$dir/users"
    cat >"$dir/dovecot.conf" <<EOF
# The mail intake's test IMAP server (scripts/mail-rig.sh); nothing of /etc/dovecot.
instance_name = dialog-mail-rig-$port
base_dir = $dir/run
state_dir = $dir/state
protocols = imap
listen = 127.0.0.1
log_path = $dir/dovecot.log
ssl = required
ssl_cert = <$dir/server.pem
ssl_key = <$dir/server-key.pem
disable_plaintext_auth = yes
auth_mechanisms = plain
default_login_user = $login_user
default_internal_user = $login_user
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $dir/users
}
userdb {
  driver = static
  args = uid=$mail_user gid=$(id -gn "$mail_user") home=$dir/home/%u
}
mail_location = maildir:~/Maildir
lda_mailbox_autocreate = yes
service imap-login {
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $port
    ssl = yes
  }
}
service anvil {
  chroot =
}
service imap-login {
  chroot =
}
EOF
}

start() {
    local dir=$1 port=$2 i
    command -v dovecot >/dev/null || die "нет Dovecot: установите пакеты dovecot-imapd и dovecot-core"
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    make_certs "$dir"
    write_config "$dir" "$port"
    # Its own process group, so that `kill` reaches every Dovecot process at once.
    setsid dovecot -F -c "$dir/dovecot.conf" >>"$dir/dovecot.out" 2>&1 </dev/null &
    echo $! >"$dir/dovecot.pid"
    for i in $(seq 1 100); do
        if (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "export DIALOG_TEST_IMAP=127.0.0.1:$port DIALOG_TEST_IMAP_CA=$dir/ca.pem" \
                "DIALOG_TEST_IMAP_USER=$USER_NAME DIALOG_TEST_IMAP_PASSWORD=$USER_PASSWORD DIALOG_TEST_MAIL_RIG=$dir"
            return
        fi
        kill -0 "$(cat "$dir/dovecot.pid")" 2>/dev/null || break
        sleep 0.05
    done
    cat "$dir/dovecot.out" "$dir/dovecot.log" >&2 2>/dev/null || true
    die "Dovecot did not start on 127.0.0.1:$port"
}

signal() {
    local dir=$1 sig=$2 pid i
    [ -s "$dir/dovecot.pid" ] || return 0
    pid=$(cat "$dir/dovecot.pid")
    kill "-$sig" -- "-$pid" 2>/dev/null || true
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    rm -f "$dir/dovecot.pid"
}

deliver() {
    local dir=$1 file=$2 folder=${3:-INBOX}
    /usr/lib/dovecot/dovecot-lda -c "$dir/dovecot.conf" -d "$USER_NAME" -m "$folder" -p "$file"
}

case "${1:-}" in
start) [ "$#" -eq 3 ] || die "usage: $0 start DIR PORT"; start "$2" "$3" ;;
stop) [ "$#" -eq 2 ] || die "usage: $0 stop DIR"; signal "$2" TERM ;;
kill) [ "$#" -eq 2 ] || die "usage: $0 kill DIR"; signal "$2" KILL ;;
deliver) [ "$#" -ge 3 ] || die "usage: $0 deliver DIR FILE [FOLDER]"; deliver "$2" "$3" "${4:-INBOX}" ;;
*) die "usage: $0 start DIR PORT | stop DIR | kill DIR | deliver DIR FILE [FOLDER]" ;;
esac
