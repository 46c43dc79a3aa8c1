#!/usr/bin/env bash
# beaconveil policy get/set/delete/list/rotate-key on the pinned maps, with
# a running daemon and without one, observed on real beacons: global keys,
# per-host and per-application overrides (an application id wins over a
# Host), values written out of range by hand, the hash key rotated by hand
# and by the daemon (key_rotation), errors.
set -uo pipefail
. "$(dirname "$0")/lib/netns.sh"
bv_isolate "$@"

bv_netns bvpeer
bv_veth bvA bvB bvpeer 198.18.0.1 198.18.0.2
bv_server - 0.0.0.0 18080 "$BV_TMP/rx.txt"
cat >"$BV_TMP/bv.conf" <<'EOF'
[beacon]
ports = 18080
[daemon]
metrics = 127.0.0.1:19477
key_rotation = 3s
EOF
VIS=1700000000000ABCDEFGHIJKLMNOPQRSTUVWXYZ123456
req() { # FILE APP HOST — a beacon without consent cookie
	bv_request "$1" POST "/rb_bf1?type=js3${2:+&app=$2}" "Host: $3" "Cookie: rxVisitor=$VIS"
}
req "$BV_TMP/plain" "" rum.example
req "$BV_TMP/app1" a1 rum.example
req "$BV_TMP/app2" a2 rum.example
req "$BV_TMP/host2" "" other.example
req "$BV_TMP/app1host2" a1 other.example
sends() { # FILE EXPECT MSG
	local r
	r=$(bv_send bvpeer 198.18.0.1 18080 "$1" 700)
	[ "$r" = "$2" ] || bv_fail "$3: got $r, expected $2"
}
P() { "$BV" policy "$@"; }

# --- nothing pinned yet -----------------------------------------------------
out=$(P get 2>&1)
[ $? -eq 1 ] && grep -q "bv_policy is not pinned: start the daemon first" <<<"$out" ||
	bv_fail "policy get without pins: $out"

bv_daemon "$BV_TMP/d.log" -i bvA -c "$BV_TMP/bv.conf"
D=$BV_DPID

# --- get ----------------------------------------------------------------------
P get >"$BV_TMP/all" || bv_fail "policy get"
[ "$(wc -l <"$BV_TMP/all")" -eq 13 ] || bv_fail "policy get: not 13 keys: $(cat "$BV_TMP/all")"
for kv in "ip_mask = all" "ipv4_prefix = 24" "ipv6_prefix = 48" "respect_dnt = on" \
	"dnt_action = anonymize" "respect_gpc = on" "opt_in = off" "user_tracking = off" \
	"honour_disabled = on" "drop_action = drop" "collection_level = user_behavior" "crash_reports = on"; do
	grep -qx "$kv" "$BV_TMP/all" || bv_fail "policy get lacks '$kv'"
done
[ "$(P get ipv4_prefix)" = 24 ] || bv_fail "policy get ipv4_prefix"
bv_ok "policy get shows the 12 defaults"

# --- set, global -----------------------------------------------------------
sends "$BV_TMP/plain" response "default"
P set opt_in on >"$BV_TMP/out" 2>&1 || bv_fail "policy set opt_in on"
grep -q "^global: opt_in = on" "$BV_TMP/out" || bv_fail "set output: $(cat "$BV_TMP/out")"
grep -q "rewrites the maps from its config file on SIGHUP" "$BV_TMP/out" || bv_fail "no note about the daemon"
[ "$(P get opt_in)" = on ] || bv_fail "get after set"
N=$(bv_stat dropped_no_consent)
sends "$BV_TMP/plain" timeout "opt_in on"
[ "$(bv_stat dropped_no_consent)" -eq $((N + 1)) ] || bv_fail "not counted as dropped_no_consent"
P set ipv4_prefix 16 >/dev/null 2>&1 && [ "$(P get ipv4_prefix)" = 16 ] || bv_fail "set ipv4_prefix"
P set collection_level performance >/dev/null 2>&1 && [ "$(P get collection_level)" = performance ] ||
	bv_fail "set collection_level"
bv_ok "policy set changes the live policy"

