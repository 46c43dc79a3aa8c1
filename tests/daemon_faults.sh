#!/usr/bin/env bash
# Faults and errors of the daemon, each with its one clear message and exit
# code: --help and usage errors (2), unknown interface, bad config
# (file:line:key), no bpffs, missing privileges, a second daemon, a busy
# metrics port (attach rolled back), a pinned map of another layout, pins
# removed or replaced under a running program (1). SIGKILL: the program
# stays attached and enforcing (also a policy change made meanwhile), a
# restarted daemon adopts it without a second attach and the counters and
# the events of the dead time are not lost.
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
bv_server - 0.0.0.0 18080 "$BV_TMP/rx.txt"
VIS=1700000000000ABCDEFGHIJKLMNOPQRSTUVWXYZ123456
bv_request "$BV_TMP/beacon" POST "/rb_bf123?type=js3" "Host: rum.example" \
	"X-Forwarded-For: 198.18.77.99" "Cookie: dtCookie=v_4_srv_1; rxVisitor=$VIS"
bv_request "$BV_TMP/noconsent" POST "/rb_bf123?type=js3" "Host: rum.example" \
	"Cookie: rxVisitor=$VIS"

# expect CODE PATTERN CMD... — CMD exits CODE and its output matches PATTERN.
expect() {
	local code=$1 pat=$2 out rc
	shift 2
	out=$("$@" 2>&1)
	rc=$?
	[ "$rc" -eq "$code" ] || bv_fail "'$*' exited $rc, expected $code: $out"
	grep -qE -- "$pat" <<<"$out" || bv_fail "'$*': message does not match /$pat/: $out"
	bv_ok "$* -> $rc: $(head -n 1 <<<"$out")"
}

# --- help and usage -----------------------------------------------------
for c in run status policy unload pcap stats; do
	expect 0 "^Usage: beaconveil $c" "$BV" "$c" --help
done
expect 0 "^Usage: beaconveil COMMAND" "$BV" --help
expect 2 "Usage" "$BV"
expect 2 "unknown command 'frobnicate'" "$BV" frobnicate
expect 2 "which interface" "$BV" run
expect 2 "invalid --mode 'sideways'" "$BV" run -i bvA --mode sideways
expect 2 "invalid --xdp-mode 'hw'" "$BV" run -i bvA --xdp-mode hw
expect 2 "invalid --metrics" "$BV" run -i bvA --metrics localhost
expect 2 "unexpected argument" "$BV" run -i bvA extra
expect 2 "interface bvA given twice" "$BV" run -i bvA,bvA
expect 2 "unknown policy key 'ipv5_prefix'" "$BV" policy get ipv5_prefix
expect 2 "out of range" "$BV" policy set ipv4_prefix 33
expect 2 "unknown subcommand" "$BV" policy frob
expect 2 "unexpected argument" "$BV" unload now

# --- runtime errors before anything is touched ----------------------------
expect 1 "unknown interface 'nosuch0'" "$BV" run -i nosuch0
printf '[global]\nopt_in = on\nipv4_prefix = 33\n' >"$BV_TMP/bad.conf"
expect 1 "bad.conf:3: key 'ipv4_prefix': .*33" "$BV" run -i bvA -c "$BV_TMP/bad.conf"
expect 1 "cannot open" "$BV" run -i bvA -c "$BV_TMP/nonexistent.conf"
expect 1 "missing privileges" setpriv --reuid=65534 --regid=65534 --clear-groups "$BV" run -i bvA
grep -q "beaconveil prog id" <<<"$("$BV" status)" && bv_fail "an error above attached something"

# no bpffs, and none can be mounted: /sys/fs read-only, without a bpf dir
umount /sys/fs/bpf
mount -t tmpfs -o ro tmpfs /sys/fs
expect 1 "no bpffs at /sys/fs/bpf and cannot create it" "$BV" run -i bvA -c "$BV_TMP/bv.conf"
expect 1 "no bpffs mounted at /sys/fs/bpf" "$BV" policy get
umount /sys/fs
mount -t bpf bpf /sys/fs/bpf
grep -q "beaconveil prog id" <<<"$("$BV" status)" && bv_fail "the bpffs error attached something"

