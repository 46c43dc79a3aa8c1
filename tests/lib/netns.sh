# shellcheck shell=bash
# Shared test bed for the daemon tests (tests/daemon_*.sh): sourced, not run.
#
# bv_isolate re-runs the calling test inside its own mount and network
# namespaces (unshare), with its own sysfs, a fresh bpffs at /sys/fs/bpf and
# a tmpfs on /run. The daemon runs there "in the root namespace" of the
# test: it sees its bpffs and pins under /sys/fs/bpf/beaconveil, its lock
# files under /run/beaconveil, and veth ends the test creates. Nothing of
# the host is touched (its XDP programs, pins, /run/beaconveil), and when
# the test ends everything it made goes away with the namespaces; the EXIT
# trap also kills every process the test started and deletes its peer
# namespaces and links.
#
# Addresses: 198.18.0.0/15 and 2001:db8::/32 only. Every wait is bounded.

BV_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$BV_ROOT/$BUILD ;; esac
BV=$BUILD/beaconveil
BVNET=$BUILD/helpers/bvnet
# shellcheck disable=SC2034 # used by the tests that source this
BV_PIN=/sys/fs/bpf/beaconveil
BV_PIDS=()
BV_NETNS=()
BV_TMP=
BV_NAME=$(basename "$0" .sh)

bv_log() { printf '%s: %s\n' "$BV_NAME" "$*"; }
bv_fail() {
	printf '%s: FAIL: %s\n' "$BV_NAME" "$*" >&2
	exit 1
}
bv_ok() { printf '%s: ok: %s\n' "$BV_NAME" "$*"; }

# bv_isolate "$@" — first thing a test does.
bv_isolate() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "$BV_NAME: needs root (XDP, network namespaces): run via sudo make check" >&2
		exit 1
	fi
	for f in "$BV" "$BVNET" "$BUILD/helpers/xdp_count.bpf.o"; do
		[ -f "$f" ] || { echo "$BV_NAME: $f missing: run make first" >&2; exit 1; }
	done
	if [ -z "${BV_ISOLATED:-}" ]; then
		export BV_ISOLATED=1
		exec unshare --mount --net --propagation private -- bash "$0" "$@"
	fi
	mount -t sysfs sysfs /sys || bv_fail "cannot mount a private sysfs"
	mount -t bpf bpf /sys/fs/bpf || bv_fail "cannot mount a private bpffs"
	mount -t tmpfs tmpfs /run || bv_fail "cannot mount a private /run"
	ip link set lo up
	BV_TMP=$(mktemp -d /tmp/"$BV_NAME".XXXXXX)
	trap bv_cleanup EXIT
	trap 'exit 130' INT TERM
}

