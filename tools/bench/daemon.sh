#!/usr/bin/env bash
# The daemon's share of `make bench`: `beaconveil run` attached natively to a
# veth end in a throwaway network namespace (private bpffs), a beacon capture
# replayed at top speed a bounded number of times, and the daemon's CPU time
# and memory sampled from /proc while it turns the kernel's events into
# sessions and visitor estimates. Prints "key value" lines for bench.sh.
#
#   tools/bench/daemon.sh PCAP [PASSES]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
PCAP=$1
PASSES=${2:-5}
NS=bvbench-d-$$
TMP=$(mktemp -d /tmp/bvbench-daemon.XXXXXX)
DPID=

cleanup() {
	if [ -n "$DPID" ]; then
		kill -TERM "$DPID" 2>/dev/null || true
		wait "$DPID" 2>/dev/null || true
	fi
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$NS"
ip -n "$NS" link add bvd0 type veth peer name bvd1
for i in bvd0 bvd1; do
	ip netns exec "$NS" sysctl -qw "net.ipv6.conf.$i.disable_ipv6=1"
	ip netns exec "$NS" ethtool -K "$i" tx off rxvlan off txvlan off >/dev/null 2>&1 || true
	ip -n "$NS" link set "$i" up
done
ip -n "$NS" link set lo up

# The daemon in the namespace, with a bpffs of its own (ip netns exec gives a
# private mount namespace) and /run of its own for its locks.
ip netns exec "$NS" sh -c 'mount -t bpf bpf /sys/fs/bpf && mount -t tmpfs tmpfs /run && exec "$@"' \
	sh "$BUILD/beaconveil" run -i bvd1 --metrics 127.0.0.1:19477 >"$TMP/d.out" 2>"$TMP/d.err" &
DPID=$!
for _ in $(seq 100); do
	ip netns exec "$NS" bash -c 'exec 3<>/dev/tcp/127.0.0.1/19477' 2>/dev/null && break
	kill -0 "$DPID" 2>/dev/null || { echo "daemon.sh: beaconveil run failed:" >&2; cat "$TMP/d.err" >&2; exit 1; }
	sleep 0.1
done

metric() { # sum of a metric family from the daemon's page
	ip netns exec "$NS" bash -c 'exec 3<>/dev/tcp/127.0.0.1/19477; printf "GET /metrics HTTP/1.0\r\n\r\n" >&3; cat <&3' |
		awk -v m="$1" '$1 == m || index($1, m "{") == 1 { s += $NF } END { printf "%d\n", s }'
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$DPID/stat"; }
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$DPID/status"; }

# the daemon is `sh` exec'ed into beaconveil: same pid
hz=$(getconf CLK_TCK)
ev0=$(metric beaconveil_events_received_total)
t0=$(cpu_ticks)
rss0=$(rss_kb)
s0=$(date +%s.%N)
for _ in $(seq "$PASSES"); do
	timeout 120 ip netns exec "$NS" tcpreplay -q -K --topspeed -i bvd0 "$PCAP" >/dev/null 2>&1
done
sleep 1.5   # let the daemon drain the ring and tick once
s1=$(date +%s.%N)
t1=$(cpu_ticks)
rss1=$(rss_kb)
hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$DPID/status")
ev1=$(metric beaconveil_events_received_total)
lost=$(metric beaconveil_events_lost_total)
echo "daemon.events $((ev1 - ev0))"
echo "daemon.events_lost $lost"
awk -v a="$s0" -v b="$s1" 'BEGIN { printf "daemon.wall_s %.3f\n", b - a }'
awk -v a="$t0" -v b="$t1" -v hz="$hz" 'BEGIN { printf "daemon.cpu_s %.3f\n", (b - a) / hz }'
echo "daemon.rss_kb_before $rss0"
echo "daemon.rss_kb_after $rss1"
echo "daemon.rss_kb_peak $hwm"
