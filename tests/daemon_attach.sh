#!/usr/bin/env bash
# beaconveil run on a veth pair, in its own namespaces (tests/lib/netns.sh):
# mounting bpffs when absent, native attach through libxdp, beacons from
# the peer namespace (IPv4 and IPv6) classified and rewritten, status,
# metrics, clean stop on SIGTERM (detached, maps kept), a restart that
# continues the counters, several interfaces, skb mode, the error for a
# driver without native XDP, mirror mode with an egress interface, unload.
set -uo pipefail
. "$(dirname "$0")/lib/netns.sh"
bv_isolate "$@"

bv_netns bvpeer
bv_veth bvA bvB bvpeer 198.18.0.1 198.18.0.2 2001:db8::1 2001:db8::2
bv_veth bvC bvD bvpeer 198.19.0.1 198.19.0.2
cat >"$BV_TMP/bv.conf" <<'EOF'
[beacon]
ports = 18080
[daemon]
metrics = 127.0.0.1:19477
EOF
bv_server - :: 18080 "$BV_TMP/rx.txt"   # dual stack: IPv4 and IPv6
VIS=1700000000000ABCDEFGHIJKLMNOPQRSTUVWXYZ123456
bv_request "$BV_TMP/beacon" POST "/rb_bf123?type=js3&app=a1" "Host: rum.example" \
	"X-Forwarded-For: 198.18.77.99" "Cookie: dtCookie=v_4_srv_1; rxVisitor=$VIS"

# --- bpffs absent: the daemon mounts it -----------------------------------
umount /sys/fs/bpf
[ "$(stat -f -c %T /sys/fs/bpf)" != bpf_fs ] || bv_fail "could not unmount the test's bpffs"
bv_daemon "$BV_TMP/d1.log" -i bvA -c "$BV_TMP/bv.conf"
D1=$BV_DPID
[ "$(stat -f -c %T /sys/fs/bpf)" = bpf_fs ] || bv_fail "daemon did not mount bpffs"
for m in bv_policy bv_apppol bv_settings bv_ports bv_paths bv_stats bv_flows bv_keys bv_events bv_ifdec bv_names bv_namefilt bv_ipanon bv_audit; do
	[ -e "$BV_PIN/$m" ] || bv_fail "$BV_PIN/$m not pinned"
done
bv_ok "bpffs mounted by the daemon, 14 maps pinned"

# --- attached, natively, and visible ------------------------------------
grep -q "attached to bvA: program id [0-9]*, inline mode, native XDP" "$BV_TMP/d1.log" ||
	bv_fail "no attach line in the log"
"$BV" status >"$BV_TMP/status" || bv_fail "status failed"
grep -q "^daemon: running, pid $D1, interfaces bvA" "$BV_TMP/status" || bv_fail "status: daemon"
grep -q "^bvA: beaconveil prog id [0-9]*, inline mode, native XDP, daemon pid $D1" "$BV_TMP/status" ||
	{ cat "$BV_TMP/status"; bv_fail "status: bvA"; }
grep -q "^maps: 14 of 14 pinned" "$BV_TMP/status" || bv_fail "status: maps"
ID1=$(bv_prog_id bvA)
grep -q "prog/xdp" <<<"$(ip -d link show bvA)" || bv_fail "ip link shows no XDP program on bvA"
bv_ok "attached natively (prog id $ID1), status agrees"

# --- beacons over real TCP ----------------------------------------------
P0=$(bv_stat pass)
[ "$(bv_send bvpeer 198.18.0.1 18080 "$BV_TMP/beacon")" = response ] || bv_fail "IPv4 beacon got no response"
[ "$(bv_stat pass)" -eq $((P0 + 1)) ] || bv_fail "pass counter did not count the IPv4 beacon"
grep -q "X-Forwarded-For: 198.18.77.0 " "$BV_TMP/rx.txt" || { cat "$BV_TMP/rx.txt"; bv_fail "X-Forwarded-For not masked to /24"; }
grep -q "rxVisitor=$VIS" "$BV_TMP/rx.txt" || bv_fail "a passed beacon lost its visitor id"
[ "$(bv_send bvpeer 2001:db8::1 18080 "$BV_TMP/beacon")" = response ] || bv_fail "IPv6 beacon got no response"
[ "$(bv_stat pass)" -eq $((P0 + 2)) ] || bv_fail "pass counter did not count the IPv6 beacon"
bv_request "$BV_TMP/page" GET /index.html "Host: rum.example"
[ "$(bv_send bvpeer 198.18.0.1 18080 "$BV_TMP/page")" = response ] || bv_fail "a non-beacon request got no response"
[ "$(bv_stat pass)" -eq $((P0 + 2)) ] || bv_fail "a non-beacon was counted as a beacon"
bv_ok "IPv4 and IPv6 beacons passed with XFF masked; a non-beacon request untouched"

