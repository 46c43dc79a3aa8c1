#!/usr/bin/env bash
# tests/e2e_openkit.sh — mobile beacons of Dynatrace's own open-source beacon
# library, OpenKit for JavaScript (npm @dynatrace/openkit-js 4.2.0, pinned
# in tools/lab/openkit/), through beaconveil inline, end to end (docs/LAB.md,
# issue 10). The lab (tools/lab/lab.sh): tools/lab/openkit-client.js in the
# clients' namespace -> HAProxy (/mbeacon, /mbeacon/<env>: X-Forwarded-For)
# -> the mobile collector (tools/lab/mbeacon-collector.js, port 8083, which
# logs every request byte for byte), `beaconveil run` inline on its NIC; the
# same route to a reference collector without beaconveil (port 81).
#
# OpenKit sends a status request (GET /mbeacon?type=m&...&app=APPID), then
# its session as one form-encoded POST (query ...&si=DEVICE_SESSION; body
# vi= device id, sn= session number, ip= client address, dl=/cl= its own
# data collection / crash reporting level, then events et=18 session
# start, 60 identify user (na= the user tag), 40 error, 1 action, 50 crash
# (rs= reason, st= stack trace), 19 session end).
#
# Cases, each with its own policy (live `beaconveil policy set`, global or
# the application override of APPID, in both daemons):
#   r  the reference collector (no beaconveil): gets exactly what the client
#      sent (the control: HAProxy leaves the body alone)
#   a  defaults: ip= masked to 203.0.113.0 with '&' padding, vi= sn= si= na=
#      and the crash as sent; decision pass
#   b  [app:APPID] collection_level = performance: vi=, sn=, the device part
#      of si= and et=60 na= replaced (same length and shape, not the
#      original), the e-mail nowhere; crash kept; decision anonymized
#   c  crash_reports = off: the crash event's bytes all '&' (no et=50, no
#      reason or stack trace anywhere), every other event as sent and the
#      body still a form a collector parses; identifiers kept
#   c2 the same with a 3 KB stack trace: the body spans three segments
#      (HAProxy sends a short beacon's head and body in one)
#   d  [app:APPID] collection_level = off (drop_action = reset): no POST
#      reaches the collector; decision dropped_level_off for every request
#      on the wire
#   e  the client itself at performance / opt-out crashes (dl=1, cl=1),
#      defaults: OpenKit sends a random device id, no et=60, no crash;
#      beaconveil replaces vi=/sn= (the effective level is the stricter one)
#   h  defaults, an IPv6 client address in createSession: ip= masked to /48
#      as it travels (%3A for ':'), same length
#   f  a gzip body (Content-Encoding: gzip, curl): unreadable_body = drop
#      (the default): nothing reaches the collector
#   g  a chunked mobile body (curl): the same
# Every byte outside the rewritten fields is compared with what the client
# sent (tests/lib/openkit_check.js); no log or capture on the collector's
# side (the collector's log, a capture of coll0 after the inline program,
# the mirror copy, the daemons' logs) holds what the case's policy forbids,
# while the raw capture of the load balancer's side does (so the checks can
# see it).
#
# Every check runs and reports; the test fails (exit 1) if any did.
#
# Environment: OPENKIT_CONF=default (the default: a config with the lab's
# ports and nothing else, so mobile beacons must be recognised by the
# built-in path rules) or lab (tools/lab/beaconveil.conf, which lists
# path = exact_or_id:/mbeacon). The counter and decision names asserted are
# set once, below.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
export BUILD
export LAB_PREFIX=bvm LAB_SERVER_TIMEOUT=3s
NAME=e2e_openkit
. "$ROOT/tools/lab/lib.sh"

# --- what the data plane says: names in one place ------------------------------
# Counters of `beaconveil stats --json` (.counters) for the mobile rewrites,
# and the decisions (.decisions) of each case.
CTR_CRASH=crash_removed        # crash events (et=50/42) erased
CTR_USER=user_tag_removed      # identify-user events' na= replaced
CTR_IDS=mobile_ids_replaced    # vi= / sn= / si= replaced
DEC_PASS=pass
DEC_ANON=anonymized
DEC_OFF=dropped_level_off
# The daemons' config: 'default' (no path rules: mobile beacons must be
# recognised by the built-in defaults) or 'lab' (tools/lab/beaconveil.conf,
# which lists path = exact_or_id:/mbeacon with the other rules).
OPENKIT_CONF=${OPENKIT_CONF:-default}

