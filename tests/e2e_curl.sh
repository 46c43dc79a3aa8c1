#!/usr/bin/env bash
# tests/e2e_curl.sh — beaconveil behind a real load balancer, end to end, with
# curl as the client (docs/LAB.md). The lab (tools/lab/lab.sh): curl ->
# HAProxy 2.6 (X-Forwarded-For to nginx:80, PROXY v2 to nginx:8080) -> nginx
# 1.22 with realip, `beaconveil run` inline on nginx's NIC; a tc mirred copy
# of the link anonymized by a second `beaconveil run --mode mirror` into a
# tcpdump.
#
# Sent: IPv4 and IPv6 clients on both routes, DNT, Sec-GPC, with and without
# the consent cookie under opt_in, dtDisabled=true, collection levels, a
# crash report, keep-alive with several beacons on one connection, cookies
# so large that the head spans three segments (DNT after the visitor
# cookie), a client-supplied X-Forwarded-For, silent drop and reset, a
# malformed head sent past the load balancer.
#
# Asserted:
# - nginx's access log (realip $remote_addr, X-Forwarded-For, Forwarded,
#   X-Real-IP, PROXY address, Cookie, request URI) holds no unmasked client
#   address; nginx resolved every beacon to the masked client (the rewritten
#   headers still parse); anonymized beacons carry none of the original
#   visitor identifiers; passed ones keep them (when the head is decided in
#   one segment); dropped beacons never got an answer from nginx;
# - the daemon's counters (stats --json and /metrics) equal, per reason,
#   the beacon requests HAProxy put on the wire (counted by tshark on a raw
#   capture of HAProxy's side of the link), and so do the mirror daemon's;
# - drop_action=reset: the client gets its answer (HAProxy's 502, or the
#   connection closed) in well under a second; a silent drop makes it wait
#   for HAProxy's timeout; HAProxy's own re-sending of a reset request is
#   counted as what it is, another request on the wire;
# - the mirror capture holds only masked addresses (IP headers, text and
#   binary payload) and only valid checksums (tshark);
# - `lab.sh down` leaves no namespace, process or file, and runs twice.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
export BUILD
export LAB_PREFIX=bvc LAB_SERVER_TIMEOUT=4s
NAME=e2e_curl
. "$ROOT/tools/lab/lib.sh"

lab_require "$NAME"
TMP=$(mktemp -d /tmp/$NAME.XXXXXX)
cleanup() {
	local rc=$?
	trap - EXIT
	if [ "$rc" -ne 0 ] && [ -n "${LAB_STATE:-}" ] && [ -d "$LAB_STATE" ]; then
		for f in bv-inline.log bv-mirror.log haproxy.log nginx-coll/access.log nginx-coll/error.log; do
			[ -f "$LAB_STATE/$f" ] && { echo "----- $f"; tail -n 25 "$LAB_STATE/$f" | cut -c1-300; }
		done
	fi
	lab_down
	rm -rf "$TMP"
	exit "$rc"
}
lab_down # leftovers of an earlier run that was killed
trap cleanup EXIT
trap 'exit 130' INT TERM

lab_up || fail "the lab did not come up"
ok "lab up: HAProxy, nginx x2, beaconveil inline on coll0 and mirror on mir1, tcpdump"

R=$TMP/results   # KEY http_code time connects curl_exit
E=$TMP/expect    # KEY REASON CHECK DROP_ACTION (CHECK: keep, anon, rxkeep, drop, none)
: >"$R"
: >"$E"
DROP_ACTION=drop
expect() { echo "$1 $2 $3 $DROP_ACTION" >>"$E"; }

BODY=$(printf '$a=1%%7C1%%7C_load_%%7C_load_%%7C-%%7C1732000000000%%7C1732000000321%%7C7$rId=RID_1$rpId=-1234567$url=http%%3A%%2F%%2Fshop.example%%2F$title=shop')
BODY=$BODY$(head -c 900 /dev/zero | tr '\0' 'x')
POST=(-X POST -H 'Content-Type: text/plain;charset=UTF-8' --data-binary "$BODY")
BIG=$(head -c 3000 /dev/zero | tr '\0' 'f')
IF4=(--interface 198.18.1.57)
IF6=(--interface 2001:db8:1:0:a3f1:7c2e:9d4b:1157)

