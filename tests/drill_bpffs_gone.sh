#!/usr/bin/env bash
# Fault drill: bpffs is unmounted under a running daemon.
#
# The pins go (and libxdp's), but nothing that enforces depends on them:
# the program stays attached (the kernel's XDP link holds it), the daemon
# keeps its map fds. Checked: beacons are still masked and DNT still
# anonymizes; the daemon's metrics keep counting; `status` says bpffs is
# gone and still shows the program; `policy` and `stats` fail with exit 1
# and a message naming bpffs and the daemon that will pin again. SIGHUP
# mounts bpffs again and pins every map (the config it writes is the
# live one); bpffs mounted again by hand is noticed within a second or two
# and the maps are pinned into it. bpffs gone and the daemon SIGKILLed: the
# program enforces on without daemon and pins, and a restarted daemon
# adopts it, pins its maps again and the counters continue. A clean stop
# with bpffs gone mounts it and leaves the maps pinned (a restart
# continues the counters); where bpffs cannot be mounted any more, the
# stop says what is lost instead of claiming the maps stay pinned.
set -uo pipefail
. "$(dirname "$0")/lib/netns.sh"
bv_isolate "$@"

bv_netns bvpeer
bv_veth bvA bvB bvpeer 198.18.0.1 198.18.0.2
conf() {
	cat >"$BV_TMP/bv.conf" <<EOF
[global]
dnt_action = $1
[beacon]
ports = 18080
[daemon]
metrics = 127.0.0.1:19477
EOF
}
conf anonymize
RX=$BV_TMP/rx.txt
bv_server - 0.0.0.0 18080 "$RX"
VIS=1700000000000ABCDEFGHIJKLMNOPQRSTUVWXYZ123456
bv_request "$BV_TMP/dnt" POST "/rb_bf123?type=js3" "Host: rum.example" \
	"X-Forwarded-For: 198.18.77.99, 2001:db8:1:2::5" "DNT: 1" "Cookie: dtCookie=v_4_srv_1; rxVisitor=$VIS"
SENT=0

# beacon_anonymized WHAT — one DNT beacon: answered, masked /24 and /48,
# visitor id replaced.
beacon_anonymized() {
	local r
	: >"$RX"
	r=$(bv_send bvpeer 198.18.0.1 18080 "$BV_TMP/dnt")
	[ "$r" = response ] || bv_fail "$1: beacon: $r"
	SENT=$((SENT + 1))
	grep -q "^X-Forwarded-For: 198.18.77.0 , 2001:db8:1:0::0" "$RX" || bv_fail "$1: not masked: $(cat "$RX")"
	grep -qE "198\.18\.77\.99|2001:db8:1:2::5|$VIS" "$RX" && bv_fail "$1: leaked: $(cat "$RX")"
	grep -q "rxVisitor=" "$RX" || bv_fail "$1: the cookie is gone: $(cat "$RX")"
	return 0
}
# all_pinned — every map the daemon pins is there.
all_pinned() {
	local m
	for m in bv_policy bv_apppol bv_settings bv_ports bv_paths bv_stats bv_flows bv_keys bv_events bv_ifdec bv_names bv_namefilt bv_ipanon bv_audit; do
		[ -e "$BV_PIN/$m" ] || return 1
	done
}
metric() {
	curl -sf http://127.0.0.1:19477/metrics |
		sed -n "s/^beaconveil_decisions_total{reason=\"$1\",mode=\"inline\"} \([0-9]*\)\$/\1/p"
}

bv_daemon "$BV_TMP/d1.log" -i bvA -c "$BV_TMP/bv.conf"
D1=$BV_DPID
ID=$(bv_prog_id bvA)
[ -n "$ID" ] || bv_fail "no program id in status"
beacon_anonymized "before"

# --- unmount bpffs ---------------------------------------------------------------
umount /sys/fs/bpf || bv_fail "umount /sys/fs/bpf"
[ "$(stat -f -c %T /sys/fs/bpf)" != bpf_fs ] || bv_fail "bpffs still mounted"
for i in 1 2 3; do
	beacon_anonymized "after umount ($i)"
done
ip -d link show bvA | grep -q "prog/xdp id $ID " || bv_fail "program $ID no longer on bvA: $(ip -d link show bvA)"
kill -0 "$D1" 2>/dev/null || bv_fail "the daemon died with bpffs: $(cat "$BV_TMP/d1.log")"
[ "$(metric anonymized)" = "$SENT" ] || bv_fail "metrics: anonymized = $(metric anonymized), expected $SENT"
"$BV" status >"$BV_TMP/status" 2>&1 || bv_fail "status failed without bpffs: $(cat "$BV_TMP/status")"
grep -q "^bpffs: not mounted" "$BV_TMP/status" || bv_fail "status does not say bpffs is gone: $(cat "$BV_TMP/status")"
grep -q "^bvA: beaconveil prog id $ID, .*daemon pid $D1" "$BV_TMP/status" ||
	bv_fail "status lost the program: $(cat "$BV_TMP/status")"
