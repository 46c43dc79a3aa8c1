#!/usr/bin/env bash
# Loads the BPF object once to show the verifier's verdict and statistics.
# Usage: tools/bpf-verify.sh [OBJ] [MODE]. Runs in a private mount namespace with a
# fresh bpffs, so the pins libbpf makes for the by-name maps go away with it
# and nothing of the host's /sys/fs/bpf is touched. Needs root.
#
# MODE (inline, the default, mirror or pcap) is the load-time constant
# bv_mode: the verifier skips the code of the other modes as dead, so each
# mode has its own count. For mirror/pcap a copy of OBJ with bv_mode set in
# its .rodata is loaded (llvm-objcopy), as the daemon's loader would set it.
set -uo pipefail
obj=$(realpath "${1:-build/beaconveil.bpf.o}")
mode=${2:-inline}
log=$(mktemp /tmp/bvverify.XXXXXX)
tmp=$(mktemp -d /tmp/bvverify.XXXXXX)
trap 'rm -rf "$log" "$tmp"' EXIT
case $mode in
inline) ;;
mirror | pcap)
	v=1
	[ "$mode" = pcap ] && v=2
	off=$(llvm-nm "$obj" | awk '$3 == "bv_mode" { print $1 }')
	[ -n "$off" ] || { echo "bpf-verify: no bv_mode in $obj" >&2; exit 1; }
	llvm-objcopy -O binary --only-section=.rodata "$obj" "$tmp/ro" || exit 1
	printf "\\x0$v" | dd of="$tmp/ro" bs=1 seek=$((16#$off)) conv=notrunc status=none || exit 1
	llvm-objcopy --update-section .rodata="$tmp/ro" "$obj" "$tmp/obj.o" || exit 1
	obj=$tmp/obj.o
	;;
*)
	echo "bpf-verify: MODE is inline, mirror or pcap" >&2
	exit 2
	;;
esac
unshare --mount --propagation private bash -c '
	mount -t bpf bpf /sys/fs/bpf || exit 1
	bpftool -d prog loadall "$1" /sys/fs/bpf/progs type xdp' _ "$obj" >"$log" 2>&1
rc=$?
grep -E '^processed|verification time|stack depth' "$log" | tail -3
if [ $rc -ne 0 ]; then tail -40 "$log"; fi
exit $rc
