#!/usr/bin/env bash
# A real Asterisk for the telephony tests, configured as docs/telephony.md tells administrators
# (templates: tests/rig/asterisk/).
#
#   scripts/asterisk.sh build            build Asterisk once into the cache (see below) and
#                                        print its prefix; a second run only prints it
#   scripts/asterisk.sh start DIR        render the configuration into DIR, start Asterisk,
#                                        wait until it is fully booted, print `export` lines
#   scripts/asterisk.sh stop DIR         stop it (core stop now; SIGKILL after 5 s)
#   scripts/asterisk.sh restart DIR      stop and start again: every WebSocket is cut, every
#                                        registration and call is gone
#   scripts/asterisk.sh rx DIR COMMAND   run one CLI command (asterisk -rx) and print its output
#   scripts/asterisk.sh env DIR          print the export lines again
#
# Which Asterisk: DIALOG_ASTERISK, when set, is an installed Asterisk: its binary
# (/usr/sbin/asterisk) or its prefix (/usr, /opt/asterisk: the binary in PREFIX/sbin, the
# modules in PREFIX/lib/asterisk/modules or PREFIX/lib64/asterisk/modules; set
# DIALOG_ASTERISK_MODULES for another module directory). Otherwise `build` makes one from the
# sources in DIALOG_ASTERISK_SOURCES (default: ../shared/vendor/asterisk beside the clone:
# asterisk-23.4.1.tar.xz and pjproject-2.17.tar.bz2) into
# DIALOG_ASTERISK_CACHE/<key> (default /var/tmp/dialog-asterisk), where <key> is made of the
# tarballs' checksums and this script's build recipe, so a build is made once and reused by
# every clone and run. The build needs a C toolchain and the -dev packages of
# DIALOG_ASTERISK_PACKAGES in scripts/setup.sh.
#
# Run Asterisk inside the tests' network namespace (scripts/in-netns.sh): `start` gives lo the
# address 192.0.2.1/32 when it has none (Asterisk never offers 127.0.0.0/8 ICE candidates, so
# without another address no audio flows). Its HTTP server binds every address, as the guide's
# 0.0.0.0: the phone reaches it at ws://127.0.0.1:8188/ws (Dialog speaks ws:// only to this
# computer) and wss://192.0.2.1:8189/ws (certificate from DIR/keys/ca.pem); RTP 10000-20000. It refuses to start
# when an interface other than lo has an address (DIALOG_RIG_ALLOW_HOST_NETWORK=1 overrides).
#
# Logs: DIR/asterisk.log (console), DIR/log/messages, DIR/log/full (with every SIP message).
set -euo pipefail

SELF=$(readlink -f "${BASH_SOURCE[0]}")
ROOT=$(cd "$(dirname "$SELF")/.." && pwd)
TPL=$ROOT/tests/rig/asterisk

VERSION=23.4.1
PJPROJECT=2.17
SOURCES=${DIALOG_ASTERISK_SOURCES:-$ROOT/../shared/vendor/asterisk}
CACHE=${DIALOG_ASTERISK_CACHE:-/var/tmp/dialog-asterisk}
# Bump when the build steps below change, so that a new recipe builds anew.
RECIPE=1

ADDRESS=192.0.2.1
# The guide's 8088 and 8089 plus 100: Kamailio's rig has 8088..8090 (on 127.0.0.1).
WS_PORT=8188
# The PBX bridge's AMI account (manager.conf), on 127.0.0.1:5038.
AMI_SECRET=ami-test-secret
WSS_PORT=8189

log() { echo "asterisk: $*" >&2; }
die() {
	log "$*"
	exit 1
}

usage() {
	sed -n '2,/^set -euo/p' "$SELF" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
	exit 2
}

now_ms() {
	local t=${EPOCHREALTIME/[.,]/}
	echo $((t / 1000))
}

# ---------------------------------------------------------------- build

tarball() { echo "$SOURCES/asterisk-$VERSION.tar.xz"; }
pj_tarball() { echo "$SOURCES/pjproject-$PJPROJECT.tar.bz2"; }

build_key() {
	{
		sha256sum <"$(tarball)"
		sha256sum <"$(pj_tarball)"
		echo "recipe $RECIPE"
	} | sha256sum | cut -c1-16
}