# --- what the client sends -----------------------------------------------------
APP=APPID
DEVID=4282691011098906
USER_TAG=jane.doe@example.com
USER_TAG_ENC=jane.doe%40example.com
CLIENT_IP=203.0.113.57         # createSession(): ip= in the body
CLIENT_IP6=2001:db8:1:0:a3f1:7c2e:9d4b:1157  # (case h; OpenKit sends ':' as %3A)
CLIENT_IP6_TAIL=7c2e%3A9d4b%3A1157           # what must not reach the collector
CRASH_REASON_ENC=reason%20text
CRASH_STACK_PART=Baz.java
MPORT=8083                     # the mobile collector (lab.sh MBEACON_PORT)
CLIENT=$ROOT/tools/lab/openkit-client.js
CHECK=$ROOT/tests/lib/openkit_check.js
CLIENT_TIMEOUT=30              # one OpenKit run, at most (its own --timeout)
# A stack trace long enough for the beacon to span segments (case c2).
LONG_STACK=$(for i in $(seq 1 60); do printf 'at com.example.shop.Checkout.pay%02d(Checkout.java:%d)\n' "$i" $((100 + i)); done)

lab_require "$NAME"
# node and OpenKit (tools/deps/npm.sh, run by tools/deps.sh).
have_openkit() {
	command -v node >/dev/null 2>&1 &&
		[ -f "$BUILD/lab/openkit/node_modules/@dynatrace/openkit-js/package.json" ]
}
if ! have_openkit; then
	echo "$NAME: node or OpenKit ($BUILD/lab/openkit) missing: running tools/deps.sh" >&2
	BUILD=$BUILD "$ROOT/tools/deps.sh" >&2
fi
if ! have_openkit; then
	echo "$NAME: still missing node or $BUILD/lab/openkit/node_modules/@dynatrace/openkit-js (tools/deps/npm.sh)" >&2
	[ "${CI:-}" = true ] && exit 1
	exit 77
fi
okv=$(node -p "require('$BUILD/lab/openkit/node_modules/@dynatrace/openkit-js/package.json').version")

lab_test_start bv-inline.log mbeacon-coll.out haproxy.log

# --- the lab -----------------------------------------------------------------
CONF=$ROOT/tools/lab/beaconveil.conf
if [ "$OPENKIT_CONF" = default ]; then
	# The lab's ports, every policy and path rule at its default.
	CONF=$TMP/beaconveil.conf
	cat >"$CONF" <<-'EOF'
		# tests/e2e_openkit.sh: every policy key and path rule at its default.
		[beacon]
		ports = 80, 8080, 8081, 8082, 8083
		[daemon]
		metrics = 127.0.0.1:9477
		k_anonymity = 1
	EOF
fi
lab_up -c "$CONF" || fail "the lab did not come up"
[ "${MBEACON_PORT:-}" = "$MPORT" ] || fail "lab.sh env says MBEACON_PORT=${MBEACON_PORT:-none}, this test expects $MPORT"
ok "lab up ($OPENKIT_CONF config): HAProxy -> mobile collector :$MPORT behind beaconveil inline, the reference collector; OpenKit $okv"
MLOG=$LAB_STATE/mbeacon-coll.log
RLOG=$LAB_STATE/mbeacon-ref.log

# What the collector's servers get: tcpdump on coll0, after the inline
# program. Its pid goes with the lab's: `lab.sh down` stops it whatever
# happens here.
CPCAP=$LAB_STATE/coll.pcap
setsid ip netns exec "$LAB_PREFIX-coll" tcpdump -i coll0 -n -U --immediate-mode -s 0 -Z root \
	-w "$CPCAP" tcp port $MPORT </dev/null >"$LAB_STATE/tcpdump-coll.log" 2>&1 &
CPID=$!
echo "$CPID" >"$LAB_STATE/pids/tcpdump-coll"
for ((i = 0; i < 100; i++)); do
	grep -q "listening on coll0" "$LAB_STATE/tcpdump-coll.log" 2>/dev/null && break
	sleep 0.1
done
grep -q "listening on coll0" "$LAB_STATE/tcpdump-coll.log" ||
	fail "tcpdump on coll0 did not start: $(cat "$LAB_STATE/tcpdump-coll.log")"

# bv_both ARGS — `beaconveil ARGS` next to both daemons (policy changes).
bv_both() {
	local d out
	for d in inline mirror; do
		[ "$d" = mirror ] && [ ! -s "$LAB_STATE/pids/bv-mirror" ] && continue
		out=$("$LAB" bv "$d" "$@" 2>&1) || { echo "$d: $out" >&2; return 1; }
	done
}