# --- metrics --------------------------------------------------------------
bv_until 5 curl -sf http://127.0.0.1:19477/metrics -o "$BV_TMP/metrics" || bv_fail "no metrics on 127.0.0.1:19477"
grep -q '^beaconveil_decisions_total{reason="pass",mode="inline"} [1-9]' "$BV_TMP/metrics" ||
	bv_fail "metrics do not show the passed beacon"
bv_ok "metrics served"

# --- a second daemon on the same interface is refused (see daemon_faults) --
# --- clean stop: detached, maps kept --------------------------------------
PASS_BEFORE=$(bv_stat pass)
bv_stop "$D1"
[ "$BV_RC" -eq 0 ] || bv_fail "daemon exited $BV_RC on SIGTERM"
grep -q "detached from bvA (program id $ID1)" "$BV_TMP/d1.log" || bv_fail "no detach line"
"$BV" status >"$BV_TMP/status"
grep -q "^daemon: not running" "$BV_TMP/status" || bv_fail "status after stop: daemon"
grep -q "^no interface has the beaconveil program attached" "$BV_TMP/status" || bv_fail "still attached after SIGTERM"
grep -q "^maps: 14 of 14 pinned" "$BV_TMP/status" || bv_fail "maps were unpinned on a clean stop"
grep -q "prog/xdp" <<<"$(ip -d link show bvA)" && bv_fail "ip link still shows XDP on bvA"
bv_ok "SIGTERM: exit 0, detached, maps kept"

# --- restart: counters continue -------------------------------------------
bv_daemon "$BV_TMP/d2.log" -i bvA -c "$BV_TMP/bv.conf"
D2=$BV_DPID
[ "$(bv_stat pass)" -eq "$PASS_BEFORE" ] || bv_fail "restart lost counts"
[ "$(bv_send bvpeer 198.18.0.1 18080 "$BV_TMP/beacon")" = response ] || bv_fail "beacon after restart"
[ "$(bv_stat pass)" -eq $((PASS_BEFORE + 1)) ] || bv_fail "counter did not continue after restart"
bv_stop "$D2"
[ "$BV_RC" -eq 0 ] || bv_fail "second stop: exit $BV_RC"
bv_ok "restart continues the counters"

# --- several interfaces ---------------------------------------------------
bv_daemon "$BV_TMP/d3.log" -i bvA,bvC -c "$BV_TMP/bv.conf"
D3=$BV_DPID
"$BV" status >"$BV_TMP/status"
grep -q "^bvA: beaconveil prog id" "$BV_TMP/status" || bv_fail "multi: bvA not attached"
grep -q "^bvC: beaconveil prog id" "$BV_TMP/status" || bv_fail "multi: bvC not attached"
P0=$(bv_stat pass)
[ "$(bv_send bvpeer 198.18.0.1 18080 "$BV_TMP/beacon")" = response ] || bv_fail "multi: beacon via bvA"
[ "$(bv_send bvpeer 198.19.0.1 18080 "$BV_TMP/beacon")" = response ] || bv_fail "multi: beacon via bvC"
[ "$(bv_stat pass)" -eq $((P0 + 2)) ] || bv_fail "multi: both beacons not counted"
bv_stop "$D3"
[ "$BV_RC" -eq 0 ] || bv_fail "multi: stop: exit $BV_RC"
grep -q "beaconveil prog id" <<<"$("$BV" status)" && bv_fail "multi: still attached after stop"
bv_ok "two interfaces served by one daemon, both detached on stop"

