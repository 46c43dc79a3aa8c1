#!/usr/bin/env bash
# tools/demo.sh — what `sudo make demo` runs (docs/LAB.md).
#
# Live: builds the lab (tools/lab/lab.sh: network namespaces, HAProxy 2.6 in
# front of nginx 1.22, `beaconveil run` inline on nginx's NIC, a mirror copy
# of the link anonymized by a second daemon into a tcpdump), sends a
# realistic mix of beacons with curl (IPv4 and IPv6, keep-alive, DNT,
# Sec-GPC, consent or not, dtDisabled, large cookies, crash reports) and
# headless Chromium (sendBeacon and XHR, Do Not Track off and on), and
# prints a short report for a privacy officer: decisions per reason from the
# daemon's metrics, what the collector logged with and without beaconveil
# for the same requests, what the anonymized mirror copy holds, how to
# attach to a real interface. Everything is torn down at the end, on error
# and on Ctrl-C. Keeps the anonymized mirror capture as
# ./beaconveil-demo-out.pcap (DEMO_OUT overrides).
#
#   tools/demo.sh            the live demo (falls back to --offline when the
#                            lab cannot start)
#   tools/demo.sh --offline  the offline demo: a synthetic capture through
#                            `beaconveil pcap` (tools/lab/demo-offline.sh)
#   tools/demo.sh --hold     the live demo, then keep the lab up for you to
#                            explore until Ctrl-C
#
# Environment: BUILD (default build), DEMO_OUT, LAB_PREFIX (default bvl).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd) || exit 1
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
export BUILD
export LAB_PREFIX=${LAB_PREFIX:-bvl}
OUT=${DEMO_OUT:-$PWD/beaconveil-demo-out.pcap}
BV=$BUILD/beaconveil
MODE=live
HOLD=
for a in "$@"; do
	case $a in
	--offline) MODE=offline ;;
	--hold) HOLD=1 ;;
	-h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "demo.sh: unknown argument '$a' (--offline, --hold, --help)" >&2; exit 2 ;;
	esac
done

say() { printf 'demo: %s\n' "$*" >&2; }
offline() {
	DEMO_OUT=$OUT exec "$ROOT/tools/lab/demo-offline.sh"
}

if [ "$(id -u)" -ne 0 ]; then
	echo "demo.sh: must run as root (network namespaces, XDP): run: sudo make demo" >&2
	exit 1
fi
[ "$MODE" = offline ] && offline
[ -x "$BV" ] || { echo "demo.sh: $BV is missing: run make first (or sudo make demo)" >&2; exit 1; }

. "$ROOT/tools/lab/lib.sh"
missing=()
for c in ip ethtool tc haproxy nginx tcpdump tshark curl jq setsid nsenter; do
	command -v "$c" >/dev/null 2>&1 || missing+=("$c")