# --- phase 1: the default policy (drop_action = drop) ----------------------
# beacon KEY REASON CHECK FAMILY ROUTE CURL-ARGS...
beacon() {
	local key=$1 reason=$2 check=$3 fam=$4 route=$5
	shift 5
	expect "$key" "$reason" "$check"
	lab_curl "$R" "$key" -o /dev/null -w "$LAB_W" "$@" "$(lab_url "$fam" "$route" "$key")"
}
beacon p4x pass keep 4 xff "${IF4[@]}" -b "$LAB_COOKIES" "${POST[@]}"
beacon p6x pass keep 6 xff -b "$LAB_COOKIES"
beacon p4p pass keep 4 pp -b "$LAB_COOKIES" "${POST[@]}"
beacon p6p pass keep 6 pp "${IF6[@]}" -b "$LAB_COOKIES" "${POST[@]}"
beacon bf4 pass keep 4 bf -b "$LAB_COOKIES"
beacon crash4 pass keep 4 crash -b "$LAB_COOKIES" "${POST[@]}"
beacon d4x anonymized anon 4 xff -b "$LAB_COOKIES" -H 'DNT: 1' "${POST[@]}"
beacon d6p anonymized anon 6 pp -b "$LAB_COOKIES" -H 'DNT: 1' "${POST[@]}"
beacon g4p anonymized anon 4 pp -b "$LAB_COOKIES" -H 'Sec-GPC: 1'
beacon g6x anonymized anon 6 xff "${IF6[@]}" -b "$LAB_COOKIES" -H 'sec-gpc: 1' "${POST[@]}"
# Heads over three segments: the visitor cookie leaves before DNT arrives.
beacon bigd4 anonymized anon 4 xff -b "$LAB_COOKIES; dtSa=$BIG" -H 'DNT: 1' "${POST[@]}"
beacon bigd6 anonymized anon 6 pp -b "$LAB_COOKIES; dtSa=$BIG" -H 'DNT: 1' "${POST[@]}"
# No signal, but undecided when the visitor cookie passed: replaced anyway
# (README "Signals after identifiers"); a visitor cookie in the last
# segment is kept.
beacon bigp4 pass anon 4 xff -b "$LAB_COOKIES; dtSa=$BIG" "${POST[@]}"
beacon bigl6 pass rxkeep 6 xff -b "dtCookie=$LAB_SID; dtSa=$BIG; rxVisitor=$LAB_VIS" "${POST[@]}"
# The client sends its own X-Forwarded-For: HAProxy adds a second line.
beacon spoof4 pass keep 4 xff "${IF4[@]}" -H 'X-Forwarded-For: 198.18.1.213' -b "$LAB_COOKIES"
# Keep-alive: four beacons on one client connection (curl --next).
for k in ka1:pass:keep ka2:anonymized:anon ka3:anonymized:anon ka4:pass:keep; do
	IFS=: read -r a b c <<<"$k"
	expect "$a" "$b" "$c"
done
lab_curl "$R" ka -o /dev/null -w "$LAB_W" -b "$LAB_COOKIES" "$(lab_url 4 xff ka1)" \
	--next -s -o /dev/null -w "$LAB_W" -b "$LAB_COOKIES" -H 'DNT: 1' "${POST[@]}" "$(lab_url 4 pp ka2)" \
	--next -s -o /dev/null -w "$LAB_W" -b "$LAB_COOKIES" -H 'Sec-GPC: 1' "$(lab_url 4 xff ka3)" \
	--next -s -o /dev/null -w "$LAB_W" -b "$LAB_COOKIES" "${POST[@]}" "$(lab_url 4 xff ka4)"
# dtDisabled=true, dropped silently: the client waits for HAProxy.
beacon dis4 dropped_disabled drop 4 xff -b "$LAB_COOKIES; dtDisabled=true" "${POST[@]}"
ok "phase 1 (default policy) sent"

