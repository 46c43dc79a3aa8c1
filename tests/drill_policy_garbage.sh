#!/usr/bin/env bash
# Fault drill: garbage written into the live policy with bpftool, against a
# running daemon. README: a value out of range is replaced by that field's
# default in the kernel; an entry whose `valid` byte is not 1 means all
# defaults. So after each write below, real beacons must be handled exactly
# as with the defaults: client addresses masked to /24 and /48, DNT
# anonymizes (visitor id replaced), dtDisabled=true dropped, no signal
# passes with its visitor id. Written: bv_policy[0] every byte 0xff;
# valid = 0 with every other field at its most permissive value; valid = 1
# with every other byte 0xff; the same three as an override of app=a1 in
# bv_apppol. The daemon must live through it, `policy get` must show the
# defaults in force with a note, and SIGHUP must write a valid policy back.
set -uo pipefail
. "$(dirname "$0")/lib/netns.sh"
bv_isolate "$@"

bv_netns bvpeer
bv_veth bvA bvB bvpeer 198.18.0.1 198.18.0.2
cat >"$BV_TMP/bv.conf" <<'EOF'
[beacon]
ports = 18080
[daemon]
metrics = 127.0.0.1:19477
EOF
RX=$BV_TMP/rx.txt
bv_server - 0.0.0.0 18080 "$RX"
VIS=1700000000000ABCDEFGHIJKLMNOPQRSTUVWXYZ123456
XFF="X-Forwarded-For: 198.18.77.99, 2001:db8:1:2::5"
MASKED="X-Forwarded-For: 198.18.77.0 , 2001:db8:1:0::0"
B="/rb_bf123?type=js3&app=a1"
bv_request "$BV_TMP/dnt" POST "$B" "Host: rum.example" "$XFF" "DNT: 1" "Cookie: dtCookie=v_4_srv_1; rxVisitor=$VIS"
bv_request "$BV_TMP/plain" POST "$B" "Host: rum.example" "$XFF" "Cookie: dtCookie=v_4_srv_1; rxVisitor=$VIS"
bv_request "$BV_TMP/disabled" POST "$B" "Host: rum.example" "$XFF" "Cookie: dtCookie=v_4_srv_1; dtDisabled=true"

bv_daemon "$BV_TMP/d.log" -i bvA -c "$BV_TMP/bv.conf"
D=$BV_DPID

# send FILE [TIMEOUT_MS] — the client's outcome; the received bytes in $RX.
send() {
	: >"$RX"
	bv_send bvpeer 198.18.0.1 18080 "$BV_TMP/$1" "${2:-2000}"
}

# defaults_hold LABEL — the three beacons are handled as with the defaults.
defaults_hold() {
	local l=$1 r a0 p0 d0
	a0=$(bv_stat anonymized)
	p0=$(bv_stat pass)
	d0=$(bv_stat dropped_disabled)
	r=$(send dnt)
	[ "$r" = response ] || bv_fail "$l: DNT beacon: $r"
	grep -q "^$MASKED" "$RX" || bv_fail "$l: DNT beacon not masked: $(cat "$RX")"
	grep -q "$VIS" "$RX" && bv_fail "$l: DNT beacon kept its visitor id: $(cat "$RX")"
	grep -q "rxVisitor=" "$RX" || bv_fail "$l: DNT beacon lost its cookie: $(cat "$RX")"
	[ "$(bv_stat anonymized)" -eq $((a0 + 1)) ] || bv_fail "$l: DNT beacon not counted anonymized"
	r=$(send plain)
	[ "$r" = response ] || bv_fail "$l: plain beacon: $r"
	grep -q "^$MASKED" "$RX" || bv_fail "$l: plain beacon not masked: $(cat "$RX")"
	grep -q "rxVisitor=$VIS" "$RX" || bv_fail "$l: plain beacon lost its visitor id: $(cat "$RX")"
	[ "$(bv_stat pass)" -eq $((p0 + 1)) ] || bv_fail "$l: plain beacon not counted pass"
	r=$(send disabled 1000)
	[ "$r" = timeout ] || bv_fail "$l: dtDisabled beacon: $r (expected dropped)"
	[ -s "$RX" ] && bv_fail "$l: a dropped beacon reached the server: $(cat "$RX")"
	[ "$(bv_stat dropped_disabled)" -eq $((d0 + 1)) ] || bv_fail "$l: dtDisabled not counted"
	grep -qE "198\.18\.77\.99|2001:db8:1:2::5" "$RX" && bv_fail "$l: address leaked"
	kill -0 "$D" 2>/dev/null || bv_fail "$l: the daemon died: $(cat "$BV_TMP/d.log")"
	curl -sf http://127.0.0.1:19477/metrics >/dev/null || bv_fail "$l: metrics down"
	return 0
}

# policy_shows_defaults LABEL [--app a1] — `policy get` says the defaults
# are in force: printed as such with a note when `valid` is not 1 (the
# entry counts as never written), else each out-of-range value as its
# number with a note naming the default the program uses (DAEMON.md).
DEFAULTS="ip_mask=all ipv4_prefix=24 ipv6_prefix=48 respect_dnt=on dnt_action=anonymize
	honour_disabled=on collection_level=user_behavior crash_reports=on opt_in=off"
