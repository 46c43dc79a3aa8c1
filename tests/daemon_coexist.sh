#!/usr/bin/env bash
# beaconveil next to another XDP program on the same interface: a tiny
# pass-and-count program (tests/helpers/xdp_count.bpf.c) loaded with
# xdp-loader. With libxdp's multiprog dispatcher both run, beaconveil first
# (priority 10, chains on XDP_PASS), the counter after it (20); stopping,
# killing and restarting the daemon or `beaconveil unload` never touch the
# other program.
#
# Some kernels refuse the dispatcher's freplace (BPF_PROG_TYPE_EXT)
# programs; libxdp then attaches one program alone. The test finds out
# which case this kernel is (xdp-loader status shows a dispatcher or not)
# and checks the behaviour promised for it: with no dispatcher, a program
# already on the interface is never replaced (beaconveil refuses with a
# message naming the other program's tool), and a program arriving later
# cannot displace beaconveil. It says which case it ran.
set -uo pipefail
. "$(dirname "$0")/lib/netns.sh"
bv_isolate "$@"

XC=$BUILD/helpers/xdp_count.bpf.o
[ -f "$XC" ] || bv_fail "$XC missing: run make"
command -v xdp-loader >/dev/null || bv_fail "xdp-loader missing (package xdp-tools)"
XPIN=/sys/fs/bpf/bvtest
mkdir -p "$XPIN"

bv_netns bvpeer
bv_veth bvA bvB bvpeer 198.18.0.1 198.18.0.2
bv_server - 0.0.0.0 18080 "$BV_TMP/rx.txt"
cat >"$BV_TMP/bv.conf" <<'EOF'
[beacon]
ports = 18080
[daemon]
metrics = 127.0.0.1:19477
EOF
bv_request "$BV_TMP/beacon" POST "/rb_bf1?type=js3" "Host: rum.example" \
	"Cookie: dtCookie=v_4_srv_1; rxVisitor=1700000000000ABCDEFGHIJKLMNOPQRSTUVWXYZ123456"
xc() { "$BVNET" mapsum "$XPIN/xc_count"; }
beacon() { # sends a beacon; both counters must move
	local p0 c0
	p0=$(bv_stat pass)
	c0=$(xc)
	[ "$(bv_send bvpeer 198.18.0.1 18080 "$BV_TMP/beacon")" = response ] || bv_fail "$1: no response"
	[ "$(bv_stat pass)" -eq $((p0 + 1)) ] || bv_fail "$1: beaconveil did not see the beacon"
	[ "$(xc)" -gt "$c0" ] || bv_fail "$1: xdp_count did not see the packets"
}