# --- running a case ------------------------------------------------------------
# Per case C: $TMP/C.sent (the client's requests), C.out (its summary), C.rc,
# C.win (t0 t1 epoch seconds, first and end line of the collector's log),
# C.s0 / C.s1 and C.m0 / C.m1 (stats --json of the inline and mirror daemons
# before and after).
case_begin() {
	lab_stats inline >"$TMP/$1.s0"
	lab_stats mirror >"$TMP/$1.m0"
	echo "$(date +%s.%N) $(wc -l <"$MLOG") $(wc -l <"$RLOG")" >"$TMP/$1.b"
}
# case_end C [N] — waits (3 s at most) until the collector has logged N
# more records (the client's answered requests), then notes the window.
case_end() {
	local c=$1 want=${2:-0} t0 l0 r0 i
	read -r t0 l0 r0 <"$TMP/$c.b"
	for ((i = 0; i < 30; i++)); do
		[ $(($(wc -l <"$MLOG") - l0 + $(wc -l <"$RLOG") - r0)) -ge "$want" ] && break
		sleep 0.1
	done
	sleep 0.2
	echo "$t0 $(date +%s.%N) $l0 $(wc -l <"$MLOG") $r0 $(wc -l <"$RLOG")" >"$TMP/$c.win"
	lab_stats inline >"$TMP/$c.s1"
	lab_stats mirror >"$TMP/$c.m1"
}
# openkit C PORT PATH ARGS... — one OpenKit session through HAProxy's
# PORT (80: the collector, 81: the reference) to PATH.
openkit() {
	local c=$1 port=$2 path=$3 pid rc
	shift 3
	case_begin "$c"
	setsid ip netns exec "$LAB_PREFIX-cli" timeout -k 2 $((CLIENT_TIMEOUT + 5)) \
		node "$CLIENT" --url "http://$VIP4:$port$path" --app "$APP" --device-id "$DEVID" \
		--ip "$CLIENT_IP" --user "$USER_TAG" --record "$TMP/$c.sent" --init-timeout 10 \
		--timeout "$CLIENT_TIMEOUT" "$@" </dev/null >"$TMP/$c.out" 2>"$TMP/$c.err" &
	pid=$!
	echo "$pid" >"$LAB_STATE/pids/openkit"
	wait "$pid"
	rc=$?
	rm -f "$LAB_STATE/pids/openkit"
	echo "$rc" >"$TMP/$c.rc"
	touch "$TMP/$c.sent"
	case_end "$c" "$(jq -r '[.requests[] | select(.status == 200)] | length' "$TMP/$c.out" 2>/dev/null || echo 0)"
	note "case $c: OpenKit exit $rc in $(jq -r .elapsed_ms "$TMP/$c.out" 2>/dev/null) ms: $(jq -r '[.requests[] | "\(.method) \(.status)"] | join(", ")' "$TMP/$c.out" 2>/dev/null)"
}
# curl_mobile C PORT KEY CURL-ARGS... — a hand-made mobile beacon with curl.
curl_mobile() {
	local c=$1 port=$2 key=$3
	shift 3
	case_begin "$c"
	lab_cli curl -s --max-time 8 -o /dev/null -w '%{http_code} %{time_total} %{exitcode}\n' "$@" \
		"http://$VIP4:$port/mbeacon?type=m&srvid=1&app=$APP&va=8.323.40200&pt=1&tt=okjs&cts=0&resp=json&si=${DEVID}_1&pv=$key" \
		</dev/null >"$TMP/$c.out" 2>/dev/null
	case_end "$c" 0
	note "case $c: curl got $(cat "$TMP/$c.out")"
}

