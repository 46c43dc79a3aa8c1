#!/usr/bin/env bash
# Loads the BPF object once (maps unpinned, into a throwaway bpffs path) to
# show the verifier's verdict and statistics. Usage: tools/bpf-verify.sh OBJ
set -uo pipefail
obj=${1:-build/beaconveil.bpf.o}
mount | grep -q ' /sys/fs/bpf ' || mount -t bpf bpf /sys/fs/bpf
dir=/sys/fs/bpf/bvverify.$$; mkdir -p "$dir"
trap 'rm -rf "$dir"' EXIT
bpftool -d prog loadall "$obj" "$dir/progs" pinmaps "$dir/maps" type xdp > "$dir.log" 2>&1
rc=$?
grep -E '^processed|verification time|stack depth' "$dir.log" | tail -3
if [ $rc -ne 0 ]; then tail -40 "$dir.log"; fi
rm -f "$dir.log"
exit $rc
