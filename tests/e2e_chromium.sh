#!/usr/bin/env bash
# tests/e2e_chromium.sh — beaconveil end to end with a real browser
# (docs/LAB.md): headless Chromium (Debian's chromium) loads a page through
# HAProxy whose script sets the RUM cookies (dtCookie, rxVisitor, dtPC) and
# sends its beacons with navigator.sendBeacon and XMLHttpRequest, half of
# them over HAProxy's PROXY-protocol route. nginx behind HAProxy, beaconveil
# inline on nginx's NIC, a mirror copy anonymized by a second daemon.
#
# Runs (each bounded in time, each 6 beacons):
#   plain    Do Not Track off, IPv4                   -> pass, identifiers kept
#   dnt      Do Not Track on (profile preference)     -> anonymized
#   gpc      Global Privacy Control forced on, IPv6   -> anonymized
#   bigck    DNT off, a 3000-byte cookie, IPv6        -> pass; the head spans
#            segments, the visitor cookie leaves undecided: replaced anyway
#   dntdrop  DNT on with dnt_action=drop, drop_action=reset -> dropped_dnt,
#            the page's requests fail at once
#   ref      DNT on, through the reference collector (no beaconveil): the
#            browser really sent the identifiers and DNT
# Asserted: per run, what nginx logged (masked address, identifiers kept or
# replaced, nothing for dropped beacons); decisions per reason equal the
# beacon requests on the wire, in the inline and the mirror daemon; the
# mirror capture has masked addresses and valid checksums.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
export BUILD
export LAB_PREFIX=bvb LAB_SERVER_TIMEOUT=4s
NAME=e2e_chromium
. "$ROOT/tools/lab/lib.sh"

lab_require "$NAME"
TMP=$(mktemp -d /tmp/$NAME.XXXXXX)
cleanup() {
	local rc=$?
	trap - EXIT
	if [ "$rc" -ne 0 ] && [ -n "${LAB_STATE:-}" ] && [ -d "$LAB_STATE" ]; then
		for f in bv-inline.log haproxy.log nginx-coll/access.log nginx-ref/access.log; do
			[ -f "$LAB_STATE/$f" ] && { echo "----- $f"; tail -n 20 "$LAB_STATE/$f" | cut -c1-300; }
		done
		for f in "$LAB_STATE"/chromium-*.log; do
			[ -f "$f" ] && { echo "----- $f"; grep -v -e dbus -e 'Fontconfig' "$f" | tail -n 8; }
		done
	fi
	lab_down
	rm -rf "$TMP"
	exit "$rc"
}
lab_down
trap cleanup EXIT
trap 'exit 130' INT TERM

lab_up || fail "the lab did not come up"
chromium --version 2>/dev/null | head -1 | sed "s/^/$NAME: /"
ALOG=$LAB_STATE/nginx-coll/access.log
RLOG=$LAB_STATE/nginx-ref/access.log
N=6
E=$TMP/expect   # RUN REASON CHECK
: >"$E"

run() { # RUN REASON CHECK CHROMIUM-OPTIONS...  (Q: more query parameters)
	local r=$1 reason=$2 check=$3 t0 t1
	shift 3
	echo "$r $reason $check" >>"$E"
	t0=$(date +%s%N)
	WAIT_DECISIONS=$N lab_chromium "$r" "n=$N${Q:+&$Q}" "$@" ||
		fail "chromium run '$r' did not finish within ${LAB_TIMEOUT_CHROMIUM}s"
	t1=$(date +%s%N)
	ok "chromium run '$r' (${*:-defaults}${Q:+, $Q}): page loaded, $N beacons sent and decided in $(((t1 - t0) / 1000000)) ms"
}
run plain pass keep
run dnt anonymized anon dnt
run gpc anonymized anon gpc v6
Q=big=3000 run bigck pass anon v6
lab_policy dnt_action drop || fail "policy set dnt_action drop"
lab_policy drop_action reset || fail "policy set drop_action reset"
run dntdrop dropped_dnt drop dnt
lab_policy dnt_action anonymize || fail "policy set dnt_action anonymize"
lab_policy drop_action drop || fail "policy set drop_action drop"
# The reference collector: the same browser, no beaconveil.
lab_chromium ref "n=$N" dnt ref || fail "chromium run 'ref' did not finish"
for ((i = 0; i < 30; i++)); do
	[ "$(grep -c 'pv=ref' "$RLOG")" -ge "$N" ] && break
	sleep 0.1
