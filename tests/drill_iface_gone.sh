#!/usr/bin/env bash
# Fault drill: an interface the daemon serves is deleted under it.
#
# docs/DAEMON.md promises nothing about this. What the daemon does (and
# what this drill holds it to): it keeps running and keeps serving its other
# interfaces (beacons there masked and counted, metrics up); `status` no
# longer lists the deleted one; SIGTERM stops cleanly (exit 0) and says the
# program was no longer attached there. A restart naming the deleted
# interface is refused ("unknown interface", exit 1) while the program on
# the other interface enforces on without a daemon; a restart without it
# adopts that program.
#
# When an interface of that name comes back (driver reload, VF reset, a
# veth re-created), the running daemon attaches to it again within a
# second: beacons through it are masked.
set -uo pipefail
. "$(dirname "$0")/lib/netns.sh"
bv_isolate "$@"

bv_netns bvpeer
bv_veth bvA bvB bvpeer 198.18.0.1 198.18.0.2
bv_veth bvC bvD bvpeer 198.19.0.1 198.19.0.2
cat >"$BV_TMP/bv.conf" <<'EOF'
[beacon]
ports = 18080
[daemon]
metrics = 127.0.0.1:19477
EOF
RX=$BV_TMP/rx.txt
bv_server - 0.0.0.0 18080 "$RX"
bv_request "$BV_TMP/beacon" POST "/rb_bf123?type=js3" "Host: rum.example" \
	"X-Forwarded-For: 198.18.77.99"

# beacon_masked ADDR WHAT — one beacon to ADDR: answered, received masked.
beacon_masked() {
	local r
	: >"$RX"
	r=$(bv_send bvpeer "$1" 18080 "$BV_TMP/beacon")
	[ "$r" = response ] || bv_fail "$2: beacon to $1: $r"
	grep -q "^X-Forwarded-For: 198.18.77.0 " "$RX" || bv_fail "$2: not masked: $(cat "$RX")"
	grep -q "198.18.77.99" "$RX" && bv_fail "$2: client address leaked: $(cat "$RX")"
	return 0
}
metric_pass() {
	curl -sf http://127.0.0.1:19477/metrics |
		sed -n 's/^beaconveil_decisions_total{reason="pass",mode="inline"} \([0-9]*\)$/\1/p'
}

bv_daemon "$BV_TMP/d1.log" -i bvA,bvC -c "$BV_TMP/bv.conf"
D1=$BV_DPID
beacon_masked 198.18.0.1 "bvA before"
beacon_masked 198.19.0.1 "bvC before"
[ "$(metric_pass)" = 2 ] || bv_fail "metrics: pass = $(metric_pass), expected 2"

# --- delete bvA under the running daemon -------------------------------------
ip link del bvA || bv_fail "ip link del bvA"
sleep 2
kill -0 "$D1" 2>/dev/null || bv_fail "the daemon died when bvA was deleted: $(cat "$BV_TMP/d1.log")"
beacon_masked 198.19.0.1 "bvC after bvA was deleted"
[ "$(bv_stat pass)" = 3 ] || bv_fail "kernel pass counter $(bv_stat pass), expected 3"
[ "$(metric_pass)" = 3 ] || bv_fail "metrics after the deletion: pass = $(metric_pass), expected 3"
"$BV" status >"$BV_TMP/status" || bv_fail "status failed after the deletion"
grep -q "^bvC: beaconveil prog id" "$BV_TMP/status" || bv_fail "status lost bvC: $(cat "$BV_TMP/status")"
grep -q "^bvA: " "$BV_TMP/status" && bv_fail "status still lists bvA: $(cat "$BV_TMP/status")"
bv_ok "bvA deleted: the daemon lives on, bvC masked and counted, metrics up"

# --- an interface of the same name comes back --------------------------------
bv_veth bvA bvB bvpeer 198.18.0.1 198.18.0.2
# The daemon attaches to the new bvA within a tick or two: no beacon
# through it leaves unmasked while a daemon claims to serve it.
for _ in $(seq 50); do
	grep -q "bvA: came back" "$BV_TMP/d1.log" && break
	sleep 0.1
done
grep -q "bvA: came back (ifindex [0-9]*): attached again" "$BV_TMP/d1.log" ||
	bv_fail "the daemon did not attach to the re-created bvA: $(cat "$BV_TMP/d1.log")"
beacon_masked 198.18.0.1 "bvA re-created while the daemon runs"
bv_ok "bvA re-created: the daemon attached again, beacons masked"
ip link del bvA

# --- stop; restarts ---------------------------------------------------------
bv_stop "$D1"
[ "$BV_RC" -eq 0 ] || bv_fail "SIGTERM after the deletion: exit $BV_RC: $(cat "$BV_TMP/d1.log")"
grep -q "bvA: program id [0-9]* was no longer attached" "$BV_TMP/d1.log" ||
	bv_fail "stop did not say bvA's program was gone: $(cat "$BV_TMP/d1.log")"
grep -q "detached from bvC" "$BV_TMP/d1.log" || bv_fail "stop did not detach bvC"
bv_ok "SIGTERM: exit 0, bvA reported gone, bvC detached"

bv_daemon "$BV_TMP/d2.log" -i bvC -c "$BV_TMP/bv.conf"
D2=$BV_DPID
ID=$(bv_prog_id bvC)
bv_kill9 "$D2"
out=$("$BV" run -i bvA,bvC -c "$BV_TMP/bv.conf" 2>&1)
rc=$?
[ "$rc" -eq 1 ] || bv_fail "restart naming a deleted interface: exit $rc: $out"
grep -q "unknown interface 'bvA'" <<<"$out" || bv_fail "restart naming a deleted interface: $out"
grep -q "^bvC: beaconveil prog id $ID, .*no daemon (still enforcing" <<<"$("$BV" status)" ||
	bv_fail "bvC's program is gone after the refused restart: $("$BV" status)"
beacon_masked 198.19.0.1 "bvC with no daemon after the refused restart"
bv_daemon "$BV_TMP/d3.log" -i bvC -c "$BV_TMP/bv.conf"
grep -q "adopted the program already enforcing on bvC: program id $ID," "$BV_TMP/d3.log" ||
	bv_fail "restart on bvC did not adopt program $ID: $(cat "$BV_TMP/d3.log")"
beacon_masked 198.19.0.1 "bvC after adoption"
bv_stop "$BV_DPID"
[ "$BV_RC" -eq 0 ] || bv_fail "final stop: exit $BV_RC"
"$BV" unload >/dev/null || bv_fail "unload"
bv_ok "restart naming the deleted interface refused (exit 1); bvC enforced throughout; adoption"
echo "$BV_NAME: all passed"