for c in "policy get" "stats"; do
	# shellcheck disable=SC2086 # two words on purpose
	out=$("$BV" $c 2>&1)
	rc=$?
	[ "$rc" -eq 1 ] || bv_fail "'$c' without bpffs: exit $rc: $out"
	grep -q "no bpffs mounted at /sys/fs/bpf" <<<"$out" || bv_fail "'$c' without bpffs: $out"
	grep -q "the daemon (pid $D1) .*pins them again .*SIGHUP" <<<"$out" ||
		bv_fail "'$c' without bpffs does not say the running daemon pins again: $out"
	grep -q "start the daemon first" <<<"$out" && bv_fail "'$c' asks to start a daemon that runs: $out"
done
bv_ok "bpffs unmounted: program $ID attached, beacons masked and anonymized, metrics count ($SENT)"

# SIGHUP mounts bpffs again, pins every map, and writes dnt_action = drop
conf drop
kill -HUP "$D1"
bv_until 5 grep -q "SIGHUP: configuration .* applied" "$BV_TMP/d1.log" || bv_fail "SIGHUP not applied: $(cat "$BV_TMP/d1.log")"
bv_until 5 all_pinned || bv_fail "SIGHUP did not pin the maps again: $(ls "$BV_PIN" 2>&1); $(cat "$BV_TMP/d1.log")"
[ "$(stat -f -c %T /sys/fs/bpf)" = bpf_fs ] || bv_fail "SIGHUP did not mount bpffs"
grep -q "SIGHUP: mounted bpffs at /sys/fs/bpf" "$BV_TMP/d1.log" || bv_fail "SIGHUP: no word of the mount: $(cat "$BV_TMP/d1.log")"
[ "$("$BV" policy get dnt_action)" = drop ] || bv_fail "policy get after SIGHUP: $("$BV" policy get dnt_action 2>&1)"
[ "$(bv_stat anonymized)" = "$SENT" ] || bv_fail "re-pinned bv_stats: anonymized $(bv_stat anonymized), sent $SENT"
: >"$RX"
r=$(bv_send bvpeer 198.18.0.1 18080 "$BV_TMP/dnt" 1000)
[ "$r" = timeout ] || bv_fail "dnt_action = drop by SIGHUP: $r"
[ -s "$RX" ] && bv_fail "a dropped beacon reached the server: $(cat "$RX")"
[ "$(metric dropped_dnt)" = 1 ] || bv_fail "metrics: dropped_dnt = $(metric dropped_dnt)"
[ "$(bv_stat dropped_dnt)" = 1 ] || bv_fail "re-pinned bv_stats: dropped_dnt = $(bv_stat dropped_dnt)"
bv_ok "SIGHUP without bpffs: bpffs mounted, maps pinned again, the config reaches the program"

# bpffs unmounted and mounted again (empty) by hand: pinned again within seconds
umount /sys/fs/bpf || bv_fail "umount /sys/fs/bpf (2)"
mount -t bpf bpf /sys/fs/bpf || bv_fail "remount bpffs"
bv_until 5 all_pinned || bv_fail "bpffs back: the maps were not pinned again: $(ls "$BV_PIN" 2>&1); $(cat "$BV_TMP/d1.log")"
grep -q "pinned again under $BV_PIN" "$BV_TMP/d1.log" || bv_fail "no word of pinning again: $(cat "$BV_TMP/d1.log")"
[ "$(bv_stat dropped_dnt)" = 1 ] || bv_fail "pinned into the new bpffs: dropped_dnt = $(bv_stat dropped_dnt)"
"$BV" policy set dnt_action anonymize >/dev/null 2>&1 || bv_fail "policy set after bpffs came back"
beacon_anonymized "after policy set on the pins made again"
conf anonymize
kill -HUP "$D1"
bv_until 5 bash -c "[ \$(grep -c 'SIGHUP: configuration .* applied' '$BV_TMP/d1.log') -ge 2 ]" ||
	bv_fail "second SIGHUP not applied"
beacon_anonymized "after SIGHUP back"
[ "$(bv_stat anonymized)" = "$SENT" ] || bv_fail "anonymized $(bv_stat anonymized), sent $SENT"
bv_ok "bpffs mounted again by hand: the maps are pinned into it, policy and stats work"