# === the cases ====================================================================
# r: the reference collector, no beaconveil: the control.
openkit r 81 /mbeacon
# a: defaults.
openkit a 80 /mbeacon
# b: the application's collection level is performance (its override, keyed
# by app=); the environment form of the path; a long random session number,
# so that its pseudonym can be told from it.
bv_both policy set collection_level performance --app "$APP" || bad "policy set collection_level performance --app $APP"
openkit b 80 /mbeacon/labenv --random-sn
bv_both policy delete --app "$APP" || bad "policy delete --app $APP"
# c: no crash reports (global).
bv_both policy set crash_reports off || bad "policy set crash_reports off"
openkit c 80 /mbeacon
openkit c2 80 /mbeacon --crash-stack "$LONG_STACK"
bv_both policy set crash_reports on || bad "policy set crash_reports on"
# d: the application's collection level is off; reset, so that OpenKit's
# retries do not wait for HAProxy's timeout each.
bv_both policy set drop_action reset || bad "policy set drop_action reset"
bv_both policy set collection_level off --app "$APP" || bad "policy set collection_level off --app $APP"
openkit d 80 /mbeacon
bv_both policy delete --app "$APP" || bad "policy delete --app $APP"
bv_both policy set drop_action drop || bad "policy set drop_action drop"
# e: the client itself at performance, opt-out crashes; defaults.
openkit e 80 /mbeacon/labenv --dl 1 --cl 1
# h: an IPv6 client address in the body.
openkit h 80 /mbeacon --ip "$CLIENT_IP6"
# f, g: bodies beaconveil cannot read (unreadable_body = drop, the default):
# case a's body gzipped, and sent chunked; each also to the reference.
abody=$(jq -r 'select(.method == "POST") | .body' "$TMP/a.sent" | head -1)
[ -n "$abody" ] || abody="vv=3&va=8.323.40200&ap=$APP&vn=1.0&os=Linux&pt=1&tt=okjs&vi=$DEVID&dl=2&cl=2&sn=1&ip=$CLIENT_IP&et=60&na=$USER_TAG_ENC"
printf '%s' "$abody" >"$TMP/body.txt"
gzip -9 -c "$TMP/body.txt" >"$TMP/body.gz"
POSTH=(-X POST -H 'Content-Type: text/plain;charset=UTF-8')
curl_mobile f 80 gz "${POSTH[@]}" -H 'Content-Encoding: gzip' --data-binary @"$TMP/body.gz"
curl_mobile fr 81 gzref "${POSTH[@]}" -H 'Content-Encoding: gzip' --data-binary @"$TMP/body.gz"
curl_mobile g 80 chunked "${POSTH[@]}" -H 'Transfer-Encoding: chunked' --data-binary @"$TMP/body.txt"
curl_mobile gr 81 chunkedref "${POSTH[@]}" -H 'Transfer-Encoding: chunked' --data-binary @"$TMP/body.txt"
ok "cases sent: r (reference), a (defaults), b (performance), c and c2 (no crashes; c2 long), d (off), e (client dl=1 cl=1), h (IPv6 ip=), f (gzip), g (chunked)"

sleep 0.3
kill -INT "$CPID" 2>/dev/null
for ((i = 0; i < 50; i++)); do
	kill -0 "$CPID" 2>/dev/null || break
	sleep 0.1
done
rm -f "$LAB_STATE/pids/tcpdump-coll"
"$LAB" capture-stop >/dev/null
WIRE=$LAB_STATE/wire.pcap
MIRROR_PCAP=$LAB_STATE/mirror.pcap
# The segments toward the collector in each capture (openkit_check.js
# streams cuts them into a case's window).
for p in wire:"$WIRE" coll:"$CPCAP" mirror:"$MIRROR_PCAP"; do
	tshark -r "${p#*:}" -n -Y "tcp.len > 0 && tcp.dstport == $MPORT" -T fields \
		-e frame.time_epoch -e tcp.stream -e tcp.seq_raw -e tcp.payload 2>/dev/null >"$TMP/${p%%:*}.tsv"
done