# The prefix of a finished build, or nothing.
cached_prefix() {
	[ -f "$(tarball)" ] && [ -f "$(pj_tarball)" ] || return 1
	local prefix
	prefix="$CACHE/$VERSION-$(build_key)"
	[ -f "$prefix/.complete" ] || return 1
	echo "$prefix"
}

cmd_build() {
	if [ -n "${DIALOG_ASTERISK:-}" ]; then
		asterisk_bin >/dev/null
		echo "${DIALOG_ASTERISK}"
		return
	fi
	[ -f "$(tarball)" ] && [ -f "$(pj_tarball)" ] || die "no sources: $(tarball) and $(pj_tarball) are needed
(or point DIALOG_ASTERISK at an installed Asterisk, see the top of $SELF)"
	local key prefix work t0 jobs
	key=$(build_key)
	prefix="$CACHE/$VERSION-$key"
	mkdir -p "$CACHE"
	# One build at a time per key; a second caller waits and then finds it done.
	exec 9>"$CACHE/$VERSION-$key.lock"
	flock 9
	if [ -f "$prefix/.complete" ]; then
		echo "$prefix"
		return
	fi
	t0=$(now_ms)
	jobs=$(nproc 2>/dev/null || echo 2)
	rm -rf "$prefix"
	work=$(mktemp -d "$CACHE/build-$key.XXXXXX")
	log "building Asterisk $VERSION (pjproject $PJPROJECT bundled) into $prefix; log: $work/build.log"
	mkdir -p "$work/downloads"
	# The bundled pjproject comes from the download cache (the build never downloads).
	cp "$(pj_tarball)" "$work/downloads/"
	tar -xJf "$(tarball)" -C "$work"
	(
		cd "$work/asterisk-$VERSION"
		./configure --prefix="$prefix" --with-pjproject-bundled \
			--with-download-cache="$work/downloads" --without-pwlib
		make menuselect.makeopts
		# The sound packages would be downloaded: none are needed (the tests use tones).
		menuselect/menuselect --disable-category MENUSELECT_CORE_SOUNDS \
			--disable-category MENUSELECT_MOH --disable-category MENUSELECT_EXTRA_SOUNDS \
			menuselect.makeopts
		make -j"$jobs"
		make install
	) >"$work/build.log" 2>&1 || {
		tail -n 40 "$work/build.log" >&2
		die "the build failed (log: $work/build.log)"
	}
	[ -x "$prefix/sbin/asterisk" ] || die "the build made no $prefix/sbin/asterisk (log: $work/build.log)"
	touch "$prefix/.complete"
	rm -rf "$work"
	log "built in $((($(now_ms) - t0) / 1000)) s"
	echo "$prefix"
}

# ---------------------------------------------------------------- which Asterisk

asterisk_bin() {
	local a=${DIALOG_ASTERISK:-}
	if [ -n "$a" ]; then
		if [ -f "$a" ] && [ -x "$a" ]; then
			echo "$a"
		elif [ -x "$a/sbin/asterisk" ]; then
			echo "$a/sbin/asterisk"
		else
			die "DIALOG_ASTERISK=$a is neither the asterisk binary nor a prefix with sbin/asterisk"
		fi
		return
	fi
	local prefix
	prefix=$(cached_prefix) || die "Asterisk is not built: run scripts/asterisk.sh build (or set DIALOG_ASTERISK to an installed one)"
	echo "$prefix/sbin/asterisk"
}