# --- overrides ---------------------------------------------------------------
P set opt_in off --app a1 >"$BV_TMP/out" 2>&1 || bv_fail "set --app"
grep -q "^app:a1: opt_in = off" "$BV_TMP/out" || bv_fail "set --app output"
# a new override starts as a copy of the global policy
[ "$(P get ipv4_prefix --app a1)" = 16 ] || bv_fail "new override is not a copy of global"
P set opt_in off --host Other.Example >/dev/null 2>&1 || bv_fail "set --host"
P list >"$BV_TMP/list" || bv_fail "policy list"
grep -qx "app:a1" "$BV_TMP/list" && grep -qx "host:other.example" "$BV_TMP/list" ||
	bv_fail "policy list: $(cat "$BV_TMP/list")"
sends "$BV_TMP/app1" response "app a1 override"
sends "$BV_TMP/app2" timeout "app a2 has no override"
sends "$BV_TMP/host2" response "host other.example override"
P set opt_in on --host other.example >/dev/null 2>&1
sends "$BV_TMP/app1host2" response "app id wins over host"
P delete --app a1 >/dev/null 2>&1 || bv_fail "delete --app"
sends "$BV_TMP/app1" timeout "deleted override"
out=$(P get --app a1 2>&1)
[ $? -eq 1 ] && grep -q "no override for app:a1" <<<"$out" || bv_fail "get of a deleted override: $out"
out=$(P delete --app a1 2>&1)
[ $? -eq 1 ] || bv_fail "delete of a missing override: $out"
out=$(P set opt_in on --app 'bad id' 2>&1)
[ $? -eq 2 ] && grep -q "application id 'bad id'" <<<"$out" || bv_fail "bad app id: $out"
out=$(P set opt_in on --host example.com:80 2>&1)
[ $? -eq 2 ] || bv_fail "host with port: $out"
bv_ok "per-app and per-host overrides: set, precedence, list, delete"

# --- a value out of range written by hand ------------------------------------
bpftool map update pinned "$BV_PIN/bv_policy" key 0 0 0 0 value hex 01 00 18 30 01 00 01 07 00 01 00 00 01 00 00 00 ||
	bv_fail "bpftool update"
[ "$(P get opt_in 2>"$BV_TMP/err")" = 7 ] || bv_fail "out-of-range value not shown as its number"
grep -q "opt_in: out of range: the program uses the default, off" "$BV_TMP/err" || bv_fail "no out-of-range note"
sends "$BV_TMP/plain" response "out-of-range opt_in falls back to off"
P set opt_in off >/dev/null 2>&1

# --- hash key ------------------------------------------------------------------
E0=$("$BV" status | sed -n 's/^hash key: epoch \([0-9]*\).*/\1/p')
out=$(P rotate-key) || bv_fail "rotate-key"
E1=${out##*epoch }
[ "$E1" -gt "$E0" ] || bv_fail "rotate-key: epoch $E0 -> $E1"
# the daemon rotates every key_rotation (3 s here) on its own
bv_until 8 bash -c "[ \$('$BV' status | sed -n 's/^hash key: epoch \([0-9]*\).*/\1/p') -gt $E1 ]" ||
	bv_fail "the daemon did not rotate the key within 8 s"
grep -q "hash key rotated (epoch [0-9]*)" "$BV_TMP/d.log" || bv_fail "no rotation line in the log"
bv_ok "rotate-key by hand ($E0 -> $E1) and by the daemon"

# --- without a daemon --------------------------------------------------------
bv_stop "$D"
[ "$BV_RC" -eq 0 ] || bv_fail "stop"
P set dnt_action drop >/dev/null 2>&1 || bv_fail "set without daemon"
[ "$(P get dnt_action)" = drop ] || bv_fail "get without daemon"
P rotate-key >/dev/null || bv_fail "rotate-key without daemon"
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$BV" policy get 2>&1)
[ $? -eq 1 ] && grep -qi "needs root\|permission denied" <<<"$out" || bv_fail "policy as nobody: $out"
bv_ok "policy works without a daemon; refuses non-root: $out"
"$BV" unload >/dev/null
echo "$BV_NAME: all passed"
