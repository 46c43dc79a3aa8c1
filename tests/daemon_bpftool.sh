#!/usr/bin/env bash
# The bpftool lines of docs/DAEMON.md ("Live policy with bpftool"), parsed
# out of the document so that it cannot drift, each run against a running
# daemon on a veth pair: before the line the default behaviour is checked on
# a real beacon from the peer namespace, after it the changed one (decision
# counters in bv_stats, the client's outcome, the bytes the listener
# received), then the documented defaults line restores the policy. Every
# policy key must have a line; `policy get` must read back what the bytes
# say; `bpftool map dump` must show the field names.
set -uo pipefail
. "$(dirname "$0")/lib/netns.sh"
bv_isolate "$@"

DOC=$BV_ROOT/docs/DAEMON.md
[ -f "$DOC" ] || bv_fail "$DOC missing"

# --- the lines: a "# LABEL" comment, then the bpftool line ------------------
LABELS=()
CMDS=()
while IFS=$'\t' read -r label cmd; do
	LABELS+=("$label")
	CMDS+=("$cmd")
done < <(awk '/^# / { l = substr($0, 3); next }
	      /^bpftool map (update|delete) pinned \/sys\/fs\/bpf\/beaconveil\// { if (l != "") print l "\t" $0; l = ""; next }
	      { l = "" }' "$DOC")
[ ${#CMDS[@]} -ge 15 ] || bv_fail "found only ${#CMDS[@]} bpftool lines in $DOC"
cmd_of() {
	local i
	for i in "${!LABELS[@]}"; do
		[ "${LABELS[$i]}" = "$1" ] && { printf '%s\n' "${CMDS[$i]}"; return 0; }
	done
	bv_fail "$DOC has no line labelled '# $1'"
}
DEFAULTS=$(cmd_of defaults)
bv_log "${#CMDS[@]} bpftool lines in docs/DAEMON.md"

bv_netns bvpeer
bv_veth bvA bvB bvpeer 198.18.0.1 198.18.0.2
RX=$BV_TMP/rx.txt
bv_server - 0.0.0.0 18080 "$RX"
cat >"$BV_TMP/bv.conf" <<'EOF'
[beacon]
ports = 18080
crash_path = prefix:/crash
[daemon]
metrics = 127.0.0.1:19477
EOF
bv_daemon "$BV_TMP/d.log" -i bvA -c "$BV_TMP/bv.conf"
D=$BV_DPID

# every policy key has a line
for key in $("$BV" policy get | cut -d' ' -f1); do
	grep -q "^$key = " <<<"$(printf '%s\n' "${LABELS[@]}")" || bv_fail "$DOC has no bpftool line for $key"
done

# field names in bpftool's dump (BTF)
bpftool map dump pinned "$BV_PIN/bv_policy" >"$BV_TMP/dump" || bv_fail "bpftool map dump"
for f in valid ip_mask ipv4_prefix ipv6_prefix respect_dnt dnt_action respect_gpc opt_in \
	user_tracking honour_disabled drop_action collection_level crash_reports unreadable_body; do
	grep -q "\"$f\": " "$BV_TMP/dump" || bv_fail "bpftool map dump lacks field $f: $(cat "$BV_TMP/dump")"
done
bv_ok "bpftool map dump shows the field names"

# --- beacons -------------------------------------------------------------------
VIS=1700000000000ABCDEFGHIJKLMNOPQRSTUVWXYZ123456
CK="Cookie: dtCookie=v_4_srv_1; rxVisitor=$VIS"
B="/rb_bf123?type=js3"
bv_request "$BV_TMP/plain" POST "$B" "Host: rum.example" "$CK"
bv_request "$BV_TMP/xff4" POST "$B" "Host: rum.example" "X-Forwarded-For: 198.18.77.99" "$CK"
bv_request "$BV_TMP/xffpriv" POST "$B" "Host: rum.example" "X-Forwarded-For: 10.1.2.3" "$CK"
bv_request "$BV_TMP/xff6" POST "$B" "Host: rum.example" "X-Forwarded-For: 2001:db8:1:2::5" "$CK"
bv_request "$BV_TMP/dnt" POST "$B" "Host: rum.example" "DNT: 1" "$CK"
bv_request "$BV_TMP/gpc" POST "$B" "Host: rum.example" "Sec-GPC: 1" "$CK"
bv_request "$BV_TMP/noconsent" POST "$B" "Host: rum.example" "Cookie: rxVisitor=$VIS"
bv_request "$BV_TMP/disabled" POST "$B" "Host: rum.example" "Cookie: dtCookie=v_4_srv_1; dtDisabled=true"
bv_request "$BV_TMP/crash" POST "/crash/r1" "Host: rum.example" "$CK"
bv_request "$BV_TMP/mgzip" POST "/mbeacon?type=m&app=A1" "Host: rum.example" "Content-Encoding: gzip"
bv_request "$BV_TMP/app1" POST "$B&app=a1" "Host: rum.example" "Cookie: rxVisitor=$VIS"
bv_request "$BV_TMP/app2" POST "$B&app=a2" "Host: rum.example" "Cookie: rxVisitor=$VIS"
CR=$'\r'

# try FILE RESULT COUNTER [RX_HAS [RX_LACKS]] — send FILE, expect RESULT
# (response, timeout, reset), COUNTER + 1 (a decision) or more (act_*: a
# dropped segment is retransmitted), and what the listener got.
try() {
	local f=$1 want=$2 ctr=$3 has=${4:-} lacks=${5:-} c0 r t=2000
	[ "$want" = response ] || t=700
	c0=$(bv_stat "$ctr")
	: >"$RX"
	r=$(bv_send bvpeer 198.18.0.1 18080 "$BV_TMP/$f" "$t")
	[ "$r" = "$want" ] || bv_fail "[$LABEL, $PHASE] $f: got $r, expected $want"
	# one decision per request; a verdict counter also counts retransmissions
	case $ctr in
	act_*) [ "$(bv_stat "$ctr")" -gt "$c0" ] ;;
	*) [ "$(bv_stat "$ctr")" -eq $((c0 + 1)) ] ;;
	esac || bv_fail "[$LABEL, $PHASE] $f: $ctr did not count it ($c0 -> $(bv_stat "$ctr"))"
	if [ -n "$has" ] && ! grep -qF -- "$has" "$RX"; then
		bv_fail "[$LABEL, $PHASE] $f: listener did not get '$has': $(cat -A "$RX")"
	fi
	if [ -n "$lacks" ] && grep -qF -- "$lacks" "$RX"; then
		bv_fail "[$LABEL, $PHASE] $f: listener got '$lacks'"
	fi
}
metric() { curl -sf http://127.0.0.1:19477/metrics; }

# check PHASE — the behaviour of LABEL's setting, with the defaults
# (PHASE=default) or after its line (PHASE=changed).
check() {
	PHASE=$1
	local d=0
	[ "$PHASE" = default ] && d=1
	case $LABEL in
	"ip_mask = public")
		if ((d)); then try xffpriv response pass "X-Forwarded-For: 10.1.2.0$CR"
		else try xffpriv response pass "X-Forwarded-For: 10.1.2.3$CR"; fi ;;
	"ip_mask = off")
		if ((d)); then try xff4 response pass "X-Forwarded-For: 198.18.77.0 $CR"
		else try xff4 response pass "X-Forwarded-For: 198.18.77.99$CR"; fi ;;
	"ipv4_prefix = 16")
		if ((d)); then try xff4 response pass "X-Forwarded-For: 198.18.77.0 $CR"
		else try xff4 response pass "X-Forwarded-For: 198.18.0.0  $CR"; fi ;;
	"ipv6_prefix = 32")
		if ((d)); then try xff6 response pass "X-Forwarded-For: 2001:db8:1:0::0$CR"
		else try xff6 response pass "X-Forwarded-For: 2001:db8:0:0::0$CR"; fi ;;
	"respect_dnt = off")
		if ((d)); then try dnt response anonymized "" "$VIS"
		else try dnt response pass "rxVisitor=$VIS"; fi ;;
	"dnt_action = drop")
		if ((d)); then try dnt response anonymized
		else try dnt timeout dropped_dnt; fi ;;
	"respect_gpc = off")
		if ((d)); then try gpc response anonymized "" "$VIS"
		else try gpc response pass "rxVisitor=$VIS"; fi ;;
	"opt_in = on")
		if ((d)); then try noconsent response pass
		else try noconsent timeout dropped_no_consent; fi ;;
	"user_tracking = on")
		if ((d)); then
			try plain response pass
			sleep 1.2
			grep -q '^beaconveil_visitors_new_total' <<<"$(metric)" &&
				bv_fail "[$LABEL, default] new-visitor metrics without user tracking"
		else
			bv_until 5 grep -q "user_tracking is now on" "$BV_TMP/d.log" ||
				bv_fail "[$LABEL] the daemon did not follow the live change"
			try plain response pass
			bv_until 5 bash -c "curl -sf http://127.0.0.1:19477/metrics | grep -qE '^beaconveil_visitors_new_total [1-9]'" ||
				bv_fail "[$LABEL, changed] beaconveil_visitors_new_total did not count the visitor"
		fi ;;
	"honour_disabled = off")
		if ((d)); then try disabled timeout dropped_disabled
		else try disabled response pass; fi ;;
	"drop_action = reset")
		if ((d)); then try disabled timeout act_drop
		else try disabled reset act_tx; fi ;;
	"collection_level = performance")
		if ((d)); then try plain response pass "rxVisitor=$VIS"
		else try plain response anonymized "" "$VIS"; fi ;;
	"collection_level = off")
		if ((d)); then try plain response pass
		else try plain timeout dropped_level_off; fi ;;
	"crash_reports = off")
		if ((d)); then try crash response pass
		else try crash timeout dropped_crash_report; fi ;;
	"unreadable_body = pass")
		if ((d)); then try mgzip timeout dropped_unreadable
		else try mgzip response pass; fi ;;
	*)
		bv_fail "no behaviour check for '# $LABEL' in $DOC: add one to $0" ;;
	esac
}