# --- phase 2: opt_in = on, drop_action = reset ------------------------------
lab_policy drop_action reset || fail "policy set drop_action reset"
DROP_ACTION=reset
lab_policy opt_in on || fail "policy set opt_in on"
beacon oc6 pass keep 6 xff -b "$LAB_COOKIES" "${POST[@]}"
beacon on4 dropped_no_consent drop 4 xff -b "$LAB_COOKIES_NOCONSENT" "${POST[@]}"
beacon on6p dropped_no_consent drop 6 pp -b "$LAB_COOKIES_NOCONSENT"
beacon oc4p pass keep 4 pp -b "$LAB_COOKIES" "${POST[@]}"
# A beacon reset on a backend connection HAProxy reuses: HAProxy sends it
# again on a new connection (whatever its retries / retry-on say), and
# beaconveil decides it again.
expect rs1 pass keep
expect rs2 dropped_disabled drop
lab_curl "$R" rs -o /dev/null -w "$LAB_W" -b "$LAB_COOKIES" "$(lab_url 4 xff rs1)" \
	--next -s -o /dev/null -w "$LAB_W" -b "$LAB_COOKIES; dtDisabled=true" "${POST[@]}" "$(lab_url 4 xff rs2)"
ok "phase 2 (opt_in, reset) sent"

# --- phase 3: dnt_action = drop, reset --------------------------------------
lab_policy opt_in off || fail "policy set opt_in off"
lab_policy dnt_action drop || fail "policy set dnt_action drop"
beacon dd4 dropped_dnt drop 4 xff -b "$LAB_COOKIES" -H 'DNT: 1' "${POST[@]}"
beacon dg6p dropped_gpc drop 6 pp -b "$LAB_COOKIES" -H 'Sec-GPC: 1' "${POST[@]}"
beacon ddis4p dropped_disabled drop 4 pp -b "$LAB_COOKIES; dtDisabled=true"
# DNT decided in the last segment: the first ones already reached nginx.
beacon dbig4 dropped_dnt drop 4 xff -b "$LAB_COOKIES; dtSa=$BIG" -H 'DNT: 1' "${POST[@]}"
# Past HAProxy, straight from its namespace to the collector: what a plain
# TCP client sees of the reset, and a malformed head (HAProxy itself would
# refuse it with a 400: it never reaches the collector through it).
expect rstd dropped_disabled drop
"$LAB" exec lb curl -s --max-time 8 -o /dev/null -w 'rstd %{http_code} %{time_total} %{num_connects} %{exitcode}\n' \
	-b "$LAB_COOKIES; dtDisabled=true" "http://$COLL4/rb_bf28208ayo?type=js3&pv=rstd" >>"$R" 2>/dev/null
expect mal malformed drop
"$LAB" exec lb bash -c 'exec 3<>/dev/tcp/'"$COLL4"'/80 || exit 1
	printf "POST /rb_bf28208ayo?type=js3&pv=mal HTTP/1.1\r\nHost: rum.example\r\nContent-Length: 1x\r\n\r\n" >&3 2>/dev/null
	timeout 2 cat <&3 >/dev/null 2>&1; exit 0'
lab_curl "$R" malv -o /dev/null -w "$LAB_W" -H 'Content-Length: 1x' -b "$LAB_COOKIES" "$(lab_url 4 xff malv)"
expect malv none none
ok "phase 3 (dnt_action drop, reset) sent"

# --- phase 4: collection levels, crash reports ------------------------------
lab_policy dnt_action anonymize || fail "policy set dnt_action anonymize"
lab_policy collection_level off || fail "policy set collection_level off"
beacon lvoff6 dropped_level_off drop 6 xff -b "$LAB_COOKIES" "${POST[@]}"
lab_policy collection_level performance || fail "policy set collection_level performance"
beacon lvperf4 anonymized anon 4 pp -b "$LAB_COOKIES" "${POST[@]}"
lab_policy collection_level user_behavior || fail "policy set collection_level user_behavior"
lab_policy crash_reports off || fail "policy set crash_reports off"
beacon crash6 dropped_crash_report drop 6 crash -b "$LAB_COOKIES" "${POST[@]}"
beacon p4after pass keep 4 xff -b "$LAB_COOKIES"
ok "phase 4 (collection levels, crash reports) sent"

# nginx holds dbig4's first segments until its client_header_timeout (5 s)
# and then logs the request as incomplete: wait for that line (bounded).
for ((i = 0; i < 100; i++)); do
	grep -q 'pv=dbig4' "$LAB_STATE/nginx-coll/access.log" && break
	sleep 0.1