bv_cleanup() {
	local rc=$? p
	trap - EXIT
	for p in "${BV_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${BV_PIDS[@]}"; do
		bv_reap "$p" 5
	done
	for p in "${BV_NETNS[@]}"; do
		ip netns pids "$p" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
		ip netns del "$p" 2>/dev/null
	done
	if [ "$rc" -ne 0 ] && [ -n "$BV_TMP" ]; then
		local f
		for f in "$BV_TMP"/*.log; do
			[ -f "$f" ] || continue
			echo "----- $f"
			tail -n 40 "$f"
		done
	fi
	[ -n "$BV_TMP" ] && rm -rf "$BV_TMP"
	exit "$rc"
}

# bv_reap PID SECONDS — waits for our child PID to exit, SIGKILLing it
# after SECONDS; its exit status in BV_RC (137: it had to be killed).
bv_reap() {
	local pid=$1 t=$2 i st
	for ((i = 0; i < t * 10; i++)); do
		st=$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)
		[ -z "$st" ] || [ "$st" = Z ] && break
		sleep 0.1
	done
	[ -n "$st" ] && [ "$st" != Z ] && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	BV_RC=$?
	return 0
}

# bv_kill9 PID — SIGKILL our child and reap it.
bv_kill9() {
	kill -KILL "$1" 2>/dev/null
	bv_reap "$1" 5
}

# bv_until SECONDS CMD... — retry CMD every 0.1 s until it succeeds.
bv_until() {
	local t=$1 i
	shift
	for ((i = 0; i < t * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# bv_netns NAME — a peer network namespace, deleted at exit.
bv_netns() {
	ip netns add "$1" || bv_fail "ip netns add $1"
	BV_NETNS+=("$1")
	ip -n "$1" link set lo up
}

# bv_veth ROOTIF PEERIF PEERNS ROOT4 PEER4 [ROOT6 PEER6]
# A veth pair: ROOTIF stays here (where the daemon attaches), PEERIF goes
# into PEERNS (where clients send from). Addresses are /24 and /64. TX
# checksum offload is off on both ends (XDP rewrites must not meet partial
# checksums) and VLAN offload too. PEERIF gets a pass-and-count XDP program
# (tests/helpers/xdp_count.bpf.c): frames that XDP sends back out of ROOTIF
# (XDP_TX: drop_action=reset) or redirects into a veth reach the other end
# at once only when that end runs XDP itself (with GRO alone they wait in
# its ring for the next unrelated packet, seconds at times).
bv_veth() {
	local r=$1 p=$2 ns=$3
	ip link add "$r" type veth peer name "$p" || bv_fail "ip link add $r"
	ip link set "$p" netns "$ns"
	ip addr add "$4/24" dev "$r"
	ip -n "$ns" addr add "$5/24" dev "$p"
	if [ -n "${6:-}" ]; then
		ip addr add "$6/64" dev "$r" nodad
		ip -n "$ns" addr add "$7/64" dev "$p" nodad
	fi
	ethtool -K "$r" tx off rxvlan off txvlan off >/dev/null 2>&1
	ip netns exec "$ns" ethtool -K "$p" tx off rxvlan off txvlan off tso off gso off >/dev/null 2>&1 ||
		bv_fail "ethtool -K $p tx off failed"
	ip link set "$r" up
	ip -n "$ns" link set "$p" up
	bv_peer_xdp "$ns" "$p"
}

# bv_peer_xdp NS IF — xdp_count on IF in NS (its counter pinned under
# /sys/fs/bpf/peer-IF). nsenter, not `ip netns exec`: the latter remounts
# /sys and would hide the test's bpffs.
bv_peer_xdp() {
	mkdir -p "/sys/fs/bpf/peer-$2"
	nsenter --net="/run/netns/$1" xdp-loader load -m native -p "/sys/fs/bpf/peer-$2" "$2" \
		"$BUILD/helpers/xdp_count.bpf.o" >/dev/null 2>&1 ||
		bv_fail "cannot load xdp_count on $2 in $1 (xdp-loader, build/helpers/xdp_count.bpf.o)"
}

# bv_daemon LOG ARGS... — starts `beaconveil run ARGS` in the background
# (stderr and stdout to LOG), waits until it says "ready" (20 s at most).
# Sets BV_DPID. Fails the test if it exits or never gets ready.
bv_daemon() {
	local log=$1
	shift
	"$BV" run "$@" >"$log" 2>&1 &
	BV_DPID=$!
	BV_PIDS+=("$BV_DPID")
	if ! bv_until 20 grep -qs "ready: pid" "$log"; then
		kill -0 "$BV_DPID" 2>/dev/null && kill -KILL "$BV_DPID"
		cat "$log" >&2
		bv_fail "daemon ($*) did not get ready"
	fi
}

# bv_stop PID [SECONDS] — SIGTERM, wait (10 s at most); the daemon's exit
# status in BV_RC. Not in $(...): only this shell can reap its children.
bv_stop() {
	kill -TERM "$1" 2>/dev/null
	bv_reap "$1" "${2:-10}"
	[ "$BV_RC" -ne 137 ] || bv_fail "daemon $1 did not stop on SIGTERM within ${2:-10}s"
}

# bv_server NS ADDR PORT OUT — a bvnet HTTP sink (in this namespace when NS
# is "-"), its requests appended to OUT. Sets BV_SPID.
bv_server() {
	local ns=$1 ready=$BV_TMP/server.$RANDOM
	shift
	if [ "$ns" = - ]; then
		"$BVNET" serve "$@" >"$ready" 2>&1 &
	else
		ip netns exec "$ns" "$BVNET" serve "$@" >"$ready" 2>&1 &
	fi
	BV_SPID=$!
	BV_PIDS+=("$BV_SPID")
	bv_until 10 grep -qs listening "$ready" || { cat "$ready" >&2; bv_fail "server $* did not start"; }
}

# bv_request FILE METHOD TARGET HEADER... — an HTTP/1.1 request with CRLF
# line ends and no body (Content-Length: 0).
bv_request() {
	local f=$1 m=$2 t=$3 h
	shift 3
	{
		printf '%s %s HTTP/1.1\r\n' "$m" "$t"
		for h in "$@"; do
			printf '%s\r\n' "$h"
		done
		printf 'Content-Length: 0\r\n\r\n'
	} >"$f"
}

# bv_send NS ADDR PORT FILE [TIMEOUT_MS] — prints response|reset|closed|timeout.
bv_send() {
	local ns=$1
	shift
	ip netns exec "$ns" "$BVNET" send "$@"
}

# bv_stat NAME — a bv_stats counter (summed over CPUs).
bv_stat() { "$BVNET" stat "$1"; }

# bv_prog_id IFACE — id of the beaconveil program on IFACE per `status`.
bv_prog_id() {
	"$BV" status | sed -n "s/^$1: beaconveil prog id \([0-9]*\),.*/\1/p"
}
