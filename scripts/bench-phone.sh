#!/usr/bin/env bash
# The softphone's benchmark against the telephony rig (crates/phone/benches/calls.rs): call
# setup time (INVITE → first audio, p50/p95/max over 50 calls, Opus and PCMU) and CPU /
# resident memory per active call side by side with baresip's.
#
#   scripts/bench-phone.sh
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

echo "== building the benchmark (release)" >&2
# The executable's path, from cargo's JSON messages (the artifact of the bench target).
bench=$(cargo bench --locked -q -p dialog-phone --bench calls --no-run --message-format=json-render-diagnostics |
    grep '"kind":\["bench"\]' | grep '"name":"calls"' |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1) || true
if [ -z "$bench" ] || [ ! -x "$bench" ]; then
    echo "bench-phone: could not find the built benchmark executable" >&2
    exit 1
fi

rigdir=$(mktemp -d /tmp/dialog-bench-rig.XXXXXX)
echo "== rig (--bench) in $rigdir; running $bench" >&2
status=0
# shellcheck disable=SC2016 # expanded by the inner shell
scripts/in-netns.sh bash -c '
    set -u
    rigdir=$1 bench=$2
    env_lines=$(scripts/sip-rig.sh start "$rigdir" --bench) || {
        echo "bench-phone: the rig did not start" >&2
        scripts/sip-rig.sh stop "$rigdir" >/dev/null 2>&1
        exit 1
    }
    eval "$env_lines"
    trap "scripts/sip-rig.sh stop \"\$rigdir\" >&2" EXIT
    "$bench" --bench
' bench-phone "$rigdir" "$bench" || status=$?
if [ "$status" = 0 ]; then
    rm -rf "$rigdir"
else
    echo "bench-phone: failed (exit $status); the rig's logs are kept in $rigdir" >&2
fi
exit "$status"
