#!/usr/bin/env bash
# The telephony test rig: Kamailio (registrar + proxy, ws/wss), rtpengine (WebRTC <-> plain
# RTP) and two baresip far-end phones, all on 127.0.0.1. Config templates: tests/rig/.
#
#   scripts/sip-rig.sh start DIR [--bench]  render configs into DIR, start everything, wait
#                                           until ready, print `export` lines (stdout)
#   scripts/sip-rig.sh stop DIR             baresips, then Kamailio, then rtpengine
#   scripts/sip-rig.sh restart-kamailio DIR cut every SIP connection, Kamailio comes back
#                                           empty (the softphone must re-register)
#   scripts/sip-rig.sh kill-kamailio DIR    SIGKILL Kamailio: WebSockets drop, nothing
#                                           listens on 8088/8089/8090 until ...
#   scripts/sip-rig.sh start-kamailio DIR   ... Kamailio is started again
#   scripts/sip-rig.sh status DIR           what runs, who is registered (exit 1 if not all)
#   scripts/sip-rig.sh env DIR              print the export lines again
#
# Run it inside its own network namespace with only lo up (ICE must not see other
# addresses):
#   export D=$(mktemp -d)
#   scripts/in-netns.sh bash -c 'eval "$(scripts/sip-rig.sh start "$D")" && cargo test ...;
#                                 scripts/sip-rig.sh stop "$D"'
# It refuses to start when an interface other than lo has an address
# (DIALOG_RIG_ALLOW_HOST_NETWORK=1 overrides that, at your own risk).
#
# --bench (or DIALOG_RIG_BENCH=1): the baresip phones echo what they hear through a timed
# audio path (aubridge) instead of sending the tone and recording; for CPU measurements.
# DIALOG_RIG_TONE_SECONDS (default 300): length of the tone; a call to or from a baresip
# phone ends when its tone runs out.
# DIALOG_RIG_SIP_TRACE=1 (at start; kept across Kamailio restarts): Kamailio logs every SIP
# message it receives and sends (whole, with SDP) to DIR/kamailio.log. DIALOG_RIG_DEBUG=1: timed progress of the script on stderr.
#
# Logs: DIR/rtpengine.log, DIR/kamailio.log, DIR/baresip-1001.log, DIR/baresip-1002.log.
# Recordings: DIR/rec-1001/, DIR/rec-1002/ (see tests/rig/README.md).
set -euo pipefail

SELF=$(readlink -f "${BASH_SOURCE[0]}")
ROOT=$(cd "$(dirname "$SELF")/.." && pwd)
TPL=$ROOT/tests/rig

PHONES=(1001 1002)
declare -A PHONE_SIP=([1001]=127.0.0.1:5070 [1002]=127.0.0.1:5072)
declare -A PHONE_CTRL=([1001]=127.0.0.1:4445 [1002]=127.0.0.1:4446)
declare -A PHONE_RTP=([1001]=31000-31499 [1002]=31500-31999)
TONE_HZ=1000
TONE_SECONDS=${DIALOG_RIG_TONE_SECONDS:-300}

log() { echo "sip-rig: $*" >&2; }
T0=${EPOCHREALTIME/[.,]/}
debug() { # DIALOG_RIG_DEBUG=1: timed progress on stderr
	if [ "${DIALOG_RIG_DEBUG:-}" = 1 ]; then
		local t=${EPOCHREALTIME/[.,]/}
		echo "sip-rig: +$(((t - T0) / 1000)) ms $*" >&2
	fi
}
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

# ---------------------------------------------------------------- processes

pidfile() { echo "$DIR/$1.pid"; }

# is_running NAME: the process recorded in DIR/NAME.pid exists, is no zombie, and is
# the program NAME is about (guards against a recycled pid).
is_running() {
	local name=$1 pid stat comm
	pid=$(cat "$(pidfile "$name")" 2>/dev/null) || return 1
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ] || return 1
	comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
	# right after spawn the child may not have exec'd yet
	[ "$comm" = setsid ] && return 0
	case $name in
	baresip-*) [ "$comm" = baresip ] ;;
	*) [ "$comm" = "$name" ] ;;
	esac
}

# spawn NAME CMD...: start CMD as its own session/process group (so it outlives this
# script and its whole group can be signalled), output to DIR/NAME.log.
spawn() {
	local name=$1
	shift
	{
		echo "===== $(date '+%F %T') $*"
	} >>"$DIR/$name.log"
	setsid "$@" </dev/null >>"$DIR/$name.log" 2>&1 &
	echo $! >"$(pidfile "$name")"
}