# --- every global line ------------------------------------------------------------
n=0
for i in "${!LABELS[@]}"; do
	LABEL=${LABELS[$i]}
	case $LABEL in defaults | app:* | delete\ *) continue ;; esac
	key=${LABEL%% = *}
	val=${LABEL#* = }
	eval "$DEFAULTS" || bv_fail "defaults line failed"
	check default
	eval "${CMDS[$i]}" || bv_fail "[$LABEL] the documented line failed: ${CMDS[$i]}"
	got=$("$BV" policy get "$key")
	[ "$got" = "$val" ] || bv_fail "[$LABEL] after the line, policy get $key says '$got'"
	check changed
	eval "$DEFAULTS" || bv_fail "defaults line failed"
	if [ "$LABEL" = "user_tracking = on" ]; then
		bv_until 5 grep -q "user_tracking is now off" "$BV_TMP/d.log" ||
			bv_fail "[$LABEL] the daemon did not follow the return to off"
	fi
	bv_ok "$LABEL: ${CMDS[$i]##*value hex }"
	n=$((n + 1))
done
"$BV" policy get >"$BV_TMP/now"
for kv in "ip_mask = all" "ipv4_prefix = 24" "ipv6_prefix = 48" "respect_dnt = on" \
	"dnt_action = anonymize" "respect_gpc = on" "opt_in = off" "user_tracking = off" \
	"honour_disabled = on" "drop_action = drop" "collection_level = user_behavior" "crash_reports = on" \
	"unreadable_body = drop"; do
	grep -qx "$kv" "$BV_TMP/now" || bv_fail "the defaults line does not give '$kv'"
done

# --- the per-application lines ---------------------------------------------------------
LABEL="app:a1 opt_in = on"
PHASE=changed
eval "$(cmd_of "$LABEL")" || bv_fail "[$LABEL] line failed"
grep -qx "app:a1" <<<"$("$BV" policy list)" || bv_fail "[$LABEL] the key bytes do not make app:a1"
[ "$("$BV" policy get opt_in --app a1)" = on ] || bv_fail "[$LABEL] override value"
try app1 timeout dropped_no_consent
try app2 response pass
LABEL="delete app:a1"
eval "$(cmd_of "$LABEL")" || bv_fail "[$LABEL] line failed"
try app1 response pass
bv_ok "per-application override lines"

kill -0 "$D" || bv_fail "the daemon died"
bv_stop "$D"
[ "$BV_RC" -eq 0 ] || bv_fail "stop: exit $BV_RC"
"$BV" unload >/dev/null
echo "$BV_NAME: all passed ($n settings)"