done
ok "chromium run 'ref' (DNT on, reference collector without beaconveil) done"
sleep 0.5
"$LAB" capture-stop >/dev/null

# --- the reference: what the browser sent -----------------------------------
ref=$(grep 'pv=ref' "$RLOG")
[ "$(grep -c . <<<"$ref")" -eq "$N" ] || fail "reference collector: $(grep -c . <<<"$ref") beacons logged, expected $N"
grep -q "	dnt=1	" <<<"$ref" || fail "reference: Chromium sent no DNT: 1 with enable_do_not_track"
grep -qF "rxVisitor=$LAB_VIS" <<<"$ref" && grep -qF "v$LAB_PC-0e0" <<<"$ref" && grep -qF "vi=$LAB_PC" <<<"$ref" ||
	fail "reference: the page's cookies or vi= did not reach the reference collector"
[ -n "$(lab_unmasked "$RLOG")" ] || fail "reference: no client address in its log (the comparison would prove nothing)"
[ "$(awk -F'\t' '$2 == 8080' <<<"$ref" | wc -l)" -gt 0 ] && [ "$(awk -F'\t' '$2 == 80' <<<"$ref" | wc -l)" -gt 0 ] ||
	fail "reference: beacons did not use both routes"
ok "without beaconveil the collector logs the client address, rxVisitor, dtPC and vi= as Chromium sent them (DNT: 1 or not)"

# --- what the collector behind beaconveil logged ----------------------------
bad=$(lab_unmasked "$ALOG")
[ -z "$bad" ] || fail "unmasked client address in nginx's log: $(head -3 <<<"$bad")"
while read -r r reason check; do
	lines=$(grep -P "[?&]pv=$r&" "$ALOG")
	n=$(grep -c . <<<"$lines")
	case $check in
	drop)
		[ -z "$lines" ] || fail "$r: dropped beacons reached nginx: $lines"
		continue
		;;
	esac
	[ "$n" -eq "$N" ] || fail "$r: $n beacons in nginx's log, expected $N"
	[ "$(awk -F'\t' '$3 != 200' <<<"$lines" | wc -l)" -eq 0 ] || fail "$r: not every beacon was answered 200"
	awk -F'\t' '$4 != "198.18.1.0" && $4 != "2001:db8:1::" { exit 1 }' <<<"$lines" ||
		fail "$r: nginx's \$remote_addr is not the masked client: $(cut -f4 <<<"$lines" | sort -u | tr '\n' ' ')"
	[ "$(grep -c "	POST	" <<<"$lines")" -eq "$N" ] || fail "$r: expected only POSTs (sendBeacon, XHR)"
	[ "$(awk -F'\t' '$2 == 8080' <<<"$lines" | wc -l)" -eq $((N / 2)) ] || fail "$r: expected half the beacons over PROXY v2"
	case $check in
	keep)
		[ "$(grep -cF "rxVisitor=$LAB_VIS" <<<"$lines")" -eq "$N" ] &&
			[ "$(grep -cF "vi=$LAB_PC" <<<"$lines")" -eq "$N" ] ||
			fail "$r: a passed beacon lost its identifiers"
		;;
	anon)
		! grep -qF -e "$LAB_VIS" -e "$LAB_PC" <<<"$lines" || fail "$r: an original identifier reached nginx: $lines"
		# replaced, not removed: same shapes
		[ "$(grep -cE 'rxVisitor=[0-9]{13}[A-Z0-9]{32}(;|$|	)' <<<"$lines")" -eq "$N" ] ||
			fail "$r: rxVisitor not replaced in place by a value of the same shape"
		;;
	esac
	case $r in dnt) [ "$(grep -c '	dnt=1	' <<<"$lines")" -eq "$N" ] || fail "dnt: DNT: 1 missing" ;; esac
	case $r in gpc) [ "$(grep -c '	gpc=1	' <<<"$lines")" -eq "$N" ] || fail "gpc: Sec-GPC: 1 missing" ;; esac
done <"$E"
ok "nginx's log: masked client only (realip over X-Forwarded-For and PROXY v2), identifiers kept without DNT, replaced with DNT/GPC and when undecided, nothing of dropped beacons"