# === assertions ===================================================================
# run_check WHAT CMD... — openkit_check.js output as checks.
run_check() {
	local what=$1 line
	shift
	while IFS= read -r line; do
		case $line in
		ok:*) ok "$what: ${line#ok: }" ;;
		FAIL:*) bad "$what: ${line#FAIL: }" ;;
		*) note "$what: ${line#note: }" ;;
		esac
	done < <(node "$CHECK" "$@" 2>&1)
}
win() { cat "$TMP/$1.win"; } # t0 t1 l0 l1 r0 r1
# slices C — the case's collector records (coll.txt, ref.txt) and its
# streams in the three captures (wire.txt, cap.txt, mirror.txt), as bytes.
slices() {
	local c=$1 t0 t1 l0 l1 r0 r1 p
	read -r t0 t1 l0 l1 r0 r1 <<<"$(win "$c")"
	node "$CHECK" slice --got "$MLOG" --from "$l0" --to "$l1" --out "$TMP/$c.coll.txt" >/dev/null
	node "$CHECK" slice --got "$RLOG" --from "$r0" --to "$r1" --out "$TMP/$c.ref.txt" >/dev/null
	for p in wire coll mirror; do
		node "$CHECK" streams --tsv "$TMP/$p.tsv" --t0 "$t0" --t1 "$t1" --out "$TMP/$c.$p.cap" >/dev/null
	done
}
where_name() {
	case $1 in
	coll.txt) echo "the collector's log" ;;
	coll.cap) echo "the coll0 capture" ;;
	mirror.cap) echo "the mirror copy" ;;
	esac
}
# forbidden C CONTROL NEEDLE... — no NEEDLE in the case's collector records,
# coll0 capture or mirror copy; CONTROL (what the client did send) is in the
# raw capture of the load balancer's side, so the search can find one.
forbidden() {
	local c=$1 control=$2 n f hits=()
	shift 2
	if grep -aqF -- "$control" "$TMP/$c.wire.cap"; then
		:
	else
		bad "case $c: '$control' is not in the raw capture of HAProxy's side: the leak checks of this case prove nothing"
	fi
	for n in "$@"; do
		for f in coll.txt coll.cap mirror.cap; do
			grep -aqF -- "$n" "$TMP/$c.$f" && hits+=("'$n' in $(where_name "$f")")
		done
	done
	if [ ${#hits[@]} -eq 0 ]; then
		ok "case $c: none of $(printf "'%s' " "$@")in the collector's log, the coll0 capture or the mirror copy"
	else
		bad "case $c: forbidden on the collector's side: ${hits[*]}"
	fi
}
# delta C inline|mirror decisions|counters NAME — the change over case C.
delta() {
	local f0=$TMP/$1.s0 f1=$TMP/$1.s1
	[ "$2" = mirror ] && f0=$TMP/$1.m0 f1=$TMP/$1.m1
	jq -rn --slurpfile a "$f0" --slurpfile b "$f1" --arg s "$3" --arg k "$4" \
		'if ($b[0][$s][$k] == null) then "missing" else ($b[0][$s][$k] - ($a[0][$s][$k] // 0)) end' 2>/dev/null || echo missing
}
# decisions C — "reason=N ..." of every decision that changed in case C.
decisions() {
	jq -rn --slurpfile a "$TMP/$1.s0" --slurpfile b "$TMP/$1.s1" \
		'[$b[0].decisions | to_entries[] | select(.value != ($a[0].decisions[.key] // 0)) | "\(.key)=\(.value - ($a[0].decisions[.key] // 0))"] | join(" ") | if . == "" then "none" else . end' 2>/dev/null
}
# want_decision C REASON N — the inline daemon decided REASON N times in C
# and nothing else; the mirror daemon the same.
want_decision() {
	local c=$1 r=$2 n=$3 got gotm all
	got=$(delta "$c" inline decisions "$r")
	gotm=$(delta "$c" mirror decisions "$r")
	all=$(decisions "$c")
	if [ "$got" = "$n" ] && [ "$all" = "$r=$n" ]; then
		ok "case $c: the inline daemon decided $r for all $n requests, nothing else"
	else
		bad "case $c: the inline daemon's decisions changed by '$all', expected $r=$n"
	fi
	[ "$gotm" = "$n" ] || bad "case $c: the mirror daemon decided $r '$gotm' times, expected $n"
}
# want_counter C NAME =N|>=N — a counter's change over case C.
want_counter() {
	local c=$1 k=$2 w=$3 got
	got=$(delta "$c" inline counters "$k")
	if [ "$got" = missing ]; then
		bad "case $c: no counter '$k' in stats --json (.counters; its name is set at the top of tests/e2e_openkit.sh)"
		return
	fi
	case $w in
	=*) [ "$got" -eq "${w#=}" ] && ok "case $c: counter $k +$got" || bad "case $c: counter $k changed by $got, expected ${w#=}" ;;
	'>='*) [ "$got" -ge "${w#>=}" ] && ok "case $c: counter $k +$got" || bad "case $c: counter $k changed by $got, expected at least ${w#>=}" ;;
	esac
}
nrec() { records "$1" | grep -c .; }
# wire_requests C — requests HAProxy sent the mobile collector during C (a
# request line at the start of a segment: every request on its own TCP
# stream and URI; a retransmission is the same one).
wire_requests() {
	local t0 t1
	read -r t0 t1 _ <<<"$(win "$1")"
	tshark -r "$WIRE" -n -o tcp.desegment_tcp_streams:FALSE \
		-Y "http.request && tcp.dstport == $MPORT && frame.time_epoch >= $t0 && frame.time_epoch <= $t1" \
		-T fields -e tcp.stream -e http.request.uri 2>/dev/null | sort -u | grep -c .
}
# hdr C NAME — the values of header NAME (lower case) the collector got in
# case C.
hdr() {
	records "$1" |
		jq -r --arg n "$2" '.headers as $h | range(0; $h | length; 2) | select($h[.] | ascii_downcase == $n) | $h[. + 1]'
}
# records C [ref] — the collector's (or the reference's) log lines of case C.
records() {
	local l0 l1 r0 r1
	read -r _ _ l0 l1 r0 r1 <<<"$(win "$1")"
	if [ "${2:-}" = ref ]; then
		awk -v a="$r0" -v b="$r1" 'NR > a && NR <= b' "$RLOG"
	else
		awk -v a="$l0" -v b="$l1" 'NR > a && NR <= b' "$MLOG"
	fi
}
client_rc() { cat "$TMP/$1.rc" 2>/dev/null; }
posts() { jq -r 'select(.method == "POST") | .body' "$TMP/$1.sent" 2>/dev/null; }

