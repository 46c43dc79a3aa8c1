#!/usr/bin/env bash
# The live part of `make bench`: a capture injected with tcpreplay
# --topspeed into a veth pair inside a throwaway network namespace, with an
# XDP program attached natively on the receiving end by build/bv-attach
# (libxdp; beaconveil in inline mode with the default config, or the empty
# reference program). Prints "key value" lines for bench.sh.
#
#   tools/bench/live.sh PCAP [REPS]
#
# Bounded: one pass over the capture per repetition (tcpreplay exits by
# itself; `timeout` caps it anyway), the loader exits by itself after 60 s.
# The namespace (with both veth ends, and so the attached programs) and the
# loader are removed on every exit path, success or not. Nothing is pinned
# in the host's bpffs: the loader runs under `ip netns exec`, which gives it
# a private mount namespace, and mounts its own bpffs there for libxdp; it
# disappears with that namespace.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
PCAP=$1
REPS=${2:-3}
NS=bvbench-$$
TMP=$(mktemp -d /tmp/bvbench-live.XXXXXX)
LOADER_PID=

cleanup() {
	if [ -n "$LOADER_PID" ]; then
		kill -TERM "$LOADER_PID" 2>/dev/null || true
		wait "$LOADER_PID" 2>/dev/null || true
	fi
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$NS"
ip -n "$NS" link add bvb0 type veth peer name bvb1
for i in bvb0 bvb1; do
	# no IPv6 autoconfiguration chatter (router solicitations, MLD) on
	# the test link: every packet counted must be one we sent
	ip netns exec "$NS" sysctl -qw "net.ipv6.conf.$i.disable_ipv6=1"
	ip netns exec "$NS" ethtool -K "$i" tx off rxvlan off txvlan off >/dev/null 2>&1 || true
	ip -n "$NS" link set "$i" up
done
ip -n "$NS" link set lo up

stat_of() { ip netns exec "$NS" cat "/sys/class/net/$1/statistics/$2"; }

# run_one LABEL [bv-attach flags]: one pass of the capture; appends
# "LABEL.key value" lines to $TMP/res.
run_one() {
	local label=$1
	shift
	local out=$TMP/att.out err=$TMP/att.err
	: >"$out"
	ip netns exec "$NS" sh -c 'mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf; exec "$@"' \
		sh "$BUILD/bv-attach" "$@" --timeout 60 bvb1 >"$out" 2>"$err" &
	LOADER_PID=$!
	for _ in $(seq 200); do
		grep -q '^ready' "$out" && break
		if ! kill -0 "$LOADER_PID" 2>/dev/null; then
			echo "live.sh: bv-attach failed:" >&2
			cat "$err" >&2
			return 1
		fi
		sleep 0.05
	done
	grep -q '^ready' "$out" || { echo "live.sh: bv-attach not ready" >&2; return 1; }
	local attach
	attach=$(sed -n 's/^attach //p' "$out")
	local rx0 drop0 txd0
	rx0=$(stat_of bvb1 rx_packets)
	drop0=$(stat_of bvb1 rx_dropped)
	txd0=$(stat_of bvb0 tx_dropped)
	timeout 120 ip netns exec "$NS" tcpreplay -q -K --topspeed -i bvb0 "$PCAP" >"$TMP/rep.out" 2>&1 || {
		echo "live.sh: tcpreplay failed:" >&2
		cat "$TMP/rep.out" >&2
		return 1
	}
	sleep 0.3
	kill -TERM "$LOADER_PID"
	wait "$LOADER_PID" || { echo "live.sh: bv-attach exited with an error:" >&2; cat "$err" >&2; return 1; }
	LOADER_PID=
	local sent secs pkts first last
	sent=$(sed -n 's/.*Successful packets: *\([0-9]*\).*/\1/p' "$TMP/rep.out")
	secs=$(sed -n 's/.*packets (.*) sent in \([0-9.]*\) seconds.*/\1/p' "$TMP/rep.out")
	pkts=$(sed -n 's/^pkts //p' "$out" | head -n 1)
	first=$(sed -n 's/^first_ns //p' "$out")
	last=$(sed -n 's/^last_ns //p' "$out")
	{
		echo "$label.attach ${attach:-unknown}"
		echo "$label.sent $sent"
		echo "$label.send_secs $secs"
		echo "$label.counted $pkts"
		echo "$label.span_ns $((last - first))"
		echo "$label.veth_rx $(($(stat_of bvb1 rx_packets) - rx0))"
		echo "$label.veth_drop $(($(stat_of bvb1 rx_dropped) - drop0 + $(stat_of bvb0 tx_dropped) - txd0))"
		grep -E '^(act_pass|act_drop|requests|anonymized|pass|malformed|flow_unknown|out_of_order) ' "$out" |
			sed "s/^/$label.bv_/" || true
	} >>"$TMP/res"
}

: >"$TMP/res"
for r in $(seq "$REPS"); do
	run_one "empty$r" --empty
	run_one "bv$r"
done

cat "$TMP/res"