# metrics port taken: the attach is rolled back
bv_server - 127.0.0.1 19478 "$BV_TMP/busy.txt"
expect 1 "cannot serve metrics on 127.0.0.1:19478" "$BV" run -i bvA -c "$BV_TMP/bv.conf" --metrics 127.0.0.1:19478
grep -q "^bvA: beaconveil" <<<"$("$BV" status)" && bv_fail "a failed start left the program attached"
bv_ok "failed start rolled the attach back"

# --- a second daemon -------------------------------------------------------
bv_daemon "$BV_TMP/d1.log" -i bvA -c "$BV_TMP/bv.conf"
D1=$BV_DPID
expect 1 "bvA is already served by a beaconveil daemon \(pid $D1" "$BV" run -i bvA -c "$BV_TMP/bv.conf" --metrics 127.0.0.1:19479
expect 1 "another beaconveil daemon \(pid $D1\) serves bvA" "$BV" run -i bvC -c "$BV_TMP/bv.conf" --metrics 127.0.0.1:19479
expect 1 "daemon \(pid $D1\) serves bvA: stop it first" "$BV" unload
kill -0 "$D1" || bv_fail "the refused starts hurt the running daemon"

# --- SIGKILL: still enforcing; restart adopts, counts continue --------------
for i in 1 2 3; do
	[ "$(bv_send bvpeer 198.18.0.1 18080 "$BV_TMP/beacon")" = response ] || bv_fail "beacon $i"
done
PASS=$(bv_stat pass)
[ "$PASS" -eq 3 ] || bv_fail "pass = $PASS after 3 beacons"
ID=$(bv_prog_id bvA)
bv_kill9 "$D1"
"$BV" status >"$BV_TMP/status"
grep -q "^daemon: not running" "$BV_TMP/status" || bv_fail "status: daemon still running?"
grep -q "^bvA: beaconveil prog id $ID, .*no daemon (still enforcing" "$BV_TMP/status" ||
	{ cat "$BV_TMP/status"; bv_fail "program gone after SIGKILL"; }
: >"$BV_TMP/rx.txt"
[ "$(bv_send bvpeer 198.18.0.1 18080 "$BV_TMP/beacon")" = response ] || bv_fail "beacon while dead"
[ "$(bv_stat pass)" -eq $((PASS + 1)) ] || bv_fail "not counted while the daemon is dead"
grep -q "X-Forwarded-For: 198.18.77.0 " "$BV_TMP/rx.txt" || bv_fail "not masked while the daemon is dead"
"$BV" policy set opt_in on >/dev/null || bv_fail "policy set without daemon"
[ "$(bv_send bvpeer 198.18.0.1 18080 "$BV_TMP/noconsent" 1000)" = timeout ] || bv_fail "opt_in not enforced while dead"
[ "$(bv_stat dropped_no_consent)" -eq 1 ] || bv_fail "dropped_no_consent not counted"
bv_ok "after SIGKILL the program enforces on (also a policy changed meanwhile)"

bv_daemon "$BV_TMP/d2.log" -i bvA -c "$BV_TMP/bv.conf"
D2=$BV_DPID
grep -q "adopted the program already enforcing on bvA: program id $ID," "$BV_TMP/d2.log" ||
	bv_fail "restart did not adopt program $ID: $(cat "$BV_TMP/d2.log")"
[ "$(bv_prog_id bvA)" = "$ID" ] || bv_fail "program id changed on adoption"
[ "$(ip -d link show bvA | grep -c 'prog/xdp')" -eq 1 ] || bv_fail "more than one XDP program on bvA"
[ "$("$BV" policy get opt_in)" = off ] || bv_fail "restart did not rewrite the policy from the config"
[ "$(bv_stat pass)" -eq $((PASS + 1)) ] || bv_fail "counts lost over the restart"
[ "$(bv_send bvpeer 198.18.0.1 18080 "$BV_TMP/beacon")" = response ] || bv_fail "beacon after adoption"
[ "$(bv_stat pass)" -eq $((PASS + 2)) ] || bv_fail "counter did not continue after adoption"
bv_until 5 bash -c "curl -sf http://127.0.0.1:19477/metrics | grep -qE '^beaconveil_events_received_total [3-9]'" ||
	bv_fail "events of the dead time were not read by the new daemon"