xdp-loader load -m native -p "$XPIN" bvA "$XC" || bv_fail "xdp-loader load"
if grep -q xdp_dispatcher <<<"$(xdp-loader status bvA)"; then
	bv_log "this kernel runs libxdp's multiprog dispatcher: testing both programs together"

	bv_daemon "$BV_TMP/d1.log" -i bvA -c "$BV_TMP/bv.conf"
	D=$BV_DPID
	grep -q "attached to bvA: .*through the libxdp dispatcher" "$BV_TMP/d1.log" || bv_fail "not via the dispatcher"
	"$BV" status >"$BV_TMP/status"
	grep -q "^bvA: beaconveil prog id .*dispatcher with 2 programs: beaconveil_xdp (id [0-9]*, prio 10), xdp_count (id [0-9]*, prio 20)" \
		"$BV_TMP/status" || { cat "$BV_TMP/status"; bv_fail "status does not show both programs in order"; }
	beacon "both attached"
	bv_ok "beaconveil and xdp_count both run on bvA through the dispatcher"

	bv_kill9 "$D"
	beacon "daemon killed"
	bv_daemon "$BV_TMP/d2.log" -i bvA -c "$BV_TMP/bv.conf"
	D=$BV_DPID
	grep -q "adopted the program already enforcing on bvA" "$BV_TMP/d2.log" || bv_fail "no adoption next to xdp_count"
	[ "$(xdp-loader status bvA | grep -c beaconveil_xdp)" -eq 1 ] || bv_fail "beaconveil attached twice"
	beacon "adopted"
	bv_ok "SIGKILL and restart: adopted among two programs, no double attach"

	bv_stop "$D"
	[ "$BV_RC" -eq 0 ] || bv_fail "stop: exit $BV_RC"
	grep -q beaconveil_xdp <<<"$(xdp-loader status bvA)" && bv_fail "beaconveil still attached after stop"
	grep -q xdp_count <<<"$(xdp-loader status bvA)" || bv_fail "stopping beaconveil removed xdp_count"
	c0=$(xc)
	bv_send bvpeer 198.18.0.1 18080 "$BV_TMP/beacon" >/dev/null
	[ "$(xc)" -gt "$c0" ] || bv_fail "xdp_count stopped counting after beaconveil left"
	bv_ok "SIGTERM detaches beaconveil only; xdp_count keeps running"

	# beaconveil first, the other program joins later; unload removes only ours
	xdp-loader unload bvA --all || bv_fail "xdp-loader unload"
	bv_daemon "$BV_TMP/d3.log" -i bvA -c "$BV_TMP/bv.conf"
	D=$BV_DPID
	xdp-loader load -m native -p "$XPIN" bvA "$XC" || bv_fail "xdp-loader load next to beaconveil"
	beacon "xdp_count joined later"
	bv_stop "$D"
	"$BV" unload >/dev/null || bv_fail "unload"
	grep -q xdp_count <<<"$(xdp-loader status bvA)" || bv_fail "unload removed xdp_count"
	xdp-loader unload bvA --all
	bv_ok "a program joining later runs too; unload leaves it alone"
else
	bv_log "this kernel refuses libxdp's dispatcher (xdp-loader attached xdp_count alone):" \
		"testing that neither program displaces the other"
	out=$("$BV" run -i bvA -c "$BV_TMP/bv.conf" 2>&1)
	[ $? -eq 1 ] || bv_fail "beaconveil started over another program"
	grep -q "bvA already has an XDP program that libxdp cannot add ours to.*xdp-loader status bvA" <<<"$out" ||
		bv_fail "message: $out"
	grep -q xdp_count <<<"$(xdp-loader status bvA)" || bv_fail "beaconveil removed xdp_count"
	c0=$(xc)
	bv_send bvpeer 198.18.0.1 18080 "$BV_TMP/beacon" >/dev/null
	[ "$(xc)" -gt "$c0" ] || bv_fail "xdp_count stopped counting"
	bv_ok "beaconveil refuses, xdp_count runs on: $out"

	xdp-loader unload bvA --all || bv_fail "xdp-loader unload"
	bv_daemon "$BV_TMP/d1.log" -i bvA -c "$BV_TMP/bv.conf"
	D=$BV_DPID
	grep -q "WARNING: bvA: libxdp attached beaconveil without its multiprog dispatcher" "$BV_TMP/d1.log" ||
		bv_fail "no warning about the missing dispatcher"
	grep -q "attached without dispatcher: beaconveil_xdp" <("$BV" status) || bv_fail "status does not say 'without dispatcher'"
	xdp-loader load -m native -p "$XPIN" bvA "$XC" >/dev/null 2>&1 && bv_fail "xdp_count displaced beaconveil"
	P0=$(bv_stat pass)
	[ "$(bv_send bvpeer 198.18.0.1 18080 "$BV_TMP/beacon")" = response ] || bv_fail "beacon"
	[ "$(bv_stat pass)" -eq $((P0 + 1)) ] || bv_fail "beaconveil stopped enforcing"
	bv_stop "$D"
	[ "$BV_RC" -eq 0 ] || bv_fail "stop: exit $BV_RC"
	"$BV" unload >/dev/null
	bv_ok "beaconveil warns, then keeps the interface: a later program cannot displace it"
fi
echo "$BV_NAME: all passed"