done
sleep 0.5
"$LAB" capture-stop >/dev/null
WIRE=$LAB_STATE/wire.pcap
MIRROR_PCAP=$LAB_STATE/mirror.pcap
ALOG=$LAB_STATE/nginx-coll/access.log
cp "$ALOG" "$TMP/access.log"

# === assertions =============================================================
# --- what curl saw -----------------------------------------------------------
res() { awk -v k="$1" '$1 == k { print; exit }' "$R"; }
for k in $(awk '$3 == "keep" || $3 == "anon" || $3 == "rxkeep" { print $1 }' "$E" | grep -v -e '^ka' -e '^rs'); do
	read -r _ code _ _ _ <<<"$(res "$k")"
	[ "$code" = 200 ] || fail "$k: expected 200 from the collector, curl got '$(res "$k")'"
done
[ "$(awk '$1 == "ka" && $2 == 200' "$R" | wc -l)" -eq 4 ] || fail "keep-alive: not four 200s: $(grep '^ka ' "$R")"
[ "$(awk '$1 == "ka" { s += $4 } END { print s }' "$R")" -eq 1 ] ||
	fail "keep-alive: curl opened more than one connection: $(grep '^ka ' "$R")"
ok "every passed or anonymized beacon got its 200, the four keep-alive beacons over one connection"

read -r _ code t _ _ <<<"$(res dis4)"
[ "$code" = 504 ] || fail "silent drop: expected HAProxy's 504, got '$(res dis4)'"
awk -v t="$t" 'BEGIN { exit !(t >= 3.5) }' || fail "silent drop: the client had its answer after $t s, expected HAProxy's 4 s timeout"
ok "drop_action=drop: the client waited ${t}s for HAProxy's 504 (timeout server 4s)"
# HAProxy answers 502, or, when the RST cuts the request body it is still
# forwarding, closes the connection without an answer (curl: exit 52).
fast_fail() { # CODE TIME EXIT
	{ [ "$1" = 502 ] || { [ "$1" = 000 ] && [ "$3" = 52 ]; }; } && awk -v t="$2" 'BEGIN { exit !(t < 0.5) }'
}
maxr=0
for k in on4 on6p dd4 dg6p ddis4p dbig4 lvoff6 crash6; do
	read -r _ code t _ ex <<<"$(res "$k")"
	fast_fail "$code" "$t" "$ex" || fail "$k: reset: expected HAProxy's 502 (or a closed connection) at once, got '$(res "$k")'"
	maxr=$(awk -v a="$maxr" -v b="$t" 'BEGIN { print (b > a ? b : a) }')
done
read -r _ code t _ ex <<<"$(awk '$1 == "rs"' "$R" | sed -n 2p)"
fast_fail "$code" "$t" "$ex" ||
	fail "reset on a reused connection: expected a quick 502, got '$(grep '^rs ' "$R" | tr '\n' ';')'"
read -r _ code t _ ex <<<"$(res rstd)"
[ "$ex" = 56 ] || fail "direct reset: expected curl exit 56 (connection reset), got '$(res rstd)'"
awk -v t="$t" 'BEGIN { exit !(t < 0.5) }' || fail "direct reset: the client waited $t s"
ok "drop_action=reset: every client behind HAProxy had its answer (502, or the connection closed) within ${maxr}s (slowest of 8); a direct client saw the RST after ${t}s"
read -r _ code _ _ _ <<<"$(res malv)"
[ "$code" = 400 ] || fail "a malformed head through HAProxy: expected HAProxy's own 400, got '$(res malv)'"
ok "a malformed head is refused by HAProxy itself (400): only a direct client can send one"

# --- the wire: what HAProxy sent, against what the daemons counted ----------
lab_wire_requests "$WIRE" >"$TMP/wire"
[ -s "$TMP/wire" ] || fail "no beacon requests found in the wire capture ($WIRE)"
declare -A want=()
for r in pass anonymized dropped_dnt dropped_gpc dropped_no_consent dropped_disabled \
	dropped_level_off dropped_crash_report malformed; do
	want[$r]=0
