#!/usr/bin/env bash
# Restarts lose no count. A daemon on two interfaces (bvA, bvC) sees
# beacons of three decisions on each; it is stopped cleanly and started
# again, then SIGKILLed (beacons go on without it) and started again, which
# adopts the program. After each start, before and after more beacons:
# the per-interface decisions on /metrics and in `beaconveil stats --json`
# are exactly what was sent through each interface, and per reason they add
# up to the kernel's decisions (`stats --json` .decisions, from bv_stats);
# events_received is every decision the kernel counted less events_lost
# (events sent while no daemon ran wait in the ring, `stats` shows them
# pending, and the next daemon reads them, none twice).
set -uo pipefail
. "$(dirname "$0")/lib/netns.sh"
bv_isolate "$@"

bv_netns bvpeer
bv_veth bvA bvB bvpeer 198.18.0.1 198.18.0.2
bv_veth bvC bvD bvpeer 198.19.0.1 198.19.0.2
cat >"$BV_TMP/bv.conf" <<'EOF'
[global]
drop_action = reset
[beacon]
ports = 18080
[daemon]
metrics = 127.0.0.1:19477
EOF
bv_server - 0.0.0.0 18080 "$BV_TMP/rx.txt"
B="/rb_bf123?type=js3"
XFF="X-Forwarded-For: 198.18.77.99"
bv_request "$BV_TMP/pass" POST "$B" "Host: rum.example" "$XFF" "Cookie: dtCookie=v_4_srv_1; rxVisitor=V1"
bv_request "$BV_TMP/anonymized" POST "$B" "Host: rum.example" "$XFF" "DNT: 1" "Cookie: dtCookie=v_4_srv_2; rxVisitor=V2"
bv_request "$BV_TMP/dropped_disabled" POST "$B" "Host: rum.example" "$XFF" "Cookie: dtCookie=v_4_srv_3; dtDisabled=true"
REASONS="pass anonymized dropped_dnt dropped_gpc dropped_no_consent dropped_disabled dropped_level_off dropped_crash_report malformed"
declare -A EXP  # EXP[IFACE.reason]: beacons sent through IFACE with that decision
for r in $REASONS; do EXP[bvA.$r]=0; EXP[bvC.$r]=0; done

# send IFACE REASON N — N beacons through IFACE that get REASON.
send() {
	local addr want=response i r
	[ "$1" = bvA ] && addr=198.18.0.1 || addr=198.19.0.1
	[ "$2" = dropped_disabled ] && want=reset
	for ((i = 0; i < $3; i++)); do
		r=$(bv_send bvpeer "$addr" 18080 "$BV_TMP/$2" 2000)
		[ "$r" = "$want" ] || bv_fail "$2 beacon via $1: $r (expected $want)"
		EXP[$1.$2]=$((EXP[$1.$2] + 1))
	done
}
traffic() {
	send bvA pass 3
	send bvA anonymized 2
	send bvA dropped_disabled 1
	send bvC pass 1
	send bvC anonymized 2
	send bvC dropped_disabled 2
}
metric() { sed -n "s/^$1 \([0-9]*\)\$/\1/p" "$BV_TMP/metrics"; }

# agree WHEN — every per-reason figure against the kernel's and the sent ones.
agree() {
	local when=$1 ok=0 i r k sum n a
	for ((i = 0; i < 50; i++)); do
		"$BV" stats --json >"$BV_TMP/stats.json" 2>/dev/null || bv_fail "$when: stats --json failed"
		curl -sf http://127.0.0.1:19477/metrics >"$BV_TMP/metrics" || bv_fail "$when: no metrics"
		k=$(jq '.decisions_total - .counters.events_lost' "$BV_TMP/stats.json")
		# both readers caught up (stats ran before the scrape: the daemon
		# may consume between the two)
		[ "$(metric beaconveil_events_received_total)" = "$k" ] &&
			[ "$(jq .events.received "$BV_TMP/stats.json")" = "$k" ] && { ok=1; break; }
		sleep 0.1
	done
	[ "$ok" = 1 ] || bv_fail "$when: events_received_total $(metric beaconveil_events_received_total), the kernel counted $k decisions with an event"
	for r in $REASONS; do
		k=$(jq ".decisions.$r" "$BV_TMP/stats.json")
		sum=0
		for a in bvA bvC; do
			n=$(metric "beaconveil_interface_decisions_total{interface=\"$a\",reason=\"$r\"}")
			[ "$n" = "${EXP[$a.$r]}" ] ||
				bv_fail "$when: /metrics $a $r = ${n:-none}, sent ${EXP[$a.$r]} (kernel $r = $k)"
			sum=$((sum + n))
		done
		[ "$sum" = "$k" ] || bv_fail "$when: $r: interfaces add up to $sum, the kernel counted $k"
	done
	# stats reads the same kernel figures without the daemon
	k=$(jq '.decisions_total - .counters.events_lost' "$BV_TMP/stats.json")
	[ "$(jq .events.received "$BV_TMP/stats.json")" = "$k" ] ||
		bv_fail "$when: stats --json events.received $(jq .events.received "$BV_TMP/stats.json"), expected $k"
	[ "$(jq .events.pending "$BV_TMP/stats.json")" = 0 ] || bv_fail "$when: events pending after catching up"
	for r in $REASONS; do
		for a in bvA bvC; do
			n=$(jq ".interfaces.$a.$r" "$BV_TMP/stats.json")
			[ "$n" = "${EXP[$a.$r]}" ] ||
				bv_fail "$when: stats --json interfaces.$a.$r = $n, sent ${EXP[$a.$r]}"
		done
	done
	bv_ok "$when: per-interface decisions and events received agree with the kernel ($(jq .decisions_total "$BV_TMP/stats.json") decisions)"
}

bv_daemon "$BV_TMP/d1.log" -i bvA,bvC -c "$BV_TMP/bv.conf"
D1=$BV_DPID
traffic
agree "first daemon"

# --- clean stop and start -------------------------------------------------
bv_stop "$D1"
[ "$BV_RC" -eq 0 ] || bv_fail "stop: exit $BV_RC"
bv_daemon "$BV_TMP/d2.log" -i bvA,bvC -c "$BV_TMP/bv.conf"
D2=$BV_DPID
agree "after SIGTERM and start"
traffic
agree "after SIGTERM, start and more beacons"

# --- SIGKILL, beacons with no daemon, adoption ----------------------------
bv_kill9 "$D2"
R0=$(jq .events.received "$BV_TMP/stats.json")
traffic
# the events of the dead time wait in the pinned ring for the next daemon
"$BV" stats --json >"$BV_TMP/dead.json" 2>/dev/null || bv_fail "stats --json without a daemon"
[ "$(jq .events.received "$BV_TMP/dead.json")" = "$R0" ] || bv_fail "events received while no daemon ran?"
[ "$(jq .events.pending "$BV_TMP/dead.json")" = 11 ] ||
	bv_fail "events pending with no daemon: $(jq .events "$BV_TMP/dead.json"), 11 beacons sent"
bv_daemon "$BV_TMP/d3.log" -i bvA,bvC -c "$BV_TMP/bv.conf"
D3=$BV_DPID
grep -q "adopted the program already enforcing on bvA" "$BV_TMP/d3.log" || bv_fail "no adoption: $(cat "$BV_TMP/d3.log")"
agree "after SIGKILL and adoption"
traffic
agree "after adoption and more beacons"
bv_stop "$D3"
[ "$BV_RC" -eq 0 ] || bv_fail "last stop: exit $BV_RC"
"$BV" unload >/dev/null || bv_fail "unload"
echo "$BV_NAME: all passed"