for c in r a b c c2 d e h f fr g gr; do slices "$c"; done

# --- r: the reference collector: the control --------------------------------------
[ "$(client_rc r)" = 0 ] && ok "case r: OpenKit initialised and sent its session" ||
	bad "case r: OpenKit exit $(client_rc r): $(head -c 300 "$TMP/r.err")"
read -r _ _ _ _ r0 r1 <<<"$(win r)"
run_check "case r (reference, no beaconveil)" compare --case r --sent "$TMP/r.sent" --got "$RLOG" --from "$r0" --to "$r1"
for n in "ip=$CLIENT_IP" "vi=$DEVID" "na=$USER_TAG_ENC" "st=at%20foo.bar($CRASH_STACK_PART" "$CRASH_REASON_ENC"; do
	grep -aqF -- "$n" "$TMP/r.ref.txt" || bad "case r: the reference collector never got '$n': the client did not send what the cases assume"
done
[ "$(posts r | grep -c .)" -ge 1 ] && ok "case r: OpenKit sent $(posts r | grep -c .) beacon POST(s) with vi=$DEVID, na=$USER_TAG_ENC, ip=$CLIENT_IP, et=50 (the reference collector got them)"

# --- every OpenKit case: its body on the wire is what the client sent -------------
for c in a b c c2 e h; do
	[ "$(client_rc "$c")" = 0 ] || bad "case $c: OpenKit exit $(client_rc "$c") (0: initialised, all sent): $(head -c 300 "$TMP/$c.err")"
	n=0
	while IFS= read -r body; do
		[ -n "$body" ] || continue
		if grep -aqF -- "$body" "$TMP/$c.wire.cap"; then n=$((n + 1)); else bad "case $c: the body the client sent is not in the raw capture of HAProxy's side"; fi
	done < <(posts "$c")
	[ "$n" -ge 1 ] && ok "case $c: HAProxy put the client's $n body(ies) on the wire byte for byte"
done

# --- a: defaults ----------------------------------------------------------------
read -r _ _ l0 l1 _ _ <<<"$(win a)"
run_check "case a (defaults)" compare --case a --sent "$TMP/a.sent" --got "$MLOG" --from "$l0" --to "$l1" \
	--ip mask --ids keep --na keep --crash keep
forbidden a "ip=$CLIENT_IP" "ip=$CLIENT_IP"
for h in x-forwarded-for x-client-ip; do
	x=$(hdr a "$h" | sort -u | tr '\n' ' ')
	case $x in "198.18.1.0 ") ok "case a: $h at the collector: 198.18.1.0 (masked)" ;;
	*) bad "case a: $h at the collector: '$x', expected the masked 198.18.1.0" ;; esac
done
want_decision a "$DEC_PASS" "$(nrec a)"
want_counter a "$CTR_CRASH" =0
want_counter a "$CTR_USER" =0
want_counter a "$CTR_IDS" =0

# --- b: performance (override of APPID) ---------------------------------------------
read -r _ _ l0 l1 _ _ <<<"$(win b)"
run_check "case b (performance)" compare --case b --sent "$TMP/b.sent" --got "$MLOG" --from "$l0" --to "$l1" \
	--ip mask --ids pseudo --si pseudo --na pseudo --crash keep
bsn=$(jq -r .sessionNumber "$TMP/b.out" 2>/dev/null)
snn=()
[ "${#bsn}" -ge 6 ] && snn=("sn=$bsn") # the random session number: long enough to search for
forbidden b "na=$USER_TAG_ENC" "$USER_TAG_ENC" "$USER_TAG" "jane.doe" "$DEVID" "ip=$CLIENT_IP" "${snn[@]}"
want_decision b "$DEC_ANON" "$(nrec b)"
# The session number is replaced in the query's si= as in the body's sn=,
# with the same pseudonym (one stream per request): the collector can still
# match them, and neither holds the client's.
read -r qsn bsn2 <<<"$(records b | jq -r 'select(.method == "POST") | [(.url | capture("si=[^_&]*_(?<s>[^&]*)").s), (.body | capture("(^|&)sn=(?<s>[^&]*)").s)] | join(" ")' | head -1)"
if [ -z "${qsn:-}" ] || [ "$qsn" != "${bsn2:-}" ]; then
	bad "case b: the query's si= session part '${qsn:-}' and the body's sn= '${bsn2:-}' differ"
