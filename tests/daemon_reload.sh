#!/usr/bin/env bash
# SIGHUP and who wins: the daemon writes the config into the maps at start
# and on SIGHUP, and never otherwise; a live change (bpftool, `policy set`)
# holds until then. A config with an error on SIGHUP is refused as a whole
# and the previous one stays. Overrides ([app:ID]) come and go with the
# file; a new metrics address is taken on SIGHUP.
set -uo pipefail
. "$(dirname "$0")/lib/netns.sh"
bv_isolate "$@"

bv_netns bvpeer
bv_veth bvA bvB bvpeer 198.18.0.1 198.18.0.2
bv_server - 0.0.0.0 18080 "$BV_TMP/rx.txt"
CONF=$BV_TMP/bv.conf
write_conf() { # OPT_IN METRICS_PORT [EXTRA...]
	{
		printf '[global]\nopt_in = %s\n[beacon]\nports = 18080\n[daemon]\nmetrics = 127.0.0.1:%s\n' "$1" "$2"
		shift 2
		printf '%s\n' "$@"
	} >"$CONF.tmp" && mv "$CONF.tmp" "$CONF"
}
bv_request "$BV_TMP/a1" POST "/rb_bf1?type=js3&app=a1" "Host: rum.example" "Cookie: rxVisitor=1700000000000ABCDEFGHIJKLMNOPQRSTUVWXYZ123456"

# hup N — SIGHUP the daemon and wait for its N-th "SIGHUP:" result line.
hup() {
	kill -HUP "$D"
	bv_until 5 bash -c "[ \$(grep -c 'SIGHUP: \(configuration\|.*keeping the previous\)' '$BV_TMP/d.log') -ge $1 ]" ||
		bv_fail "no reaction to SIGHUP #$1: $(cat "$BV_TMP/d.log")"
}
# send_expect RESULT — a beacon without consent cookie gets RESULT.
send_expect() {
	local r
	r=$(bv_send bvpeer 198.18.0.1 18080 "$BV_TMP/a1" 700)
	[ "$r" = "$1" ] || bv_fail "$2: got $r, expected $1"
}

write_conf off 19477
bv_daemon "$BV_TMP/d.log" -i bvA -c "$CONF"
D=$BV_DPID
send_expect response "opt_in off at start"
[ "$("$BV" policy get opt_in)" = off ] || bv_fail "start did not write opt_in"

write_conf on 19477
hup 1
grep -q "SIGHUP: configuration $CONF applied" "$BV_TMP/d.log" || bv_fail "no applied line"
[ "$("$BV" policy get opt_in)" = on ] || bv_fail "SIGHUP did not rewrite bv_policy"
N=$(bv_stat dropped_no_consent)
send_expect timeout "opt_in on after SIGHUP"
[ "$(bv_stat dropped_no_consent)" -eq $((N + 1)) ] || bv_fail "dropped_no_consent not counted"
bv_ok "SIGHUP applies the new config to the maps"

# a live change wins until the next SIGHUP; the daemon never rewrites on its own
"$BV" policy set opt_in off >/dev/null 2>&1 || bv_fail "policy set"
send_expect response "live opt_in off"
sleep 2.5 # more than two daemon ticks
[ "$("$BV" policy get opt_in)" = off ] || bv_fail "the daemon rewrote a live change on its own"
hup 2
[ "$("$BV" policy get opt_in)" = on ] || bv_fail "SIGHUP did not restore the config over a live change"
send_expect timeout "config wins again after SIGHUP"
bv_ok "live change holds until SIGHUP, then the config wins"

# overrides follow the file
write_conf on 19477 "[app:a1]" "opt_in = off"
hup 3
grep -qx "app:a1" <<<"$("$BV" policy list)" || bv_fail "override app:a1 not written"
[ "$("$BV" policy get opt_in --app a1)" = off ] || bv_fail "override value"
send_expect response "app a1 override opt_in off"
write_conf on 19477
hup 4
grep -q "app:a1" <<<"$("$BV" policy list 2>/dev/null)" && bv_fail "override not removed on SIGHUP"
send_expect timeout "override gone"
bv_ok "[app:ID] overrides follow the file"

# a bad file is refused whole; the previous config stays
write_conf off 19477 "[global]"
hup 5
grep -q "SIGHUP: $CONF:[0-9]*: duplicate section \[global\].*keeping the previous configuration" "$BV_TMP/d.log" ||
	bv_fail "bad config on SIGHUP: $(tail -n 2 "$BV_TMP/d.log")"
kill -0 "$D" || bv_fail "a bad config on SIGHUP killed the daemon"
[ "$("$BV" policy get opt_in)" = on ] || bv_fail "a refused config changed the maps"
bv_ok "a bad config on SIGHUP is refused, the daemon keeps running"

# a new metrics address
curl -sf http://127.0.0.1:19477/metrics >/dev/null || bv_fail "metrics on 19477"
write_conf on 19480
hup 6
bv_until 3 curl -sf http://127.0.0.1:19480/metrics -o /dev/null || bv_fail "metrics did not move to 19480"
curl -sf http://127.0.0.1:19477/metrics >/dev/null 2>&1 && bv_fail "old metrics port still served"
bv_ok "metrics address changed on SIGHUP"

bv_stop "$D"
[ "$BV_RC" -eq 0 ] || bv_fail "stop: exit $BV_RC"
"$BV" unload >/dev/null
echo "$BV_NAME: all passed"