# --- no native XDP: a clear error, no fall back ---------------------------
out=$("$BV" run -i lo -c "$BV_TMP/bv.conf" 2>&1)
rc=$?
[ "$rc" -eq 1 ] || bv_fail "native attach on lo: exit $rc, expected 1"
grep -q -- "--xdp-mode skb" <<<"$out" || bv_fail "native failure does not name --xdp-mode skb: $out"
grep -q "^lo: beaconveil" <<<"$("$BV" status)" && bv_fail "something was attached to lo"
bv_ok "no native XDP on lo: '$out'"

# --- skb mode, then a restart asking for another mode ---------------------
bv_daemon "$BV_TMP/d4.log" -i bvA -c "$BV_TMP/bv.conf" --xdp-mode skb
D4=$BV_DPID
grep -q "^bvA: beaconveil prog id [0-9]*, inline mode, skb XDP" <<<"$("$BV" status)" || bv_fail "skb mode not in status"
P0=$(bv_stat pass)
[ "$(bv_send bvpeer 198.18.0.1 18080 "$BV_TMP/beacon")" = response ] || bv_fail "skb: beacon"
[ "$(bv_stat pass)" -eq $((P0 + 1)) ] || bv_fail "skb: not counted"
bv_kill9 "$D4"
out=$("$BV" run -i bvA -c "$BV_TMP/bv.conf" 2>&1)
[ $? -eq 1 ] || bv_fail "restart in native over an skb attachment did not fail"
grep -q "attached in skb mode" <<<"$out" && grep -q "unload -i bvA" <<<"$out" ||
	bv_fail "mode mismatch message: $out"
bv_ok "skb mode works; a native restart over it is refused: '$out'"

# --- mirror mode ----------------------------------------------------------
out=$("$BV" run -i bvC --mode mirror 2>&1)
[ $? -eq 2 ] || bv_fail "mirror without --egress: not a usage error"
grep -q -- "--egress" <<<"$out" || bv_fail "mirror without --egress: $out"
"$BV" run -i bvC --egress bvA >/dev/null 2>&1
[ $? -eq 2 ] || bv_fail "--egress in inline mode: not a usage error"
bv_netns bvsink
bv_veth bvM0 bvM1 bvsink 198.18.9.1 198.18.9.2
bv_daemon "$BV_TMP/d5.log" -i bvC -c "$BV_TMP/bv.conf" --mode mirror --egress bvM0
D5=$BV_DPID
grep -q "^bvC: beaconveil prog id [0-9]*, mirror mode" <<<"$("$BV" status)" || bv_fail "mirror mode not in status"
R0=$(bv_stat act_redirect)
RX0=$(ip -n bvsink -s -j link show bvM1 | sed -n 's/.*"rx":{"bytes":[0-9]*,"packets":\([0-9]*\).*/\1/p')
ip netns exec bvpeer "$BVNET" send 198.19.0.1 18080 "$BV_TMP/beacon" 500 >/dev/null 2>&1
[ "$(bv_stat act_redirect)" -gt "$R0" ] || bv_fail "mirror: nothing redirected"
bv_until 3 bash -c "[ \"\$(ip -n bvsink -s -j link show bvM1 | sed -n 's/.*\"rx\":{\"bytes\":[0-9]*,\"packets\":\([0-9]*\).*/\1/p')\" -gt $RX0 ]" ||
	bv_fail "mirror: nothing arrived behind the egress interface"
bv_stop "$D5"
[ "$BV_RC" -eq 0 ] || bv_fail "mirror: stop: exit $BV_RC"
bv_ok "mirror mode redirects kept packets out of --egress"

# --- unload ----------------------------------------------------------------
# bvA still carries the skb-mode program of the SIGKILLed daemon
"$BV" unload -i bvA >"$BV_TMP/unload" || bv_fail "unload -i bvA failed"
grep -q "detached beaconveil (prog id [0-9]*) from bvA" "$BV_TMP/unload" || bv_fail "unload: $(cat "$BV_TMP/unload")"
grep -q "removed 14 pinned maps" "$BV_TMP/unload" || bv_fail "unload kept the pins: $(cat "$BV_TMP/unload")"
"$BV" status >"$BV_TMP/status"
grep -q "^maps: 0 of 14" "$BV_TMP/status" || bv_fail "pins left after unload"
grep -q "beaconveil prog id" "$BV_TMP/status" && bv_fail "a program left after unload"
grep -q "nothing to unload" <<<"$("$BV" unload)" || bv_fail "second unload"
bv_ok "unload detaches and removes the pins"
echo "$BV_NAME: all passed"