# --- what the page's XHRs got --------------------------------------------------
NX=0 # rum.js: beacons 2 and 3 of every 4 go by XHR
for ((i = 0; i < N; i++)); do ((i % 4 >= 2)) && NX=$((NX + 1)); done
while read -r r reason check; do
	out=$(lab_xhr_outcomes "$r")
	[ "$(grep -c . <<<"$out")" -eq "$NX" ] || fail "$r: the page reported $(grep -c . <<<"$out") XHR outcomes, expected $NX: $(tr '\n' ' ' <<<"$out")"
	while IFS=: read -r i st ms; do
		case $check in
		drop)
			# drop_action=reset: HAProxy's 502, or (a reset in the middle
			# of the body) the connection closed without an answer.
			[ "$st" = 502 ] || [ "$st" = 0 ] || fail "$r: XHR $i got status $st, expected 502 or a failed connection"
			[ "$ms" -lt 1000 ] || fail "$r: XHR $i took $ms ms to fail"
			;;
		*) [ "$st" = 200 ] || fail "$r: XHR $i got status $st" ;;
		esac
	done <<<"$out"
	[ "$check" = drop ] && ok "$r: the page's XHRs failed at once: $(tr '\n' ' ' <<<"$out")(index:status:ms; 0 = connection closed without an answer)"
done <"$E"

# --- counts: inline daemon, mirror daemon, the wire -------------------------
lab_wire_requests "$LAB_STATE/wire.pcap" >"$TMP/wire"
declare -A want=()
for r in pass anonymized dropped_dnt dropped_gpc dropped_no_consent dropped_disabled \
	dropped_level_off dropped_crash_report malformed; do
	want[$r]=0
done
while read -r r reason check; do
	n=$(awk -v r="$r" '{ k = $1; sub(/\.[0-9]+$/, "", k) } k == r' "$TMP/wire" | wc -l)
	d=$(awk -v r="$r" '{ k = $1; sub(/\.[0-9]+$/, "", k) } k == r { print $1 }' "$TMP/wire" | sort -u | wc -l)
	[ "$d" -eq "$N" ] || fail "$r: $d distinct beacons on the wire, expected $N"
	if [ "$check" = drop ]; then
		# A reset on a reused backend connection makes HAProxy send the
		# request again on a new one; a reset in the middle of the body
		# makes HAProxy close the browser's connection without an answer,
		# and Chromium sends the beacon again (docs/LAB.md). Each attempt
		# at most twice on the wire, at most two attempts.
		[ "$n" -le $((4 * N)) ] || fail "$r: $n beacon requests on the wire for $N beacons"
		[ "$n" -gt "$N" ] &&
			echo "$NAME: $r: Chromium sent $N beacons, $n went over the wire (HAProxy's and Chromium's own retries after the RST): each is a decision"
	else
		[ "$n" -eq "$N" ] || fail "$r: $n beacon requests on the wire for $N beacons"
	fi
	want[$reason]=$((${want[$reason]} + n))
done <"$E"
S=$(lab_stats inline)
SM=$(lab_stats mirror)
line=
for r in "${!want[@]}"; do
	got=$(lab_decision "$S" "$r")
	gotm=$(lab_decision "$SM" "$r")
	[ "$got" = "${want[$r]}" ] || fail "inline daemon: $r = $got, the wire carried ${want[$r]} ($(jq -c .decisions <<<"$S"))"
	[ "$gotm" = "${want[$r]}" ] || fail "mirror daemon: $r = $gotm, the wire carried ${want[$r]} ($(jq -c .decisions <<<"$SM"))"
	[ "${want[$r]}" -gt 0 ] && line+=" $r=${want[$r]}"
done
ok "decisions per reason equal the beacon requests on the wire, inline and mirror:$line"

# --- the mirror capture --------------------------------------------------------
read -r _ good _ badc <<<"$(lab_pcap_checksums "$LAB_STATE/mirror.pcap")"
[ "$good" -gt 0 ] && [ "$badc" -eq 0 ] || fail "mirror capture: $good good and $badc bad checksums"
while read -r a n; do
	case $a in "$COLL4" | "$COLL6" | *.0 | *::) ;; *) fail "mirror capture: $a not masked" ;; esac
done < <(lab_pcap_addresses "$LAB_STATE/mirror.pcap")
for a in $(lab_client_addrs); do
	! lab_pcap_has_bytes "$(lab_hex_addr "$a")" "$LAB_STATE/mirror.pcap" || fail "mirror capture: bytes of $a"
done
[ -z "$(lab_unmasked "$LAB_STATE/mirror.pcap")" ] || fail "mirror capture: a client address in text"
ok "mirror capture: $good checksums valid, none bad; only masked client addresses"
echo "$NAME: all passed"
