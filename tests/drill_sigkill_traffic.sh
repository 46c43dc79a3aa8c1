#!/usr/bin/env bash
# Fault drill: SIGKILL the daemon in the middle of traffic, then restart it.
#
# A bounded background sender (one connection per beacon, at most 2000
# beacons or 60 s) sends beacons from the peer namespace the whole time:
# every one with its own client address in X-Forwarded-For (IPv4 and
# IPv6), every second one with DNT: 1 and a visitor id that must never
# reach the server. While it runs: the daemon is SIGKILLed, beacons go on
# for two seconds with no daemon, a new daemon adopts the program. Then:
# every beacon was answered; the server received exactly as many requests
# as were sent, none with an unmasked address or a DNT visitor id; the
# kernel counters count every beacon (none lost over the restart).
set -uo pipefail
. "$(dirname "$0")/lib/netns.sh"
bv_isolate "$@"

bv_netns bvpeer
bv_veth bvA bvB bvpeer 198.18.0.1 198.18.0.2 2001:db8:18::1 2001:db8:18::2
cat >"$BV_TMP/bv.conf" <<'EOF'
[beacon]
ports = 18080
[daemon]
metrics = 127.0.0.1:19477
EOF
RX=$BV_TMP/rx.txt
SENT=$BV_TMP/sent.txt
: >"$SENT"
bv_server - 0.0.0.0 18080 "$RX"
DNTVIS=1700000000000DNTVISITORABCDEFGHIJKLMNOPQRSTU
KEEPVIS=1700000000000KEEPVISITORABCDEFGHIJKLMNOPQRS

# sender — beacon i: X-Forwarded-For 198.18.A.B, 2001:db8:C:beef::D (the
# /24 and /48 kept: B and "beef" must never arrive); odd i with DNT: 1.
sender() {
	local i=0 t0=$SECONDS f=$BV_TMP/req r
	while [ ! -e "$BV_TMP/stop" ] && [ "$i" -lt 2000 ] && [ $((SECONDS - t0)) -lt 60 ]; do
		i=$((i + 1))
		if ((i % 2)); then
			bv_request "$f" POST "/rb_bf$i?type=js3" "Host: rum.example" \
				"X-Forwarded-For: 198.18.$((i % 200 + 10)).$((i % 250 + 1)), 2001:db8:$((i % 900 + 1)):beef::$i" \
				"DNT: 1" "Cookie: dtCookie=v_4_srv_$i; rxVisitor=$DNTVIS"
		else
			bv_request "$f" POST "/rb_bf$i?type=js3" "Host: rum.example" \
				"X-Forwarded-For: 198.18.$((i % 200 + 10)).$((i % 250 + 1)), 2001:db8:$((i % 900 + 1)):beef::$i" \
				"Cookie: dtCookie=v_4_srv_$i; rxVisitor=$KEEPVIS"
		fi
		r=$(ip netns exec bvpeer "$BVNET" send 198.18.0.1 18080 "$f" 2000)
		echo "$i $r" >>"$SENT"
	done
}
nsent() { wc -l <"$SENT"; }
# wait_sent N — until N beacons were sent (30 s at most).
wait_sent() {
	bv_until 30 bash -c "[ \$(wc -l <'$SENT') -ge $1 ]" || bv_fail "the sender is stuck at $(nsent) beacons (waiting for $1)"
}

bv_daemon "$BV_TMP/d1.log" -i bvA -c "$BV_TMP/bv.conf"
D1=$BV_DPID
ID=$(bv_prog_id bvA)
P0=$(bv_stat pass)
A0=$(bv_stat anonymized)
T0=$(date +%s.%N)
sender &
SPID=$!
BV_PIDS+=("$SPID")

wait_sent 20
bv_kill9 "$D1"
TK=$(date +%s.%N)
N_KILL=$(nsent)
grep -q "^bvA: beaconveil prog id $ID, .*no daemon (still enforcing" <<<"$("$BV" status)" ||
	bv_fail "program $ID not enforcing after SIGKILL: $("$BV" status)"
wait_sent $((N_KILL + 30))
sleep 2 # at least two seconds of traffic with no daemon
N_DEAD=$(($(nsent) - N_KILL))
TR=$(date +%s.%N)
bv_daemon "$BV_TMP/d2.log" -i bvA -c "$BV_TMP/bv.conf"
D2=$BV_DPID
TREADY=$(date +%s.%N)
grep -q "adopted the program already enforcing on bvA: program id $ID," "$BV_TMP/d2.log" ||
	bv_fail "the restart did not adopt program $ID: $(cat "$BV_TMP/d2.log")"
N_RESTART=$(nsent)
wait_sent $((N_RESTART + 20))
touch "$BV_TMP/stop"
bv_reap "$SPID" 10
T1=$(date +%s.%N)
N=$(nsent)

# --- what reached the receiver ------------------------------------------------
bad=$(grep -cv " response$" "$SENT")
[ "$bad" -eq 0 ] || bv_fail "$bad beacons not answered: $(grep -v " response$" "$SENT" | head -5)"
got=$(grep -c "^--- request " "$RX")
[ "$got" -eq "$N" ] || bv_fail "the server got $got requests, $N were sent"
xff=$(grep -c "^X-Forwarded-For: " "$RX")
[ "$xff" -eq "$N" ] || bv_fail "$xff X-Forwarded-For lines for $N requests"
# masked, length kept: the last octet becomes "0" and spaces, every IPv6
# group after the third zeros of the same length
MASKED="^X-Forwarded-For: 198\.18\.[0-9]{1,3}\.0 *, 2001:db8:[0-9]{1,3}:[0:]+ *"$'\r'"?$"
leak=$(grep "^X-Forwarded-For: " "$RX" | grep -cvE "$MASKED")
[ "$leak" -eq 0 ] || bv_fail "$leak unmasked addresses reached the server: $(grep "^X-Forwarded-For: " "$RX" |
	grep -vE "$MASKED" | head -3)"
grep -q beef "$RX" && bv_fail "an IPv6 client address beyond /48 reached the server"
grep -q "$DNTVIS" "$RX" && bv_fail "a DNT visitor id reached the server: $(grep -c "$DNTVIS" "$RX") times"
[ "$(grep -c "rxVisitor=$KEEPVIS" "$RX")" -eq $((N / 2)) ] || bv_fail "visitor ids of beacons without DNT were not kept"
P=$(($(bv_stat pass) - P0))
A=$(($(bv_stat anonymized) - A0))
if [ "$P" -ne $((N / 2)) ] || [ "$A" -ne $(((N + 1) / 2)) ]; then
	bv_fail "counters: pass $P, anonymized $A for $N beacons ($((N / 2)) without DNT)"
fi
bv_ok "$N beacons ($N_DEAD while no daemon ran): all answered, all masked, no DNT visitor id, all counted"
printf '%s: numbers: %d beacons in %.1f s; SIGKILL after %d; %d sent in the %.1f s without daemon; restart ready in %.2f s (adopted program %s)\n' \
	"$BV_NAME" "$N" "$(echo "$T1 - $T0" | bc)" "$N_KILL" "$N_DEAD" "$(echo "$TR - $TK" | bc)" \
	"$(echo "$TREADY - $TR" | bc)" "$ID"

bv_stop "$D2"
[ "$BV_RC" -eq 0 ] || bv_fail "stop: exit $BV_RC"
"$BV" unload >/dev/null || bv_fail "unload"
echo "$BV_NAME: all passed"