# --- bpffs gone, SIGKILL, bpffs back (empty), restart -------------------------
umount /sys/fs/bpf || bv_fail "umount /sys/fs/bpf (3)"
bv_kill9 "$D1"
beacon_anonymized "no daemon, no pins"
mount -t bpf bpf /sys/fs/bpf || bv_fail "remount bpffs"
ip -d link show bvA | grep -q "prog/xdp id $ID " || bv_fail "program $ID gone after SIGKILL"
bv_daemon "$BV_TMP/d2.log" -i bvA -c "$BV_TMP/bv.conf"
D2=$BV_DPID
grep -q "adopted the program already enforcing on bvA: program id $ID," "$BV_TMP/d2.log" ||
	bv_fail "restart did not adopt program $ID: $(cat "$BV_TMP/d2.log")"
for m in bv_policy bv_stats bv_flows; do
	grep -q "$BV_PIN/$m was missing: pinned it again from the program on bvA" "$BV_TMP/d2.log" ||
		bv_fail "$m not pinned again: $(cat "$BV_TMP/d2.log")"
done
[ "$(bv_stat anonymized)" = "$SENT" ] || bv_fail "counters lost: anonymized $(bv_stat anonymized), sent $SENT"
[ "$(bv_stat dropped_dnt)" = 1 ] || bv_fail "counters lost: dropped_dnt $(bv_stat dropped_dnt)"
beacon_anonymized "after adoption"
[ "$(bv_stat anonymized)" = "$SENT" ] || bv_fail "counter did not continue"
"$BV" policy get dnt_action >/dev/null || bv_fail "policy get after re-pinning"
bv_ok "bpffs back, SIGKILL: enforced without daemon or pins; restart adopted $ID, re-pinned, counters continue ($SENT)"

# --- a clean stop while bpffs is gone: the daemon mounts it and pins -----------
umount /sys/fs/bpf || bv_fail "umount /sys/fs/bpf (4)"
bv_stop "$D2"
[ "$BV_RC" -eq 0 ] || bv_fail "stop without bpffs: exit $BV_RC: $(cat "$BV_TMP/d2.log")"
grep -q "detached from bvA (program id $ID)" "$BV_TMP/d2.log" || bv_fail "stop without bpffs did not detach"
ip -d link show bvA | grep -q "prog/xdp" && bv_fail "a program is left on bvA"
all_pinned || bv_fail "stopped with bpffs gone: the maps are not pinned: $(cat "$BV_TMP/d2.log")"
grep -q "stop: mounted bpffs at /sys/fs/bpf" "$BV_TMP/d2.log" || bv_fail "stop: no word of the mount: $(cat "$BV_TMP/d2.log")"
grep -q "stopped; maps stay pinned" "$BV_TMP/d2.log" || bv_fail "stop: $(cat "$BV_TMP/d2.log")"
[ "$(bv_stat anonymized)" = "$SENT" ] || bv_fail "after the stop: anonymized $(bv_stat anonymized), sent $SENT"
bv_daemon "$BV_TMP/d3.log" -i bvA -c "$BV_TMP/bv.conf"
D3=$BV_DPID
beacon_anonymized "restart after a stop without bpffs"
[ "$(bv_stat anonymized)" = "$SENT" ] || bv_fail "counters did not continue: anonymized $(bv_stat anonymized), sent $SENT"
[ "$(bv_stat dropped_dnt)" = 1 ] || bv_fail "counters did not continue: dropped_dnt $(bv_stat dropped_dnt)"
bv_ok "SIGTERM with bpffs gone: bpffs mounted, maps left pinned, a restart continues the counters ($SENT)"

# --- a clean stop while bpffs is gone and cannot be mounted ---------------------
# A read-only tmpfs over /sys/fs hides the mount point: nothing can be pinned.
umount /sys/fs/bpf || bv_fail "umount /sys/fs/bpf (5)"
mount -t tmpfs -o ro tmpfs /sys/fs || bv_fail "mount a read-only tmpfs on /sys/fs"
bv_stop "$D3"
[ "$BV_RC" -eq 0 ] || bv_fail "stop without a mountable bpffs: exit $BV_RC: $(cat "$BV_TMP/d3.log")"
umount /sys/fs || bv_fail "umount /sys/fs"
grep -q "detached from bvA (program id" "$BV_TMP/d3.log" || bv_fail "stop without bpffs did not detach"
grep -q "maps stay pinned" "$BV_TMP/d3.log" && bv_fail "says the maps stay pinned, with nothing pinned: $(cat "$BV_TMP/d3.log")"
grep -q "stopped; nothing is pinned (no bpffs at /sys/fs/bpf and cannot create it: .*): the counters, flow state, live policy and unread events are lost" "$BV_TMP/d3.log" ||
	bv_fail "the stop does not say what is lost: $(cat "$BV_TMP/d3.log")"
mount -t bpf bpf /sys/fs/bpf || bv_fail "remount bpffs"
[ -e "$BV_PIN/bv_stats" ] && bv_fail "pins where none could be made?"
"$BV" unload >/dev/null || bv_fail "unload"
bv_ok "SIGTERM with bpffs gone for good: exit 0, detached, the loss said plainly"
echo "$BV_NAME: all passed"
