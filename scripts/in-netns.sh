#!/bin/sh
# Runs CMD in a fresh network namespace where only the loopback interface is up.
#
#   scripts/in-netns.sh CMD [ARGS...]
#
# The telephony rig (scripts/sip-rig.sh) and the phone's tests run there so that ICE
# sees 127.0.0.1 only and no other address of the machine. The environment and the
# working directory are kept; CMD's exit code is this script's exit code. Needs root
# (or unprivileged user namespaces, then it maps the caller to root inside).
set -eu

if [ "$#" -eq 0 ]; then
	echo "usage: $0 CMD [ARGS...]" >&2
	exit 2
fi

# The inner shell brings lo up, then becomes CMD (exec), so signals and the exit code
# pass straight through.
inner='ip link set lo up && exec "$@"'
if [ "$(id -u)" -eq 0 ]; then
	exec unshare --net -- sh -c "$inner" in-netns "$@"
else
	exec unshare --net --map-root-user -- sh -c "$inner" in-netns "$@"
fi
