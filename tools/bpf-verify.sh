#!/usr/bin/env bash
# Loads the BPF object once (maps unpinned, into a throwaway bpffs path) to
# show the verifier's verdict and statistics. Usage: tools/bpf-verify.sh OBJ
set -uo pipefail
obj=${1:-build/beaconveil.bpf.o}
mount | grep -q ' /sys/fs/bpf ' || mount -t bpf bpf /sys/fs/bpf
dir=/sys/fs/bpf/bvverify.$$; mkdir -p "$dir"
log=$(mktemp /tmp/bvverify.XXXXXX) # not in bpffs: it holds no regular files
trap 'rm -rf "$dir" "$log"' EXIT
bpftool -d prog loadall "$obj" "$dir/progs" pinmaps "$dir/maps" type xdp > "$log" 2>&1
rc=$?
grep -E '^processed|verification time|stack depth' "$log" | tail -3
if [ $rc -ne 0 ]; then tail -40 "$log"; fi
exit $rc