module_dir() {
	if [ -n "${DIALOG_ASTERISK_MODULES:-}" ]; then
		echo "$DIALOG_ASTERISK_MODULES"
		return
	fi
	local bin prefix d
	bin=$(asterisk_bin)
	prefix=$(cd "$(dirname "$bin")/.." && pwd)
	for d in "$prefix/lib/asterisk/modules" "$prefix/lib64/asterisk/modules" \
		"$prefix"/lib/*/asterisk/modules /usr/lib/asterisk/modules /usr/lib64/asterisk/modules; do
		if [ -f "$d/chan_pjsip.so" ]; then
			echo "$d"
			return
		fi
	done
	die "no Asterisk modules (chan_pjsip.so) next to $bin: set DIALOG_ASTERISK_MODULES"
}

# ---------------------------------------------------------------- processes

pidfile() { echo "$DIR/asterisk.pid"; }
conf() { echo "$DIR/etc/asterisk.conf"; }

# The process in DIR/asterisk.pid exists, is no zombie, and is Asterisk.
is_running() {
	local pid stat comm
	pid=$(cat "$(pidfile)" 2>/dev/null) || return 1
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ] || return 1
	comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
	# right after the spawn the child may still be this script's shell, or setsid, before its exec
	case $comm in asterisk | setsid | bash | "$(basename "$SELF")") ;; *) return 1 ;; esac
}

rx() { "$(asterisk_bin)" -C "$(conf)" -rx "$1"; }

# The HTTP server binds every address of the namespace, as the guide's 0.0.0.0.
listening() { [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]; }

# ---------------------------------------------------------------- rendering

# render SRC DST KEY=VALUE...: copy a template replacing @KEY@ by VALUE
render() {
	local src=$1 dst=$2 script="" kv key val
	shift 2
	for kv in "$@"; do
		key=${kv%%=*}
		val=${kv#*=}
		val=$(printf '%s' "$val" | sed -e 's/[\\|&]/\\&/g')
		script+="s|@${key}@|${val}|g;"
	done
	sed -e "$script" "$src" >"$dst.tmp"
	mv "$dst.tmp" "$dst"
}

make_certs() {
	local k=$DIR/keys
	mkdir -p "$k"
	if [ -s "$k/ca.pem" ] && [ -s "$k/pbx.crt" ] && [ -s "$k/pbx.key" ]; then
		return
	fi
	printf '%s\n' \
		"subjectAltName=IP:$ADDRESS,IP:127.0.0.1,DNS:localhost" \
		'basicConstraints=critical,CA:FALSE' \
		'keyUsage=critical,digitalSignature,keyEncipherment' \
		'extendedKeyUsage=serverAuth' \
		'subjectKeyIdentifier=hash' \
		'authorityKeyIdentifier=keyid' >"$k/pbx-ext.cnf"
	{
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout "$k/ca-key.pem" -out "$k/ca.pem" -days 3650 \
			-subj "/O=Dialog test PBX/CN=Dialog test PBX CA" \
			-addext "basicConstraints=critical,CA:TRUE" \
			-addext "keyUsage=critical,keyCertSign,cRLSign" &&
			openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
				-keyout "$k/pbx.key" -out "$k/pbx.csr" \
				-subj "/O=Dialog test PBX/CN=$ADDRESS" &&
			openssl x509 -req -in "$k/pbx.csr" -CA "$k/ca.pem" -CAkey "$k/ca-key.pem" \
				-CAcreateserial -out "$k/pbx.crt" -days 825 -extfile "$k/pbx-ext.cnf"
	} >"$k/openssl.log" 2>&1 || {
		cat "$k/openssl.log" >&2
		die "openssl failed"
	}
}

render_all() {
	local bin prefix data f
	bin=$(asterisk_bin)
	prefix=$(cd "$(dirname "$bin")/.." && pwd)
	data=$prefix/var/lib/asterisk
	[ -d "$data" ] || data=$prefix/share/asterisk
	[ -d "$data" ] || data=$DIR/lib
	mkdir -p "$DIR/etc" "$DIR/lib" "$DIR/spool" "$DIR/run" "$DIR/log"
	make_certs
	for f in "$TPL"/*.conf; do
		render "$f" "$DIR/etc/$(basename "$f")" \
			"DIR=$DIR" "MODULES=$(module_dir)" "DATA=$data" "SBIN=$(dirname "$bin")" \
			"ADDRESS=0.0.0.0" "WS_PORT=$WS_PORT" "WSS_PORT=$WSS_PORT" "KEYS=$DIR/keys" \
			"PASSWORD_2001=pw2001" "AMI_SECRET=$AMI_SECRET"
	done
}

# ---------------------------------------------------------------- network

check_network() {
	local lo others
	lo=$(ip -o addr show dev lo 2>/dev/null) || true
	[[ $lo == *127.0.0.1* ]] || die "the loopback interface is down (ip link set lo up)"
	if [ "${DIALOG_RIG_ALLOW_HOST_NETWORK:-}" != 1 ]; then
		others=$(ip -o addr show 2>/dev/null | awk '$2 != "lo" { print $2 }' | sort -u | tr '\n' ' ')
		[ -z "$others" ] || die "refusing to start: interfaces other than lo have addresses (${others% }); ICE would offer them.
Run Asterisk and its tests in a namespace with only lo, e.g.:
  scripts/in-netns.sh bash -c 'eval \"\$(scripts/asterisk.sh start DIR)\" && YOUR_TESTS; scripts/asterisk.sh stop DIR'"
	fi
	# Asterisk offers no 127.0.0.0/8 candidates: it needs an address of its own on lo.
	if [[ $lo != *" $ADDRESS/"* ]]; then
		ip addr add "$ADDRESS/32" dev lo 2>/dev/null ||
			die "cannot give lo the address $ADDRESS (ip addr add $ADDRESS/32 dev lo needs root in this namespace)"
	fi
}

# ---------------------------------------------------------------- commands

sq() { # single-quote for sh
	local s=${1//\'/\'\\\'\'}
	printf "'%s'" "$s"
}

print_env() {
	local -a vars=(
		"DIALOG_ASTERISK_DIR=$DIR"
		"DIALOG_ASTERISK_CTL=$SELF"
		"DIALOG_ASTERISK_WS=ws://127.0.0.1:$WS_PORT/ws"
		"DIALOG_ASTERISK_AMI=127.0.0.1:5038"
		"DIALOG_ASTERISK_AMI_USER=dialog"
		"DIALOG_ASTERISK_AMI_SECRET=$AMI_SECRET"
		"DIALOG_ASTERISK_WSS=wss://$ADDRESS:$WSS_PORT/ws"
		"DIALOG_ASTERISK_CA=$DIR/keys/ca.pem"
		"DIALOG_ASTERISK_ADDRESS=$ADDRESS"
	)
	local kv
	for kv in "${vars[@]}"; do
		printf 'export %s=%s\n' "${kv%%=*}" "$(sq "${kv#*=}")"
	done
}

booted() { rx 'core waitfullybooted' >/dev/null 2>&1 && listening "$WS_PORT" && listening "$WSS_PORT"; }

start_asterisk() {
	local t0 deadline
	t0=$(now_ms)
	is_running && return
	for p in "$WS_PORT" "$WSS_PORT"; do
		! listening "$p" || die "port $p is taken (another Asterisk in this namespace?)"
	done
	rm -f "$DIR/run/asterisk.ctl" "$DIR/run/asterisk.pid"
	echo "===== $(date '+%F %T') start" >>"$DIR/asterisk.log"
	setsid "$(asterisk_bin)" -f -n -C "$(conf)" </dev/null >>"$DIR/asterisk.log" 2>&1 &
	echo $! >"$(pidfile)"
	deadline=$(($(now_ms) + 30000))
	until booted; do
		if ! is_running; then
			tail -n 30 "$DIR/asterisk.log" >&2 || true
			die "Asterisk exited while starting (log: $DIR/asterisk.log, $DIR/log/messages)"
		fi
		[ "$(now_ms)" -lt "$deadline" ] || die "Asterisk did not boot in 30 s (log: $DIR/asterisk.log)"
		sleep 0.1
	done
	log "ready in $(($(now_ms) - t0)) ms (logs in $DIR/log)"
}

stop_asterisk() {
	local pid deadline
	is_running || {
		rm -f "$(pidfile)"
		return 0
	}
	pid=$(cat "$(pidfile)")
	rx 'core stop now' >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
	deadline=$(($(now_ms) + 5000))
	while is_running && [ "$(now_ms)" -lt "$deadline" ]; do
		sleep 0.05
	done
	kill -KILL -- "-$pid" 2>/dev/null || true
	while is_running; do
		sleep 0.05
	done
	rm -f "$(pidfile)"
}

main() {
	local cmd=${1:-}
	case $cmd in
	build)
		cmd_build
		return
		;;
	start | stop | restart | env | rx) ;;
	*) usage ;;
	esac
	[ "$#" -ge 2 ] || usage
	mkdir -p "$2"
	DIR=$(cd "$2" && pwd)
	shift 2
	case $cmd in
	start)
		check_network
		render_all
		start_asterisk
		print_env
		;;
	stop) stop_asterisk ;;
	restart)
		stop_asterisk
		check_network
		start_asterisk
		;;
	env) print_env ;;
	rx)
		[ "$#" -ge 1 ] || usage
		rx "$*"
		;;
	esac
}

main "$@"