done
if [ ${#missing[@]} -gt 0 ]; then
	say "the live lab needs ${missing[*]} (tools/deps/lab.list; sudo make demo installs them): running the offline demo instead"
	offline
fi
CHROMIUM=1
command -v chromium >/dev/null 2>&1 || { CHROMIUM=; say "chromium is not installed: the browser part is left out"; }
[ -f "$BUILD/lab/xdp_pass.bpf.o" ] || make -C "$ROOT" BUILD="$BUILD" "$BUILD/lab/xdp_pass.bpf.o" >/dev/null

TMP=$(mktemp -d /tmp/beaconveil-demo.XXXXXX) || exit 1
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	say "tearing the lab down"
	lab_down
	rm -rf "$TMP"
	exit "$rc"
}
st=$("$LAB" status 2>/dev/null)
if grep -q ': running' <<<"$st"; then
	echo "demo.sh: a lab named '$LAB_PREFIX' is running (another demo, or tools/lab/lab.sh hold):" >&2
	echo "  stop it first (sudo tools/lab/lab.sh down), or run with LAB_PREFIX=another" >&2
	rm -rf "$TMP"
	exit 1
fi
"$LAB" down # leftovers of an earlier run that was killed
trap cleanup EXIT
trap 'echo; say "interrupted"; exit 130' INT TERM

T0=$(date +%s)
say "building the lab: 5 network namespaces, HAProxy, 2 nginx, 2 beaconveil daemons, tcpdump ..."
# (lab.sh itself, not the lab_up function: a Ctrl-C here must not run our
# trap with stderr still redirected)
if ! "$LAB" up -c "$ROOT/tools/lab/demo.conf" 2>"$TMP/up.err"; then
	cat "$TMP/up.err" >&2
	say "the live lab could not start (above): running the offline demo instead"
	lab_down
	trap - EXIT INT TERM
	rm -rf "$TMP"
	offline
fi
eval "$("$LAB" env)"
export LAB_STATE
ALOG=$LAB_STATE/nginx-coll/access.log
RLOG=$LAB_STATE/nginx-ref/access.log
R=$TMP/results
: >"$R"

# --- traffic: curl ----------------------------------------------------------
# 48 beacons from five client addresses, in keep-alive batches of four: each
# beacon's signals follow from its number, so every run sends the same mix.
say "sending beacons with curl (IPv4 and IPv6, keep-alive, DNT, GPC, consent, dtDisabled, crash reports, large cookies) ..."
BIG=$(head -c 2600 /dev/zero | tr '\0' 'f')
BODY=$(head -c 900 /dev/zero | tr '\0' 'x')
SRC=(198.18.1.2 198.18.1.57 2001:db8:1::2 198.18.1.213 2001:db8:1:0:a3f1:7c2e:9d4b:1157)
declare -A SENT=()
sent() { SENT[$1]=$((${SENT[$1]:-0} + 1)); }
url() { # FAMILY ROUTE KEY APP [PORT]
	lab_url "$1" "$2" "$3" "${5:-80}" | sed "s/&app=$LAB_APP&/\&app=$4\&/"
}
batch=()
src=
flush() {
	[ ${#batch[@]} -gt 0 ] || return 0
	lab_cli curl -s --max-time 8 --interface "$src" "${batch[@]}" >>"$R" 2>/dev/null
	batch=()
}
for ((i = 0; i < 48; i++)); do
	if ((i % 4 == 0)); then
		flush
		src=${SRC[$(((i / 4) % ${#SRC[@]}))]}
	fi
	fam=4
	[[ $src == *:* ]] && fam=6
	route=xff
	((i % 2)) && route=pp
	app=$LAB_APP
	ck=$LAB_COOKIES
	hdr=()
	((i % 6 == 1)) && { hdr+=(-H 'DNT: 1'); sent dnt; }
	((i % 10 == 3)) && { hdr+=(-H 'Sec-GPC: 1'); sent gpc; }
	((i % 12 == 5)) && { ck="$ck; dtDisabled=true"; sent disabled; }
	((i % 8 == 2)) && { ck="$ck; dtSa=$BIG"; sent big; }
	if ((i % 5 == 0)); then
		app=eu-shop
		sent eu_shop
		((i % 10 == 0)) && { ck=$LAB_COOKIES_NOCONSENT; sent no_consent; }
	elif ((i % 7 == 4)); then
		app=mobile
		sent mobile
		((i % 14 == 11)) && { route=crash; sent crash; }
	fi
	sent "v$fam"
	sent total
	[ ${#batch[@]} -gt 0 ] && batch+=(--next -s --max-time 8 --interface "$src")
	batch+=(-o /dev/null -w "mix$i %{http_code} %{time_total}\n" -b "$ck" "${hdr[@]}")
	((i % 3 == 0)) || batch+=(-X POST -H 'Content-Type: text/plain;charset=UTF-8' --data-binary "\$a=$BODY")
	batch+=("$(url "$fam" "$route" "mix$i" "$app")")
done
flush

# The four samples shown side by side: each sent through the collector
# (port 80) and through the reference collector without beaconveil (81).
sample() { # KEY PORT CURL-ARGS... (last: URL built by the caller)
	local key=$1
	shift
	lab_cli curl -s --max-time 8 -o /dev/null -w "$key %{http_code} %{time_total}\n" "$@" >>"$R" 2>/dev/null
}
for port in 80 81; do
	sample "sA$port" --interface 198.18.1.57 -b "$LAB_COOKIES" "$(url 4 xff sA "$LAB_APP" "$port")"
	sample "sC$port" --interface 2001:db8:1:0:a3f1:7c2e:9d4b:1157 -H 'Sec-GPC: 1' -b "$LAB_COOKIES" \
		-X POST --data-binary "\$a=$BODY" "$(url 6 pp sC "$LAB_APP" "$port")"
	sample "sD$port" --interface 198.18.1.213 -b "$LAB_COOKIES_NOCONSENT" \
		-X POST --data-binary "\$a=$BODY" "$(url 4 xff sD eu-shop "$port")"
done
CURL_N=$((${SENT[total]} + 3))

# --- traffic: Chromium ------------------------------------------------------
CHR_N=0
if [ -n "$CHROMIUM" ]; then
	say "loading the page in headless Chromium: Do Not Track off, on, and on through the reference collector ..."
	for r in "plain:" "dnt:dnt" "gpc6:gpc v6" "dntref:dnt ref"; do
		key=${r%%:*}
		read -ra opts <<<"${r#*:}"
		if WAIT_DECISIONS=$([ "$key" = dntref ] || echo 6) lab_chromium "$key" "n=6" "${opts[@]}"; then
			[ "$key" = dntref ] || CHR_N=$((CHR_N + 6))
		else
			say "chromium run '$key' did not finish in time"
		fi
	done
	for ((i = 0; i < 30; i++)); do # sendBeacon may trail the page's marker
		[ "$(grep -c 'pv=dntref&' "$RLOG")" -ge 6 ] && break
		sleep 0.1
	done
fi
sleep 1
"$LAB" capture-stop >/dev/null
cp "$LAB_STATE/mirror.pcap" "$OUT" 2>/dev/null
lab_metrics >"$TMP/metrics"
MS=$(lab_stats mirror)
lab_wire_requests "$LAB_STATE/wire.pcap" >"$TMP/wire"

# === the report ===============================================================
line() { printf '%.0s-' $(seq 1 78); echo; }
metric() { sed -n "s/^beaconveil_decisions_total{reason=\"$1\",mode=\"inline\"} //p" "$TMP/metrics"; }
appm() { sed -n "s/^beaconveil_app_decisions_total{app=\"$1\",reason=\"$2\"} //p" "$TMP/metrics"; }
field() { # LINE N — a field of an nginx log line (tools/lab/nginx.conf.in)
	awk -F'\t' -v n="$2" '{ v = $n; sub(/^[a-z]+=/, "", v); print v }' <<<"$1"
}
rxv() { sed -n 's/.*rxVisitor=\([^;	]*\).*/\1/p' <<<"$1"; }
pcr() { sed -n 's/.*dtPC=[^;	]*v\([A-Za-z0-9]*\)-0e0.*/\1/p' <<<"$1"; }
vi() { sed -n 's/.*[?&]vi=\([^&	]*\).*/\1/p' <<<"$1"; }
short() { local s=$1; [ ${#s} -gt 29 ] && s="${s:0:26}..."; printf '%s' "${s:--}"; }
row() { printf '  %-17s %-30s %s\n' "$1" "$(short "$2")" "$(short "$3")"; }

echo
echo "beaconveil: live privacy enforcement report"
line
echo "Lab: clients -> HAProxy $(haproxy -v 2>/dev/null | sed -n '1s/.*version \([0-9.]*\).*/\1/p') (X-Forwarded-For / PROXY v2) -> nginx $(nginx -v 2>&1 | sed 's|.*/||') (realip)"
echo "     beaconveil inline on the collector's NIC (native XDP, kernel $(uname -r | cut -d- -f1));"
echo "     a mirror copy of that link anonymized by a second beaconveil."
printf 'Sent: %d beacons with curl' "$CURL_N"
[ "$CHR_N" -gt 0 ] && printf ' and %d from Chromium %s (sendBeacon, XHR)' "$CHR_N" "$(chromium --version 2>/dev/null | awk '{print $2}' | cut -d. -f1)"
echo ","
printf '      IPv4 %d, IPv6 %d (curl); DNT %d, Sec-GPC %d, dtDisabled %d, no consent %d,\n' \
	"${SENT[v4]:-0}" "${SENT[v6]:-0}" "${SENT[dnt]:-0}" "${SENT[gpc]:-0}" "${SENT[disabled]:-0}" "${SENT[no_consent]:-0}"
printf '      heads over several TCP segments %d; apps: default, eu-shop (opt-in,\n' "${SENT[big]:-0}"
echo "      DNT drops), mobile (performance level, no crash reports)."
echo
printf '%-40s %9s %9s\n' "Decisions (daemon metrics, per reason)" "inline" "mirror"
tot=0
for k in pass anonymized dropped_dnt dropped_gpc dropped_no_consent dropped_disabled \
	dropped_level_off dropped_crash_report malformed; do
	v=$(metric "$k")
	tot=$((tot + ${v:-0}))
	printf '  %-38s %9s %9s\n' "$k" "${v:-?}" "$(jq -r ".decisions.$k" <<<"$MS")"
done
printf '  %-38s %9s %9s\n' "total" "$tot" "$(jq -r .decisions_total <<<"$MS")"
wire=$(wc -l <"$TMP/wire")
echo "  ($wire beacon requests went over the collector's wire for $((CURL_N + CHR_N)) beacons sent:"
echo "  after a reset, HAProxy and Chromium send some again on a new connection,"
echo "  and beaconveil decides each request: docs/LAB.md)"
printf '  per application: eu-shop pass %s, dropped (no consent) %s, dropped (DNT) %s;\n' \
	"$(appm eu-shop pass)" "$(appm eu-shop dropped_no_consent)" "$(appm eu-shop dropped_dnt)"
printf '  mobile anonymized %s, crash reports dropped %s\n' "$(appm mobile anonymized)" "$(appm mobile dropped_crash_report)"
addrs=$(sed -n 's/^beaconveil_addresses_masked_total{location="payload",mode="inline"} //p' "$TMP/metrics")
ids=$(sed -n 's/^beaconveil_visitor_ids_replaced_total{mode="inline"} //p' "$TMP/metrics")
echo "  client addresses masked in headers: $addrs; visitor identifiers replaced: $ids"

# --- side by side -------------------------------------------------------------
echo
echo "The same requests as the collector's nginx logged them, without and with"
echo "beaconveil (nginx access log: realip \$remote_addr, headers, cookies, URI):"
show() { # TITLE KEY-REGEX-WITHOUT KEY-REGEX-WITH
	local b a
	b=$(grep -P "$2" "$RLOG" | head -1)
	a=$(grep -P "$3" "$ALOG" | head -1)
	echo
	echo "$1"
	printf '  %-17s %-30s %s\n' "" "without beaconveil" "with beaconveil"
	if [ -z "$b" ]; then
		echo "  (not in the reference log)"
		return
	fi
	if [ -z "$a" ]; then
		a="-	-	(dropped)	(not logged)	-	-	-	-	-	-	-	-	-	-"
	fi
	row "status" "$(field "$b" 3)" "$(field "$a" 3)"
	row "\$remote_addr" "$(field "$b" 4)" "$(field "$a" 4)"
	if [ "$(field "$b" 2)" = 8080 ]; then
		row "PROXY v2 source" "$(field "$b" 9)" "$(field "$a" 9)"
	else
		row "X-Forwarded-For" "$(field "$b" 6)" "$(field "$a" 6)"
		row "Forwarded" "$(field "$b" 7)" "$(field "$a" 7)"
	fi
	row "rxVisitor" "$(rxv "$b")" "$(rxv "$a")"
	row "dtPC (visitor)" "$(pcr "$b")" "$(pcr "$a")"
	row "vi= (query)" "$(vi "$b")" "$(vi "$a")"
	row "DNT / Sec-GPC" "$(field "$b" 10) / $(field "$b" 11)" "$(field "$a" 10) / $(field "$a" 11)"
}
rt() { awk -v k="$1" '$1 == k { printf "%s in %.1f ms", $2, $3 * 1000; exit }' "$R"; }
show "[1] curl, IPv4, X-Forwarded-For route, no privacy signal: pass, address masked" \
	'pv=sA\t' 'pv=sA\t'
if [ "$CHR_N" -gt 0 ]; then
	show "[2] Chromium, Do Not Track on (sendBeacon, X-Forwarded-For): anonymized" \
		'pv=dntref&i=0&' 'pv=dnt&i=0&'
fi
show "[3] curl, IPv6, PROXY v2 route, Sec-GPC: 1: anonymized" 'pv=sC\t' 'pv=sC\t'
show "[4] curl, app eu-shop (opt-in), no consent cookie: dropped" 'pv=sD\t' 'pv=sD\t'
echo "  the client's answer: with beaconveil $(rt sD80) (HAProxy's 502 after the"
echo "  RST: drop_action = reset), without $(rt sD81)"

# --- the mirror copy -------------------------------------------------------------
echo
echo "The mirror copy (tc mirred of the collector's link -> beaconveil --mode"
echo "mirror -> tcpdump), the same request [1] on the wire and in the copy:"
wf() { # PCAP — ip.src, DSCP, X-Forwarded-For of request [1]
	tshark -r "$1" -n -Y 'http.request.uri contains "pv=sA" && tcp.dstport == 80' -T fields \
		-e ip.src -e ip.dsfield.dscp -e http.x_forwarded_for 2>/dev/null | head -1
}
IFS=$'\t' read -r w_src w_dscp w_xff <<<"$(wf "$LAB_STATE/wire.pcap")"
IFS=$'\t' read -r m_src m_dscp m_xff <<<"$(wf "$OUT")"
printf '  %-17s %-30s %s\n' "" "on the wire" "anonymized copy"
row "IP source (LB)" "$w_src" "$m_src"
dscp() {
	case $1 in 33) echo "0x21: undecided" ;; 34) echo "0x22: identified" ;; 35) echo "0x23: anonymized" ;; *) echo "${1:--}" ;; esac
}
row "DSCP (class tag)" "$(dscp "$w_dscp")" "$(dscp "$m_dscp")"
row "x-forwarded-for" "$w_xff" "$m_xff"
read -r _ good _ bad <<<"$(lab_pcap_checksums "$OUT")"
leak=0
for a in $(lab_client_addrs); do
	lab_pcap_has_bytes "$(lab_hex_addr "$a")" "$OUT" && leak=$((leak + 1))
done
[ -n "$(lab_unmasked "$OUT")" ] && leak=$((leak + 1))
echo "  $(tshark -r "$OUT" 2>/dev/null | wc -l) packets, checksums: $good valid, $bad bad (tshark); client addresses"
echo "  found in it: $leak. Kept at: $OUT"

# --- where to look, and how to run it for real --------------------------------------
echo
echo "Metrics: http://127.0.0.1:9477/metrics, inside the lab's collector namespace:"
echo "  sudo ip netns exec $LAB_PREFIX-coll curl -s 127.0.0.1:9477/metrics | grep decisions"
echo "On a real collector host (behind the TLS-terminating load balancer):"
echo "  sudo build/beaconveil run -i eth0 -c beaconveil.conf         # inline, Ctrl-C detaches"
echo "  sudo build/beaconveil run -i eth1 --mode mirror --egress eth2 # a TAP/SPAN copy"
echo "  curl -s 127.0.0.1:9477/metrics; sudo build/beaconveil stats"
echo "The lab itself: sudo tools/lab/lab.sh hold (docs/LAB.md); offline: tools/demo.sh --offline"
line
if [ -z "$HOLD" ]; then
	echo "Live demo done in $(($(date +%s) - T0)) s; the lab is torn down now."
else
	echo "Live demo done in $(($(date +%s) - T0)) s."
	echo "--hold: the lab stays up until Ctrl-C. Try:"
	echo "  sudo tools/lab/lab.sh bv inline stats"
	echo "  sudo tools/lab/lab.sh exec cli curl -s -H 'DNT: 1' -b 'rxVisitor=$LAB_VIS' '$(lab_url 4 xff try)'"
	echo "  sudo tail -f $ALOG"
	while :; do sleep 1; done
fi