# halt NAME SIGNAL GRACE_MS: send SIGNAL to the process, wait up to GRACE_MS for it to
# go, then SIGKILL its process group; forget the pid.
halt() {
	local name=$1 sig=$2 grace=$3 pid deadline
	if is_running "$name"; then
		pid=$(cat "$(pidfile "$name")")
		kill "-$sig" "$pid" 2>/dev/null || true
		deadline=$(($(now_ms) + grace))
		while is_running "$name" && [ "$(now_ms)" -lt "$deadline" ]; do
			sleep 0.02
		done
		# whatever is left of its group (Kamailio's children, a stuck baresip)
		kill -KILL -- "-$pid" 2>/dev/null || true
		while is_running "$name"; do
			sleep 0.02
		done
	fi
	rm -f "$(pidfile "$name")"
}

listening() { # listening tcp|udp PORT
	local opt=-Hltn
	[ "$1" = udp ] && opt=-Hlun
	[ -n "$(ss "$opt" "sport = :$2" 2>/dev/null)" ]
}

# wait_for NAME WHAT TIMEOUT_MS CMD...: poll CMD until it succeeds; fail early when the
# process NAME died.
wait_for() {
	local name=$1 what=$2 timeout=$3 deadline
	shift 3
	deadline=$(($(now_ms) + timeout))
	until "$@"; do
		if ! is_running "$name"; then
			tail -n 30 "$DIR/$name.log" >&2 || true
			die "$name exited while waiting for $what (log: $DIR/$name.log)"
		fi
		if [ "$(now_ms)" -ge "$deadline" ]; then
			tail -n 30 "$DIR/$name.log" >&2 || true
			die "$name: $what not ready after ${timeout} ms (log: $DIR/$name.log)"
		fi
		sleep 0.03
	done
}

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

