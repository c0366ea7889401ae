#!/usr/bin/env bash
# The softphone's benchmarks: against the telephony rig (crates/phone/benches/calls.rs): call
# setup time (INVITE → first audio, p50/p95/max over 50 calls, Opus and PCMU) and CPU /
# resident memory per active call side by side with baresip's; then against a real Asterisk's
# echo (crates/phone/benches/asterisk.rs): setup time seen from the phone and from Asterisk
# (INVITE received → first RTP from the phone), and CPU per call, PCMU and PCMA.
#
#   scripts/bench-phone.sh                 both
#   DIALOG_BENCH_ONLY=rig scripts/bench-phone.sh, DIALOG_BENCH_ONLY=asterisk ...: one of them
#
# Builds the benchmark in release outside the namespace (the build needs the network for
# crates), then in a network namespace with only lo (scripts/in-netns.sh) starts the rig in
# --bench mode (baresip echoes through a timed audio path, so its CPU means something), runs
# the benchmark and stops the rig. Settings (environment): DIALOG_BENCH_SETUP_CALLS (50),
# DIALOG_BENCH_CALLS (simultaneous calls, "1,2,4"), DIALOG_BENCH_SECONDS (window, 20),
# DIALOG_BENCH_CODECS ("opus,pcmu"), DIALOG_BENCH_RECORD (1; 0 = our recorder off, to see
# its share).
# The Debian packages of the rig: see docs/FACTS.md, "The SIP / WebRTC test rig"
# (scripts/setup.sh installs them with DIALOG_TEST_PACKAGES).
set -euo pipefail
cd "$(dirname "$0")/.."

for t in kamailio rtpengine baresip sox unshare ip; do
    command -v "$t" >/dev/null 2>&1 || {
        echo "bench-phone: missing $t; install the rig's packages (docs/FACTS.md, \"The SIP / WebRTC test rig\")" >&2
        exit 1
    }
done

only=${DIALOG_BENCH_ONLY:-}
echo "== building the benchmarks (release)" >&2
# The executables' paths, from cargo's JSON messages (the artifacts of the bench targets).
built=$(cargo bench --locked -q -p dialog-phone --bench calls --bench asterisk --no-run \
    --message-format=json-render-diagnostics | grep '"kind":\["bench"\]') || true
executable() {
    printf '%s\n' "$built" | grep "\"name\":\"$1\"" | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1
}
bench=$(executable calls)
bench_asterisk=$(executable asterisk)
if [ ! -x "$bench" ] || [ ! -x "$bench_asterisk" ]; then
    echo "bench-phone: could not find the built benchmark executables" >&2
    exit 1
fi
[ "$only" = rig ] || scripts/asterisk.sh build >/dev/null

rigdir=$(mktemp -d /tmp/dialog-bench-rig.XXXXXX)
astdir=$(mktemp -d /tmp/dialog-bench-asterisk.XXXXXX)
status=0
# shellcheck disable=SC2016 # expanded by the inner shell
scripts/in-netns.sh bash -c '
    set -u
    rigdir=$1 astdir=$2 bench=$3 bench_asterisk=$4 only=$5 status=0
    if [ "$only" != asterisk ]; then
        echo "== rig (--bench) in $rigdir; running $bench" >&2
        env_lines=$(scripts/sip-rig.sh start "$rigdir" --bench) || {
            echo "bench-phone: the rig did not start" >&2
            scripts/sip-rig.sh stop "$rigdir" >/dev/null 2>&1
            exit 1
        }
        eval "$env_lines"
        "$bench" --bench || status=$?
        scripts/sip-rig.sh stop "$rigdir" >&2
    fi
    if [ "$only" != rig ]; then
        echo "== Asterisk in $astdir; running $bench_asterisk" >&2
        env_lines=$(scripts/asterisk.sh start "$astdir") || {
            echo "bench-phone: Asterisk did not start" >&2
            scripts/asterisk.sh stop "$astdir" >/dev/null 2>&1
            exit 1
        }
        eval "$env_lines"
        "$bench_asterisk" --bench || status=$?
        scripts/asterisk.sh stop "$astdir"
    fi
    exit "$status"
' bench-phone "$rigdir" "$astdir" "$bench" "$bench_asterisk" "$only" || status=$?
if [ "$status" = 0 ]; then
    rm -rf "$rigdir" "$astdir"
else
    echo "bench-phone: failed (exit $status); the logs are kept in $rigdir and $astdir" >&2
fi
exit "$status"