fi
want_counter b "$CTR_USER" '>=1'
want_counter b "$CTR_IDS" '>=1'
want_counter b "$CTR_CRASH" =0

# --- c: no crash reports ---------------------------------------------------------------
read -r _ _ l0 l1 _ _ <<<"$(win c)"
run_check "case c (crash_reports off)" compare --case c --sent "$TMP/c.sent" --got "$MLOG" --from "$l0" --to "$l1" \
	--ip mask --ids keep --na keep --crash erase
forbidden c "$CRASH_REASON_ENC" "et=50" "$CRASH_REASON_ENC" "reason text" "$CRASH_STACK_PART" "NullPointer" "ip=$CLIENT_IP"
want_decision c "$DEC_PASS" "$(nrec c)"
want_counter c "$CTR_CRASH" '>=1'
want_counter c "$CTR_USER" =0
want_counter c "$CTR_IDS" =0
# c2: the long crash, its body over several segments.
nseg=$(awk -F'\t' -v a="$(cut -d' ' -f1 "$TMP/c2.win")" -v b="$(cut -d' ' -f2 "$TMP/c2.win")" \
	'$1 >= a && $1 <= b' "$TMP/wire.tsv" | wc -l)
note "case c2: $(posts c2 | head -1 | tr -d "\n" | wc -c) bytes of body; HAProxy sent the collector $nseg segments in this case"
read -r _ _ l0 l1 _ _ <<<"$(win c2)"
run_check "case c2 (crash_reports off, long crash)" compare --case c2 --sent "$TMP/c2.sent" --got "$MLOG" --from "$l0" --to "$l1" \
	--ip mask --ids keep --na keep --crash erase
forbidden c2 "Checkout.java" "et=50" "$CRASH_REASON_ENC" "Checkout.java" "Checkout.pay" "NullPointer" "ip=$CLIENT_IP"
want_decision c2 "$DEC_PASS" "$(nrec c2)"
want_counter c2 "$CTR_CRASH" '>=1'

# --- d: off (override of APPID) ----------------------------------------------------------
rc=$(client_rc d)
el=$(jq -r .elapsed_ms "$TMP/d.out" 2>/dev/null)
case $rc in
0 | 2) ok "case d: OpenKit gave up or finished by itself in $el ms (exit $rc; 2: its status request was never answered)" ;;
*) bad "case d: OpenKit exit '$rc' after $el ms (3: still retrying after ${CLIENT_TIMEOUT}s)" ;;
esac
np=$(records d | jq -r 'select(.method == "POST") | .url' | grep -c .)
ng=$(records d | jq -r 'select(.method != "POST") | .url' | grep -c .)
[ "$np" -eq 0 ] && ok "case d: the collector logged no POST ($ng other requests)" ||
	bad "case d: the collector logged $np POST(s) under collection_level = off"
forbidden d "GET /mbeacon" "$DEVID" "$USER_TAG_ENC" "$CRASH_REASON_ENC" "ip=$CLIENT_IP" "POST /mbeacon"
nw=$(wire_requests d)
[ "$nw" -ge 1 ] || bad "case d: no request to the mobile collector on the wire"
want_decision d "$DEC_OFF" "$nw"

# --- e: the client at dl=1 cl=1 -------------------------------------------------------------
read -r _ _ l0 l1 _ _ <<<"$(win e)"
edev=$(jq -r .deviceId "$TMP/e.out" 2>/dev/null)
ebody=$(posts e | head -1)
if [ -n "$ebody" ] && [[ $ebody == *"&dl=1&cl=1&"* ]] && [[ $ebody != *"$DEVID"* ]] &&
	[[ $ebody != *"&et=60&"* ]] && [[ $ebody != *"&et=50&"* ]]; then
	ok "case e: OpenKit itself sent dl=1&cl=1, a random device id ($edev), no et=60, no crash"
else
	bad "case e: OpenKit at dl=1 cl=1 sent '$(head -c 200 <<<"$ebody")'"
fi
run_check "case e (client dl=1 cl=1)" compare --case e --sent "$TMP/e.sent" --got "$MLOG" --from "$l0" --to "$l1" \
	--ip mask --ids pseudo --si any --na keep --crash keep