bv_ok "restart adopted prog $ID (one program), counters and events continue"

# --- pins removed / replaced under a running program ------------------------
bv_kill9 "$D2"
rm "$BV_PIN/bv_policy"
bv_daemon "$BV_TMP/d3.log" -i bvA -c "$BV_TMP/bv.conf"
D3=$BV_DPID
grep -q "bv_policy was missing: pinned it again from the program on bvA" "$BV_TMP/d3.log" ||
	bv_fail "missing pin not restored: $(cat "$BV_TMP/d3.log")"
"$BV" policy set opt_in on >/dev/null 2>&1
[ "$(bv_send bvpeer 198.18.0.1 18080 "$BV_TMP/noconsent" 1000)" = timeout ] || bv_fail "re-pinned bv_policy is not the live one"
"$BV" policy set opt_in off >/dev/null 2>&1
bv_kill9 "$D3"
rm "$BV_PIN/bv_keys"
bpftool map create "$BV_PIN/bv_keys" type array key 4 value 24 entries 1 name bv_keys ||
	bv_fail "bpftool map create"
expect 1 "bv_keys is not the map the program attached to bvA uses" "$BV" run -i bvA -c "$BV_TMP/bv.conf"

# --- a pinned map of another layout ----------------------------------------
"$BV" unload >/dev/null || bv_fail "unload"
mkdir -p "$BV_PIN"
bpftool map create "$BV_PIN/bv_stats" type percpu_array key 4 value 16 entries 32 name bv_stats ||
	bv_fail "bpftool map create"
expect 1 "pinned map $BV_PIN/bv_stats was made by another version of beaconveil \(value size 16, this version has 8\): remove it \(rm $BV_PIN/bv_stats" \
	"$BV" run -i bvA -c "$BV_TMP/bv.conf"
grep -q "^bvA: beaconveil" <<<"$("$BV" status)" && bv_fail "layout error left a program attached"
rm "$BV_PIN/bv_stats"
bpftool map create "$BV_PIN/bv_policy" type array key 4 value 8 entries 1 name bv_policy ||
	bv_fail "bpftool map create"
expect 1 "pinned map $BV_PIN/bv_policy was made by another version of beaconveil \(value size 8, this version has 16\)" \
	"$BV" policy get
rm "$BV_PIN/bv_policy"
bv_daemon "$BV_TMP/d4.log" -i bvA -c "$BV_TMP/bv.conf"
bv_stop "$BV_DPID"
[ "$BV_RC" -eq 0 ] || bv_fail "start after removing the bad pin: exit $BV_RC"
# the per-interface counters of another layout, then missing (pins of an
# older version): refused with the way out, then made empty and said so
rm "$BV_PIN/bv_ifdec"
bpftool map create "$BV_PIN/bv_ifdec" type percpu_hash key 4 value 8 entries 256 name bv_ifdec ||
	bv_fail "bpftool map create"
expect 1 "pinned map $BV_PIN/bv_ifdec was made by another version of beaconveil \(value size 8, this version has 80\): remove it" \
	"$BV" run -i bvA -c "$BV_TMP/bv.conf"
rm "$BV_PIN/bv_ifdec"
bv_daemon "$BV_TMP/d5.log" -i bvA -c "$BV_TMP/bv.conf"
grep -q "$BV_PIN/bv_ifdec was not pinned next to the other maps (new in this version, or removed by hand): it starts empty" "$BV_TMP/d5.log" ||
	bv_fail "no word of a missing bv_ifdec: $(cat "$BV_TMP/d5.log")"
[ -e "$BV_PIN/bv_ifdec" ] || bv_fail "bv_ifdec not pinned again"
bv_stop "$BV_DPID"
bv_ok "bv_ifdec of another layout refused, a missing one made again and said so"
"$BV" unload >/dev/null
echo "$BV_NAME: all passed"