done
resent=0
nreset=0
while read -r key reason check action; do
	n=$(awk -v k="$key" '$1 == k' "$TMP/wire" | wc -l)
	if [ "$reason" = none ]; then
		[ "$n" -eq 0 ] || fail "$key: expected never to reach the collector, $n requests on the wire"
		continue
	fi
	[ "$n" -ge 1 ] || fail "$key: not on the wire"
	if [ "$n" -gt 1 ]; then
		# HAProxy re-sends a request on a new connection when a reused one
		# fails before any response: a reset drop does that (docs/LAB.md).
		# (and curl, like Chromium, sends a request again when its reused
		# connection closes without an answer): at most twice each.
		[ "$check" = drop ] && [ "$action" = reset ] && [ "$n" -le 4 ] ||
			fail "$key: sent $n times on the wire: $(awk -v k="$key" '$1 == k' "$TMP/wire" | tr '\n' ';')"
		resent=$((resent + 1))
	fi
	[ "$check" = drop ] && [ "$action" = reset ] && nreset=$((nreset + n))
	want[$reason]=$((${want[$reason]} + n))
done <"$E"
note "$resent reset beacons went over the wire more than once (HAProxy's own retry when a reused connection fails before any answer; docs/LAB.md)"

S=$(lab_stats inline) || fail "beaconveil stats --json (inline) failed"
SM=$(lab_stats mirror) || fail "beaconveil stats --json (mirror) failed"
lab_metrics >"$TMP/metrics" || fail "no /metrics from the inline daemon"
line=
for r in "${!want[@]}"; do
	got=$(lab_decision "$S" "$r")
	gotm=$(lab_decision "$SM" "$r")
	prom=$(sed -n "s/^beaconveil_decisions_total{reason=\"$r\",mode=\"inline\"} //p" "$TMP/metrics")
	[ "$got" = "${want[$r]}" ] || fail "inline daemon: $r = $got, the wire carried ${want[$r]} ($(jq -c .decisions <<<"$S"))"
	[ "$prom" = "${want[$r]}" ] || fail "/metrics: $r = $prom, expected ${want[$r]}"
	[ "$gotm" = "${want[$r]}" ] || fail "mirror daemon: $r = $gotm, the wire carried ${want[$r]} ($(jq -c .decisions <<<"$SM"))"
	line+=" $r=${want[$r]}"
done
ok "decisions per reason equal what went over the wire, in stats --json, /metrics and the mirror daemon:$line"
act_tx=$(jq -r .counters.act_tx <<<"$S")
[ "$act_tx" -ge "$nreset" ] || fail "act_tx = $act_tx, expected at least one RST per reset-mode drop ($nreset)"
ok "reset mode: $act_tx RSTs for $nreset dropped requests (one per dropped segment that arrived)"

# --- nginx's access log --------------------------------------------------------
bad=$(lab_unmasked "$ALOG")
[ -z "$bad" ] || fail "unmasked client addresses in nginx's access log: $(head -3 <<<"$bad")"
ok "nginx's access log holds no unmasked client address ($(wc -l <"$ALOG") lines)"
while read -r key reason check _; do
	lines=$(grep -P "[?&]pv=$key(&|\t)" "$ALOG")
	n200=$(awk -F'\t' '$3 ~ /^2/' <<<"$lines" | grep -c .)
	case $check in
	drop | none)
		[ "$n200" -eq 0 ] || fail "$key ($reason) reached nginx and got an answer: $lines"
		;;
	*)
		[ "$n200" -eq 1 ] || fail "$key ($reason): $n200 answered requests in nginx's log, expected 1"
		;;
	esac
	[ -n "$lines" ] || continue
	# realip took the masked client address from the rewritten headers.
	ra=$(awk -F'\t' '$3 ~ /^2/ { print $4 }' <<<"$lines")
	case $ra in "" | 198.18.1.0 | 2001:db8:1::) ;; *) fail "$key: nginx's \$remote_addr is '$ra', not the masked client" ;; esac
	case $check in
	keep)
		grep -qF "rxVisitor=$LAB_VIS" <<<"$lines" && grep -qF "vi=$LAB_PC" <<<"$lines" &&
			grep -qF "v$LAB_PC-0e0" <<<"$lines" || fail "$key ($reason): a passed beacon lost its identifiers: $lines"
		;;
	rxkeep)
		grep -qF "rxVisitor=$LAB_VIS" <<<"$lines" || fail "$key: the visitor cookie of the last segment was not kept"
		;;
	anon | drop)
		if grep -qF -e "$LAB_VIS" -e "$LAB_PC" <<<"$lines"; then
			fail "$key ($reason): an original visitor identifier reached nginx: $lines"
		fi
		;;
	esac