kamailio_mpath() {
	local d
	for d in /usr/lib/*/kamailio/modules /usr/lib/kamailio/modules /usr/lib64/kamailio/modules; do
		if [ -f "$d/tm.so" ]; then
			echo "$d/"
			return
		fi
	done
	die "Kamailio modules not found (apt-get install kamailio kamailio-websocket-modules kamailio-tls-modules)"
}

make_certs() {
	if [ -s "$DIR/ca.pem" ] && [ -s "$DIR/server.pem" ] && [ -s "$DIR/server-key.pem" ]; then
		return
	fi
	local ext="$DIR/server-ext.cnf"
	printf '%s\n' \
		'subjectAltName=IP:127.0.0.1,DNS:localhost' \
		'basicConstraints=critical,CA:FALSE' \
		'keyUsage=critical,digitalSignature,keyEncipherment' \
		'extendedKeyUsage=serverAuth' \
		'subjectKeyIdentifier=hash' \
		'authorityKeyIdentifier=keyid' >"$ext"
	{
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout "$DIR/ca-key.pem" -out "$DIR/ca.pem" -days 3650 \
			-subj "/O=Dialog test rig/CN=Dialog rig test CA" \
			-addext "basicConstraints=critical,CA:TRUE" \
			-addext "keyUsage=critical,keyCertSign,cRLSign" &&
			openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
				-keyout "$DIR/server-key.pem" -out "$DIR/server.csr" \
				-subj "/O=Dialog test rig/CN=127.0.0.1" &&
			openssl x509 -req -in "$DIR/server.csr" -CA "$DIR/ca.pem" -CAkey "$DIR/ca-key.pem" \
				-CAcreateserial -out "$DIR/server.pem" -days 825 -extfile "$ext"
	} >"$DIR/openssl.log" 2>&1 || {
		cat "$DIR/openssl.log" >&2
		die "openssl failed"
	}
}

make_tone() {
	local tone="$DIR/tone-$TONE_HZ.wav" stamp="$DIR/tone-$TONE_HZ.seconds"
	if [ -s "$tone" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$TONE_SECONDS" ]; then
		return
	fi
	sox -n -r 8000 -c 1 -b 16 -e signed-integer "$tone" synth "$TONE_SECONDS" sine "$TONE_HZ" vol 0.5 ||
		die "sox could not make the tone"
	echo "$TONE_SECONDS" >"$stamp"
}

render_all() {
	local variant=$1 phone mpath
	mpath=$(kamailio_mpath)
	mkdir -p "$DIR/run"
	if [ ! -s "$DIR/digest-secret" ]; then
		od -An -tx1 -N16 /dev/urandom | tr -d ' \n' >"$DIR/digest-secret"
	fi
	render "$TPL/kamailio.cfg" "$DIR/kamailio.cfg" "RIGDIR=$DIR" "MPATH=$mpath" \
		"SECRET=$(cat "$DIR/digest-secret")"
	render "$TPL/tls.cfg" "$DIR/tls.cfg" "RIGDIR=$DIR"
	cp "$TPL/rtpengine.conf" "$DIR/rtpengine.conf"
	make_certs
	debug "certificates"
	[ "$variant" = bench ] || make_tone
	debug "tone"
	for phone in "${PHONES[@]}"; do
		mkdir -p "$DIR/baresip-$phone" "$DIR/rec-$phone"
		cat "$TPL/baresip/config" "$TPL/baresip/audio-$variant.conf" >"$DIR/baresip-$phone/config.in"
		render "$DIR/baresip-$phone/config.in" "$DIR/baresip-$phone/config" \
			"PHONE=$phone" \
			"SIP_LISTEN=${PHONE_SIP[$phone]}" \
			"CTRL_LISTEN=${PHONE_CTRL[$phone]}" \
			"RTP_PORTS=${PHONE_RTP[$phone]}" \
			"TONE=$DIR/tone-$TONE_HZ.wav" \
			"SND_PATH=$DIR/rec-$phone"
		rm -f "$DIR/baresip-$phone/config.in"
		grep -v '^#' "$TPL/baresip/accounts-$phone" >"$DIR/baresip-$phone/accounts"
	done
}

# ---------------------------------------------------------------- components

kamcmd_() { kamcmd -s "unix:$DIR/run/kamailio_ctl" "$@"; }

# kamcmd exits 0 even on an RPC error, and types a numeric argument as an integer
# unless it is written s:VALUE.
ul_lookup() { # ul_lookup USER: the contact record, or fail
	local out
	out=$(kamcmd_ ul.lookup location "s:$1" 2>&1) || return 1
	case $out in *Address:*) printf '%s\n' "$out" ;; *) return 1 ;; esac
}

registered() { # registered USER: Kamailio has a contact for USER
	ul_lookup "$1" >/dev/null
}

all_registered() {
	local phone
	for phone in "${PHONES[@]}"; do
		registered "$phone" || return 1
	done
}

rtpengine_ready() { listening udp 2223; }

kamailio_ready() {
	[ -S "$DIR/run/kamailio_ctl" ] && listening udp 5060 && listening tcp 8088 &&
		listening tcp 8089 && listening tcp 8090 && kamcmd_ core.version >/dev/null 2>&1
}

kamailio_ports_free() {
	! listening udp 5060 && ! listening tcp 8088 && ! listening tcp 8089 && ! listening tcp 8090
}

check_ports_free() { # check_ports_free WHAT PROTO:PORT...
	local what=$1 pp
	shift
	for pp in "$@"; do
		if listening "${pp%%:*}" "${pp#*:}"; then
			die "cannot start $what: ${pp#*:}/${pp%%:*} is taken by another process (another rig in this namespace?)"
		fi
	done
}

start_rtpengine() {
	is_running rtpengine && return
	check_ports_free rtpengine udp:2223
	spawn rtpengine rtpengine --config-file="$DIR/rtpengine.conf" --config-section=rtpengine \
		--foreground --log-stderr
	wait_for rtpengine "control port 127.0.0.1:2223" 5000 rtpengine_ready
	debug "rtpengine ready"
}

start_kamailio_proc() {
	is_running kamailio && return
	check_ports_free kamailio udp:5060 tcp:8088 tcp:8089 tcp:8090
	# Kamailio refuses to start while the pid in its pid file exists (a zombie that init
	# has not reaped yet counts)
	rm -f "$DIR/run/kamailio_ctl" "$DIR/run/kamailio.pid"
	local trace=()
	if [ "${DIALOG_RIG_SIP_TRACE:-}" = 1 ] || [ -e "$DIR/sip-trace" ]; then
		trace=(-A WITH_SIPTRACE)
	fi
	spawn kamailio kamailio -DD -E -f "$DIR/kamailio.cfg" -m 64 -M 8 \
		-P "$DIR/run/kamailio.pid" -Y "$DIR/run" "${trace[@]}"
	wait_for kamailio "listeners 5060/udp, 8088, 8089, 8090" 5000 kamailio_ready
	debug "kamailio ready"
}

# The phones' registrations live in Kamailio's memory only. After a Kamailio (re)start
# the baresips would re-register only when their interval runs out, so the rig puts
# their contacts back itself (the ones saved before the stop, else the known ones);
# their own periodic REGISTERs refresh the same bindings later.
save_phone_contacts() {
	local phone contact out=""
	is_running kamailio || return 0
	for phone in "${PHONES[@]}"; do
		contact=$(ul_lookup "$phone" | sed -n 's/^[[:space:]]*Address: //p' | head -n 1) || true
		if [ -n "$contact" ]; then
			out+="$phone $contact"$'\n'
		fi
	done
	printf '%s' "$out" >"$DIR/phone-contacts"
}

restore_phone_contacts() {
	local phone contact
	for phone in "${PHONES[@]}"; do
		is_running "baresip-$phone" || continue
		registered "$phone" && continue
		contact=$(awk -v p="$phone" '$1 == p { print $2; exit }' "$DIR/phone-contacts" 2>/dev/null) || true
		[ -n "$contact" ] || contact="sip:$phone@${PHONE_SIP[$phone]}"
		# ul.add table AOR contact expires q path flags cflags methods
		kamcmd_ ul.add location "s:$phone" "s:$contact" 600 1.0 s:0 0 0 5087 >/dev/null 2>&1 || true
		registered "$phone" || log "could not restore the registration of $phone"
	done
}

start_kamailio() {
	start_kamailio_proc
	restore_phone_contacts
}

# halt_kamailio SIGNAL WAIT_MS: stops Kamailio (keeping the phones' contacts to restore) and
# waits until its ports are free.
halt_kamailio() {
	save_phone_contacts
	halt kamailio "$1" "$2"
	local deadline=$(($(now_ms) + 3000))
	until kamailio_ports_free || [ "$(now_ms)" -ge "$deadline" ]; do
		sleep 0.02
	done
}

stop_kamailio() { halt_kamailio TERM 3000; }

kill_kamailio() { halt_kamailio KILL 1000; }

start_phones() {
	local variant=$1 phone started=()
	for phone in "${PHONES[@]}"; do
		if is_running "baresip-$phone"; then
			if [ "$(cat "$DIR/baresip-$phone.variant" 2>/dev/null)" = "$variant" ]; then
				continue
			fi
			halt "baresip-$phone" TERM 1500
		fi
		check_ports_free "baresip $phone" "udp:${PHONE_SIP[$phone]##*:}" "tcp:${PHONE_CTRL[$phone]##*:}"
		spawn "baresip-$phone" baresip -f "$DIR/baresip-$phone"
		echo "$variant" >"$DIR/baresip-$phone.variant"
		started+=("$phone")
	done
	for phone in "${started[@]}"; do
		wait_for "baresip-$phone" "ctrl_tcp ${PHONE_CTRL[$phone]}" 5000 listening tcp "${PHONE_CTRL[$phone]##*:}"
		wait_for "baresip-$phone" "registration of $phone" 5000 registered "$phone"
		debug "baresip $phone registered"
	done
	restore_phone_contacts
}

stop_phones() {
	local phone
	# baresip un-REGISTERs on SIGTERM; without Kamailio that would take ~30 s, so it
	# gets 1.5 s before SIGKILL.
	for phone in "${PHONES[@]}"; do
		if is_running "baresip-$phone"; then
			kill -TERM "$(cat "$(pidfile "baresip-$phone")")" 2>/dev/null || true
		fi
	done
	for phone in "${PHONES[@]}"; do
		halt "baresip-$phone" TERM 1500
	done
}

# ---------------------------------------------------------------- commands

check_network() {
	local lo
	lo=$(ip -o addr show dev lo 2>/dev/null) || true
	if [[ $lo != *127.0.0.1* ]]; then
		die "the loopback interface is down (ip link set lo up)"
	fi
	[ "${DIALOG_RIG_ALLOW_HOST_NETWORK:-}" = 1 ] && return
	local others
	others=$(ip -o addr show 2>/dev/null | awk '$2 != "lo" { print $2 }' | sort -u | tr '\n' ' ')
	if [ -n "$others" ]; then
		die "refusing to start: interfaces other than lo have addresses (${others% }); ICE would offer them.
Run the rig and its tests in a namespace with only lo, e.g.:
  scripts/in-netns.sh bash -c 'eval \"\$(scripts/sip-rig.sh start DIR)\" && YOUR_TESTS; scripts/sip-rig.sh stop DIR'"
	fi
}

need_tools() {
	local t
	for t in kamailio kamcmd rtpengine baresip sox openssl ss ip setsid; do
		command -v "$t" >/dev/null 2>&1 || die "missing $t (see docs/FACTS.md: the SIP / WebRTC test rig)"
	done
}

sq() { # single-quote for sh
	local s=${1//\'/\'\\\'\'}
	printf "'%s'" "$s"
}

print_env() {
	local variant
	variant=$(cat "$DIR/variant" 2>/dev/null || echo normal)
	local -a vars=(
		"DIALOG_RIG_DIR=$DIR"
		"DIALOG_RIG_CTL=$SELF"
		"DIALOG_RIG_WS=ws://127.0.0.1:8088/ws"
		"DIALOG_RIG_WS_401=ws://127.0.0.1:8090/ws"
		"DIALOG_RIG_WSS=wss://127.0.0.1:8089/ws"
		"DIALOG_RIG_CA=$DIR/ca.pem"
		"DIALOG_RIG_DOMAIN=127.0.0.1"
		"DIALOG_RIG_BUSY=1486"
		"DIALOG_RIG_VARIANT=$variant"
		"DIALOG_RIG_TONE_HZ=$TONE_HZ"
		"DIALOG_RIG_PHONE_AUTO=1001"
		"DIALOG_RIG_PHONE_AUTO_CTRL=${PHONE_CTRL[1001]}"
		"DIALOG_RIG_PHONE_AUTO_REC=$DIR/rec-1001"
		"DIALOG_RIG_PHONE_MANUAL=1002"
		"DIALOG_RIG_PHONE_MANUAL_CTRL=${PHONE_CTRL[1002]}"
		"DIALOG_RIG_PHONE_MANUAL_REC=$DIR/rec-1002"
	)
	local kv
	for kv in "${vars[@]}"; do
		printf 'export %s=%s\n' "${kv%%=*}" "$(sq "${kv#*=}")"
	done
}

cmd_start() {
	local variant=normal t0
	t0=$(now_ms)
	if [ "${1:-}" = --bench ] || [ "${DIALOG_RIG_BENCH:-}" = 1 ]; then
		variant=bench
	elif [ -n "${1:-}" ]; then
		usage
	fi
	need_tools
	check_network
	render_all "$variant"
	echo "$variant" >"$DIR/variant"
	# the trace setting outlives restarts of Kamailio
	if [ "${DIALOG_RIG_SIP_TRACE:-}" = 1 ]; then
		touch "$DIR/sip-trace"
	else
		rm -f "$DIR/sip-trace"
	fi
	start_rtpengine
	start_kamailio
	start_phones "$variant"
	log "ready in $(($(now_ms) - t0)) ms ($variant; logs in $DIR)"
	print_env
}

cmd_stop() {
	local t0
	t0=$(now_ms)
	stop_phones
	halt kamailio TERM 3000
	halt rtpengine TERM 3000
	log "stopped in $(($(now_ms) - t0)) ms"
}

cmd_status() {
	local ok=0 name phone
	for name in rtpengine kamailio baresip-1001 baresip-1002; do
		if is_running "$name"; then
			echo "$name: running (pid $(cat "$(pidfile "$name")"))"
		else
			echo "$name: stopped"
			ok=1
		fi
	done
	if is_running kamailio; then
		for phone in "${PHONES[@]}"; do
			if registered "$phone"; then
				echo "$phone: registered"
			else
				echo "$phone: not registered"
				ok=1
			fi
		done
		echo "registered users: $(kamcmd_ ul.dump brief 2>/dev/null | sed -n 's/^[[:space:]]*AoR: //p' | sort | tr '\n' ' ')"
	fi
	return "$ok"
}

main() {
	[ "$#" -ge 2 ] || usage
	local cmd=$1
	mkdir -p "$2"
	DIR=$(cd "$2" && pwd)
	shift 2
	case $cmd in
	start) cmd_start "$@" ;;
	stop) cmd_stop ;;
	restart-kamailio)
		stop_kamailio
		start_kamailio
		;;
	kill-kamailio) kill_kamailio ;;
	start-kamailio) start_kamailio ;;
	status) cmd_status ;;
	env) print_env ;;
	*) usage ;;
	esac
}

main "$@"