policy_shows_defaults() {
	local l=$1 out rc kv
	shift
	out=$("$BV" policy get "$@" 2>&1)
	rc=$?
	[ "$rc" -eq 0 ] || bv_fail "$l: policy get $*: exit $rc: $out"
	if grep -q "valid = " <<<"$out"; then
		grep -q "note: .*defaults" <<<"$out" || bv_fail "$l: policy get $* has no note: $out"
		for kv in $DEFAULTS; do
			grep -qx "${kv%%=*} = ${kv#*=}" <<<"$out" || bv_fail "$l: policy get $* lacks '$kv': $out"
		done
	else
		for kv in $DEFAULTS; do
			grep -q "${kv%%=*}: out of range: the program uses the default, ${kv#*=}\$" <<<"$out" ||
				bv_fail "$l: policy get $* has no note for $kv: $out"
		done
	fi
}

hexes() { local v=$1 n=$2; printf "$v %.0s" $(seq "$n"); }
FF16=$(hexes ff 16)
PERMISSIVE="00 02 20 80 00 00 00 00 01 00 00 00 01 00 00 00" # valid 0, everything off/wide
VALID_FF="01 $(hexes ff 15)"
APPKEY="01 02 00 00 61 31 $(hexes 00 62)"

defaults_hold "config defaults"

i=0
for v in "$FF16" "$PERMISSIVE" "$VALID_FF"; do
	i=$((i + 1))
	# shellcheck disable=SC2086 # the bytes are words
	bpftool map update pinned "$BV_PIN/bv_policy" key 0 0 0 0 value hex $v ||
		bv_fail "bpftool update bv_policy ($v)"
	defaults_hold "bv_policy = $v"
	policy_shows_defaults "bv_policy = $v"
	bv_ok "bv_policy[0] = $v: defaults in force"
done

"$BV" policy set ip_mask all >/dev/null 2>&1 || bv_fail "policy set after garbage"
for v in "$FF16" "$PERMISSIVE" "$VALID_FF"; do
	# shellcheck disable=SC2086
	bpftool map update pinned "$BV_PIN/bv_apppol" key hex $APPKEY value hex $v ||
		bv_fail "bpftool update bv_apppol ($v)"
	defaults_hold "app:a1 = $v"
	policy_shows_defaults "app:a1 = $v" --app a1
	bv_ok "bv_apppol[app:a1] = $v: defaults in force"
done

# An override that is garbage next to a global policy stricter than the
# defaults: garbage never weakens privacy, so out-of-range fields of an
# override fall back to the global policy, not to the built-in defaults.
bv_request "$BV_TMP/noconsent" POST "$B" "Host: rum.example" "$XFF" "Cookie: rxVisitor=$VIS"
"$BV" policy set opt_in on >/dev/null 2>&1 || bv_fail "policy set opt_in on"
"$BV" policy delete --app a1 >/dev/null 2>&1 || bv_fail "policy delete --app a1"
r=$(send noconsent 1000)
[ "$r" = timeout ] || bv_fail "opt_in = on: a beacon without consent: $r"
# shellcheck disable=SC2086
bpftool map update pinned "$BV_PIN/bv_apppol" key hex $APPKEY value hex $FF16 || bv_fail "bpftool update bv_apppol"
r=$(send noconsent 1000)
[ "$r" = timeout ] || bv_fail "global opt_in = on, garbage override of app:a1: a beacon without consent got '$r'"
bv_ok "a garbage override falls back to the stricter global policy"
"$BV" policy delete --app a1 >/dev/null 2>&1
"$BV" policy set opt_in off >/dev/null 2>&1

# user_tracking is followed live by the daemon: garbage there is 'off'
sleep 2
kill -0 "$D" 2>/dev/null || bv_fail "the daemon died following the live policy"
grep -q "user_tracking is now on" "$BV_TMP/d.log" && bv_fail "the daemon took 0xff for user_tracking on"

# SIGHUP writes a valid policy back and drops the stale override
# shellcheck disable=SC2086
bpftool map update pinned "$BV_PIN/bv_policy" key 0 0 0 0 value hex $FF16 >/dev/null
kill -HUP "$D"
bv_until 5 grep -q "SIGHUP: configuration .* applied" "$BV_TMP/d.log" || bv_fail "SIGHUP not applied"
bpftool -j map dump pinned "$BV_PIN/bv_policy" | grep -q '"valid":1' ||
	bv_fail "SIGHUP did not write a valid policy: $(bpftool -j map dump pinned "$BV_PIN/bv_policy")"
! "$BV" policy list 2>/dev/null | grep -q a1 || bv_fail "SIGHUP kept the stale override app:a1"
defaults_hold "after SIGHUP"
bv_stop "$D"
[ "$BV_RC" -eq 0 ] || bv_fail "stop: exit $BV_RC"
"$BV" unload >/dev/null || bv_fail "unload"
bv_ok "SIGHUP restored a valid policy; the daemon lived through every write"
echo "$BV_NAME: all passed"