done <"$E"
grep -qP 'pv=dbig4\t' "$ALOG" &&
	note "dbig4 (DNT in the last of three segments, dnt_action=drop): nginx logged the incomplete head, status $(grep -P 'pv=dbig4\t' "$ALOG" | cut -f3), peer address only, identifiers replaced"
ok "anonymized beacons: no original rxVisitor, dtPC or vi= in nginx's log; passed ones kept theirs; no dropped beacon was answered by nginx"
awk -F'\t' '$2 == 8080 && $3 ~ /^2/ { print $4, $9 }' "$ALOG" | sort -u >"$TMP/pp"
grep -q '^198.18.1.0 pp=198.18.1.0$' "$TMP/pp" && grep -q '^2001:db8:1:: pp=2001:db8:1::$' "$TMP/pp" ||
	fail "PROXY v2 route: nginx did not see the masked IPv4 and IPv6 clients: $(cat "$TMP/pp")"
ok "PROXY v2 (IPv4 and IPv6 clients over an IPv6 connection): nginx's proxy_protocol address is the masked client"

# --- the mirror capture --------------------------------------------------------
# The checks see what they look for: the raw record of the same link has
# the client addresses, as text (X-Forwarded-For) and as bytes (PROXY v2).
lab_pcap_has_bytes "$(lab_hex_addr "$CLI4")" "$WIRE" && [ -n "$(lab_unmasked "$WIRE")" ] ||
	fail "the raw wire capture has no client address: the mirror checks below would prove nothing"
read -r _ good _ badc <<<"$(lab_pcap_checksums "$MIRROR_PCAP")"
[ "$good" -gt 0 ] || fail "mirror capture: no checksum verified (empty capture?)"
[ "$badc" -eq 0 ] || fail "mirror capture: $badc bad checksums"
lab_pcap_addresses "$MIRROR_PCAP" >"$TMP/maddr"
while read -r a n; do
	case $a in
	"$COLL4" | "$COLL6") ;;                   # the server side is kept
	*.0 | *::) ;;                              # masked to /24, /48
	*) fail "mirror capture: address $a in $n IP headers is not masked" ;;
	esac
done <"$TMP/maddr"
for a in $(lab_client_addrs); do
	hx=$(lab_hex_addr "$a")
	! lab_pcap_has_bytes "$hx" "$MIRROR_PCAP" || fail "mirror capture: the bytes of $a ($hx) occur in it"
done
bad=$(lab_unmasked "$MIRROR_PCAP")
[ -z "$bad" ] || fail "mirror capture: unmasked client address in text: $(head -3 <<<"$bad")"
mreq=$(lab_wire_requests "$MIRROR_PCAP" | wc -l)
[ "$mreq" -gt 0 ] || fail "mirror capture: no beacon request in it"
tagged=$(tshark -r "$MIRROR_PCAP" -n -Y 'ip.dsfield.dscp >= 32 || ipv6.tclass.dscp >= 32' 2>/dev/null | wc -l)
ok "mirror capture: $good checksums valid, none bad; IP headers only $(awk '{ printf "%s ", $1 }' "$TMP/maddr")"
ok "mirror capture: no client address in any byte; $mreq beacon requests, $tagged packets tagged with a DSCP privacy class"

# --- down ----------------------------------------------------------------------
lab_down || fail "lab.sh down failed"
for n in cli lb coll ref mir; do
	[ -e "/run/netns/$LAB_PREFIX-$n" ] && fail "namespace $LAB_PREFIX-$n left after down"
done
[ -d "$LAB_STATE" ] && fail "$LAB_STATE left after down"
lab_down || fail "a second lab.sh down failed"
ok "lab.sh down removed every namespace, process and file, and runs twice"
echo "$NAME: all passed"
