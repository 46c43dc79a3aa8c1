#!/usr/bin/env bash
# Loads the BPF object once to show the verifier's verdict and statistics.
# Usage: tools/bpf-verify.sh [OBJ]. Runs in a private mount namespace with a
# fresh bpffs, so the pins libbpf makes for the by-name maps go away with it
# and nothing of the host's /sys/fs/bpf is touched. Needs root.
set -uo pipefail
obj=$(realpath "${1:-build/beaconveil.bpf.o}")
log=$(mktemp /tmp/bvverify.XXXXXX)
trap 'rm -f "$log"' EXIT
unshare --mount --propagation private bash -c '
	mount -t bpf bpf /sys/fs/bpf || exit 1
	bpftool -d prog loadall "$1" /sys/fs/bpf/progs type xdp' _ "$obj" >"$log" 2>&1
rc=$?
grep -E '^processed|verification time|stack depth' "$log" | tail -3
if [ $rc -ne 0 ]; then tail -40 "$log"; fi
exit $rc