forbidden e "ip=$CLIENT_IP" "$DEVID" "&et=60&" "&et=50&" "$USER_TAG_ENC" "ip=$CLIENT_IP"
ne=$(nrec e)
dp=$(delta e inline decisions "$DEC_PASS")
da=$(delta e inline decisions "$DEC_ANON")
if [[ $dp =~ ^[0-9]+$ ]] && [[ $da =~ ^[0-9]+$ ]] && [ $((dp + da)) -eq "$ne" ] && [ "$ne" -ge 1 ]; then
	ok "case e: the inline daemon decided $DEC_PASS $dp, $DEC_ANON $da for the $ne requests"
else
	bad "case e: decisions changed by '$(decisions e)', expected $DEC_PASS + $DEC_ANON = $ne"
fi
want_counter e "$CTR_IDS" '>=1'
want_counter e "$CTR_CRASH" =0
want_counter e "$CTR_USER" =0

# --- h: an IPv6 ip= -------------------------------------------------------------------------
read -r _ _ l0 l1 _ _ <<<"$(win h)"
run_check "case h (IPv6 ip=)" compare --case h --sent "$TMP/h.sent" --got "$MLOG" --from "$l0" --to "$l1" \
	--ip mask --ids keep --na keep --crash keep
forbidden h "$CLIENT_IP6_TAIL" "$CLIENT_IP6_TAIL" "a3f1" "$CLIENT_IP6"
want_decision h "$DEC_PASS" "$(nrec h)"

# --- f, g: unreadable bodies -----------------------------------------------------------------
for c in f:gz:gzip g:chunked:chunked; do
	IFS=: read -r c key what <<<"$c"
	n=$(records "$c" | jq -r .url | grep -c "pv=$key\b")
	nr=$(records "${c}r" ref | jq -r 'select(.method == "POST") | .url' | grep -c "pv=${key}ref")
	[ "$nr" -eq 1 ] || bad "case ${c}r: the reference collector did not get the $what beacon (curl: $(cat "$TMP/${c}r.out"))"
	[ "$n" -eq 0 ] && ok "case $c: a $what mobile body (unreadable_body = drop, the default) did not reach the collector (curl: $(cat "$TMP/$c.out"); decisions: $(decisions "$c"))" ||
		bad "case $c: the collector got the $what mobile body ($n records; decisions: $(decisions "$c"))"
done

# --- the whole run -------------------------------------------------------------------------
# No unmasked client address (X-Forwarded-For, the body's ip=) on the
# collector's side; the raw wire and the reference have them.
[ -n "$(lab_unmasked "$WIRE")" ] && [ -n "$(lab_unmasked "$RLOG")" ] && grep -aqF "ip=$CLIENT_IP" "$RLOG" ||
	bad "no unmasked client address in wire.pcap or the reference log: the leak checks below would prove nothing"
leak=$(lab_unmasked "$MLOG" "$CPCAP" "$MIRROR_PCAP" "$LAB_STATE/bv-inline.log" "$LAB_STATE/bv-mirror.log")
for f in "$MLOG" "$CPCAP" "$MIRROR_PCAP"; do
	grep -aqF "ip=$CLIENT_IP" "$f" && leak+=$'\n'"$f: ip=$CLIENT_IP"
done
for a in $(lab_client_addrs); do
	for f in "$CPCAP" "$MIRROR_PCAP"; do
		lab_pcap_has_bytes "$(lab_hex_addr "$a")" "$f" && leak+=$'\n'"$f: the bytes of $a"
	done
done
leak=$(grep . <<<"$leak")
[ -z "$leak" ] && ok "no unmasked client address (header, body ip=, IP header) in the collector's log, the coll0 capture, the mirror copy or the daemons' logs" ||
	bad "unmasked client addresses on the collector's side: $(head -5 <<<"$leak" | tr '\n' ' ')"
for n in "$DEVID" "$USER_TAG_ENC" "$USER_TAG" "$CRASH_REASON_ENC"; do
	grep -aqF -- "$n" "$LAB_STATE/bv-inline.log" "$LAB_STATE/bv-mirror.log" && bad "the daemons' logs hold '$n'"
done

# --- down ---------------------------------------------------------------------------------
[ "$NBAD" -gt 0 ] && lab_test_dump
lab_down || bad "lab.sh down failed"
for n in cli lb coll ref mir; do
	[ -e "/run/netns/$LAB_PREFIX-$n" ] && bad "namespace $LAB_PREFIX-$n left after down"
done
[ -d "$LAB_STATE" ] && bad "$LAB_STATE left after down"
lab_test_verdict
