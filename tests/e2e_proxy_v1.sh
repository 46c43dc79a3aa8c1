#!/usr/bin/env bash
# tests/e2e_proxy_v1.sh — beaconveil's PROXY protocol v1 rewrite against real
# PROXY v1 parsers (docs/LAB.md, issue 11 point 1). The lab
# (tools/lab/lab.sh): curl -> HAProxy 2.6 `send-proxy` (v1) -> the collector,
# with `beaconveil run` inline on its NIC:
#   /pp1/  -> nginx 1.22 `listen 8081 proxy_protocol` (over IPv4)
#   /pp1h/ -> the collector's HAProxy 2.6 `bind :8082 accept-proxy` (over
#             IPv6), which logs the client address and port it parsed from
#             the PROXY line (%ci, %cp) and answers beacons itself (204)
# and the same through the reference collector (port 81, no beaconveil).
#
# Clients: IPv4 addresses whose masked form is shorter (198.18.1.57 loses one
# character, 198.18.1.213 two; also from 4-digit source ports), one whose
# masked form has the same length (198.18.1.2), and both IPv6 clients.
#
# The masked line must keep its length (TCP sequence numbers cannot move)
# and its single spaces (the PROXY spec; nginx answers anything else with
# "broken header"): the source address masked without padding, the source
# port left-padded with as many '0' as characters the address lost:
#   PROXY TCP4 198.18.1.57 198.19.80.80 56324 80  ->
#   PROXY TCP4 198.18.1.0 198.19.80.80 056324 80
# IPv6 keeps its length already (masked groups' digits become 0), ports as
# they are.
#
# Asserted, for every beacon through beaconveil:
# - curl got the collector's 2xx (not HAProxy's 502 after a broken header);
# - nginx's $proxy_protocol_addr is exactly the masked text, its realip
#   $remote_addr and HAProxy's %ci the masked client address, and the port
#   both parsed ($proxy_protocol_port, %cp) is the client's real source port;
# - a raw capture on the collector's interface (tcpdump on coll0, after the
#   inline program) has, for every PROXY line HAProxy sent (raw capture on
#   HAProxy's side, wire.pcap), the line above: exactly that text, single
#   spaces, the same length as the original, the same TCP segment length
#   and sequence number;
# - no log or capture on the collector's side (nginx's access and error
#   logs, its HAProxy's log, the coll0 capture, the daemon's log, the mirror
#   copy) holds an unmasked client address; neither nginx nor HAProxy
#   logged a PROXY header error;
# - the inline daemon counted one PROXY v1 header per line on the wire, and
#   decided every beacon request on the wire;
# and through the reference collector (control): both servers accept the
# line HAProxy wrote and log the real client, so a failure above is the
# rewrite's, and the leak checks can see an address.
#
# Every check runs and reports; the test fails (exit 1) if any did.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
export BUILD
export LAB_PREFIX=bvp LAB_SERVER_TIMEOUT=4s
NAME=e2e_proxy_v1
. "$ROOT/tools/lab/lib.sh"

lab_require "$NAME"
# The collector's side, for a failure report (masked addresses only).
lab_test_start bv-inline.log haproxy-coll.log nginx-coll/error.log

lab_up || fail "the lab did not come up"
ok "lab up: HAProxy, nginx and HAProxy (accept-proxy) behind beaconveil inline on coll0, the same without it"

# The collector's interface as its servers get it: tcpdump on coll0 sees
# what the inline XDP program passed. Its pid goes with the lab's, so that
# `lab.sh down` stops it whatever happens here.
CPCAP=$LAB_STATE/coll.pcap
setsid ip netns exec "$LAB_PREFIX-coll" tcpdump -i coll0 -n -U --immediate-mode -s 0 -Z root \
	-w "$CPCAP" tcp port 8081 or tcp port 8082 </dev/null >"$LAB_STATE/tcpdump-coll.log" 2>&1 &
CPID=$!
echo "$CPID" >"$LAB_STATE/pids/tcpdump-coll"
for ((i = 0; i < 100; i++)); do
	grep -q "listening on coll0" "$LAB_STATE/tcpdump-coll.log" 2>/dev/null && break
	sleep 0.1
done
grep -q "listening on coll0" "$LAB_STATE/tcpdump-coll.log" ||
	fail "tcpdump on coll0 did not start: $(cat "$LAB_STATE/tcpdump-coll.log")"

# --- the beacons ---------------------------------------------------------------
# KEY SOURCE MASKED-TEXT MASKED-ADDRESS LOCAL-PORTS (MASKED-TEXT: what the
# PROXY line must carry; MASKED-ADDRESS: the address it parses to, as nginx
# realip and HAProxy print it; LOCAL-PORTS: curl --local-port, - for any).
CASES="
a57    198.18.1.57                      198.18.1.0                       198.18.1.0   -
a213   198.18.1.213                     198.18.1.0                       198.18.1.0   -
a57lo  198.18.1.57                      198.18.1.0                       198.18.1.0   4700-4799
a213lo 198.18.1.213                     198.18.1.0                       198.18.1.0   4800-4899
a2     198.18.1.2                       198.18.1.0                       198.18.1.0   -
v6long 2001:db8:1:0:a3f1:7c2e:9d4b:1157 2001:db8:1:0:0000:0000:0000:0000 2001:db8:1:: -
v6     2001:db8:1::2                    2001:db8:1::0                    2001:db8:1:: -
"
declare -A RPORT=([pp1]=8081 [pp1h]=8082) WANT=([pp1]=200 [pp1h]=204) SRV=([pp1]=nginx [pp1h]=HAProxy)
BODY='$a=1%7C1%7C_load_%7C_load_%7C-%7C1732000000000%7C1732000000321%7C7$rId=RID_1$url=http%3A%2F%2Fshop.example%2F'
R=$TMP/results # KEY http_code local_port exit time
: >"$R"
nsent=0
while read -r key src masked canon lports; do
	[ -n "$key" ] || continue
	fam=4
	[[ $src == *:* ]] && fam=6
	lp=()
	[ "$lports" = - ] || lp=(--local-port "$lports")
	for route in pp1 pp1h; do
		for port in 80 81; do
			k=${key}_${route}_$port
			lab_cli curl -s --max-time 8 --interface "$src" "${lp[@]}" -o /dev/null \
				-w "$k %{http_code} %{local_port} %{exitcode} %{time_total}\n" -b "$LAB_COOKIES" \
				-X POST -H 'Content-Type: text/plain;charset=UTF-8' --data-binary "$BODY" \
				"$(lab_url "$fam" "$route" "$k" "$port")" </dev/null >>"$R" 2>/dev/null
			nsent=$((nsent + 1))
		done
	done
done <<<"$CASES"
ok "sent $nsent beacons: 7 cases (5 client addresses) x (nginx, HAProxy) x (beaconveil, reference collector)"

sleep 0.5
kill -INT "$CPID" 2>/dev/null
for ((i = 0; i < 50; i++)); do
	kill -0 "$CPID" 2>/dev/null || break
	sleep 0.1
done
rm -f "$LAB_STATE/pids/tcpdump-coll"
"$LAB" capture-stop >/dev/null
WIRE=$LAB_STATE/wire.pcap
MIRROR_PCAP=$LAB_STATE/mirror.pcap
ALOG=$LAB_STATE/nginx-coll/access.log
ELOG=$LAB_STATE/nginx-coll/error.log
HLOG=$LAB_STATE/haproxy-coll.log
RALOG=$LAB_STATE/nginx-ref/access.log
RHLOG=$LAB_STATE/haproxy-ref.log

# pp_lines PCAP — every PROXY v1 line in PCAP, one per TCP segment that
# starts with one: "DPORT SPORT SEQ SEGLEN LINE" (LINE: the bytes before its
# CRLF, spaces as they are; a line without CRLF in its segment: NOCRLF
# before it).
unhex() { printf '%b' "$(sed 's/../\\x&/g' <<<"$1")"; }
pp_lines() {
	local dp sp seq len pl line
	tshark -r "$1" -n -Y 'tcp.len > 0 && tcp.payload[0:6] == "PROXY "' \
		-T fields -e tcp.dstport -e tcp.srcport -e tcp.seq_raw -e tcp.len -e tcp.payload 2>/dev/null |
		while IFS=$'\t' read -r dp sp seq len pl; do
			line=$(unhex "$pl" | LC_ALL=C sed -n '1p')
			if [[ $line == *$'\r' ]]; then line=${line%$'\r'}; else line="NOCRLF $line"; fi
			printf '%s %s %s %s %s\n' "$dp" "$sp" "$seq" "$len" "$line"
		done | sort -u
}
pp_lines "$WIRE" >"$TMP/wire-lines"
pp_lines "$CPCAP" >"$TMP/coll-lines"
[ -s "$TMP/wire-lines" ] || fail "no PROXY v1 line in the raw capture of HAProxy's side ($WIRE)"
res() { awk -v k="$1" '$1 == k { print; exit }' "$R"; }
# lb_says KEY — the load balancer's view of a request: backend, status,
# termination state, retries (its log; the client's address left out).
lb_says() {
	grep -F "pv=$1 HTTP" "$LAB_STATE/haproxy.log" |
		awk '{ n = split($11, c, "/"); printf "%s %s %s retries=%s; ", $4, $6, $10, c[n] }'
}
# show TEXT — a PROXY line as it is, quoted, CRLF added back.
show() { printf "'%s\\\\r\\\\n'" "$1"; }

# === assertions ===================================================================
nlines=0
nok_line=0
while read -r key src masked canon lports; do
	[ -n "$key" ] || continue
	for route in pp1 pp1h; do
		what="$key/$route ($src -> ${SRV[$route]} :${RPORT[$route]})"
		k=${key}_${route}_80
		read -r _ code lport ex _ <<<"$(res "$k")"
		# --- the answer ---------------------------------------------------
		if [ "$code" = "${WANT[$route]}" ]; then
			ok "$what: answered ${WANT[$route]}"
		else
			bad "$what: curl got '$code' (exit $ex), expected the collector's ${WANT[$route]}; HAProxy: $(lb_says "$k")"
		fi
		# --- what the server parsed ---------------------------------------
		if [ "$route" = pp1 ]; then
			lines=$(grep -P "[?&]pv=$k(&|\t)" "$ALOG" | awk -F'\t' '$2 == 8081')
			if [ -z "$lines" ]; then
				bad "$what: not in nginx's access log (the connection never got as far as a request)"
			else
				IFS=$'\t' read -r _ _ st ra _ _ _ _ pp _ _ _ _ _ _ ppport <<<"$(head -1 <<<"$lines")"
				pp=${pp#pp=} ppport=${ppport#ppport=}
				[ "$pp" = "$masked" ] && [ "$ra" = "$canon" ] && [ "$ppport" = "$lport" ] && [ "$st" = 200 ] &&
					ok "$what: nginx parsed \$proxy_protocol_addr '$pp', \$remote_addr $ra, port $ppport (the client's)" ||
					bad "$what: nginx logged status $st, \$proxy_protocol_addr '$pp' (want '$masked'), \$remote_addr '$ra' (want $canon), \$proxy_protocol_port '$ppport' (want $lport)"
			fi
		else
			lines=$(awk -F'\t' -v k="$k" '$1 == "pp1" && $7 ~ ("[?&]pv=" k "(&|$)")' "$HLOG")
			if [ -z "$lines" ]; then
				bad "$what: not in the collector HAProxy's log (the connection never got as far as a request)"
			else
				IFS=$'\t' read -r _ ci cp _ st _ <<<"$(head -1 <<<"$lines")"
				[ "$ci" = "$canon" ] && [ "$cp" = "$lport" ] && [ "$st" = 204 ] &&
					ok "$what: HAProxy parsed %ci $ci, %cp $cp (the client's)" ||
					bad "$what: HAProxy logged status $st, %ci '$ci' (want $canon), %cp '$cp' (want $lport)"
			fi
		fi
		# --- the line on the wire and at the collector --------------------
		# Every line HAProxy sent for this client connection (it may try a
		# beacon twice when the first connection fails).
		found=0
		while read -r dp sp seq slen raw; do
			read -r _ proto rsrc rdst rsport rdport <<<"$raw"
			[ "$dp" = "${RPORT[$route]}" ] && [ "$rsrc" = "$src" ] && [ "$rsport" = "$lport" ] || continue
			found=$((found + 1))
			[ "$found" -gt 1 ] && note "$what: HAProxy sent this client's line again, on a new connection (port $sp): its retry after a failed connection"
			nlines=$((nlines + 1))
			zeros=$(printf '%*s' $((${#src} - ${#masked})) '' | tr ' ' 0)
			want="PROXY $proto $masked $rdst $zeros$rsport $rdport"
			# (the line as it is: awk must not rebuild it, that would
			# collapse its spaces)
			got=$(awk -v p="$dp" -v s="$sp" -v q="$seq" '$1 == p && $2 == s && $3 == q { print; exit }' "$TMP/coll-lines")
			if [ -z "$got" ]; then
				bad "$what: the PROXY line $(show "$raw") (HAProxy port $sp, seq $seq) is not in the collector's capture"
				continue
			fi
			got=${got#* } got=${got#* } got=${got#* }
			glen=${got%% *} got=${got#* }
			n=0
			if [ "$got" = "$want" ]; then
				ok "$what: at the collector $(show "$got") (on the wire $(show "$raw"))"
				n=$((n + 1))
			else
				bad "$what: at the collector $(show "$got"), expected $(show "$want") (on the wire $(show "$raw"), HAProxy port $sp)"
			fi
			if [[ $got == *"  "* ]]; then
				bad "$what: the masked PROXY line has two spaces in a row: $(show "$got")"
			else
				n=$((n + 1))
			fi
			if [ ${#got} -eq ${#raw} ] && [ "$glen" = "$slen" ]; then
				n=$((n + 1))
			else
				bad "$what: the line is $((${#got} + 2)) bytes at the collector, $((${#raw} + 2)) on the wire (segment $glen vs $slen bytes, seq $seq): TCP sequence numbers would move"
			fi
			[ "$n" -eq 3 ] && nok_line=$((nok_line + 1))
		done <"$TMP/wire-lines"
		[ "$found" -gt 0 ] || bad "$what: HAProxy sent no PROXY line for source port $lport (wire.pcap)"
	done
done <<<"$CASES"
[ "$nok_line" -eq "$nlines" ] &&
	ok "all $nlines PROXY v1 lines at the collector: masked, single spaces, same length and sequence numbers as on the wire" ||
	bad "$((nlines - nok_line)) of $nlines PROXY v1 lines at the collector are wrong (above)"

# --- errors the servers logged --------------------------------------------------
# (nginx quotes the header it refused, CRLF included: the message ends on
# the next line.)
perr=$(grep -a -o 'broken header: "[^"]*' "$ELOG" | tr -d '\r' | sed 's/$/\\r\\n"/')
[ -z "$perr" ] && ok "nginx logged no broken PROXY header" ||
	bad "nginx refused $(grep -c . <<<"$perr") PROXY headers (error.log): $(sort <<<"$perr" | uniq -c | sed 's/^ *//' | paste -sd';')"
herr=$(grep -a -i 'PROXY protocol' "$HLOG")
[ -z "$herr" ] && ok "the collector's HAProxy logged no PROXY header error" ||
	bad "the collector's HAProxy refused $(grep -c . <<<"$herr") PROXY headers (its log): $(sed 's/^[^ ]* [^ ]* //' <<<"$herr" | sort | uniq -c | sed 's/^ *//' | paste -sd';')"

# --- the daemon ----------------------------------------------------------------
S=$(lab_stats inline) || bad "beaconveil stats --json (inline) failed"
npp=$(jq -r '.counters.proxy_v1' <<<"$S" 2>/dev/null)
nw=$(awk '$1 == 8081 || $1 == 8082' "$TMP/wire-lines" | wc -l)
[ "$npp" = "$nw" ] && ok "the inline daemon counted $npp PROXY v1 headers, one per line on the wire" ||
	bad "the inline daemon counted '$npp' PROXY v1 headers, the wire carried $nw"
# Beacon requests HAProxy sent the collector on these ports (request line
# in a segment's first line, or in the line after the PROXY line).
nreq=$(tshark -r "$WIRE" -n -Y 'tcp.len > 0 && (tcp.dstport == 8081 || tcp.dstport == 8082)' \
	-T fields -e tcp.srcport -e tcp.seq_raw -e tcp.payload 2>/dev/null | sort -u |
	while IFS=$'\t' read -r _ _ pl; do unhex "$pl" | LC_ALL=C sed -n '1,2p'; done |
	grep -ac '^POST [^ ]*[?&]pv=')
npass=$(lab_decision "$S" pass)
[ "$npass" = "$nreq" ] && ok "the inline daemon decided pass for all $nreq beacon requests on the wire" ||
	bad "the inline daemon decided pass '$npass' times, the wire carried $nreq beacon requests ($(jq -c .decisions <<<"$S"))"

# --- the reference collector (no beaconveil): the control ------------------------
nref=0
while read -r key src masked canon lports; do
	[ -n "$key" ] || continue
	read -r _ code lport _ _ <<<"$(res "${key}_pp1_81")"
	l=$(grep -P "[?&]pv=${key}_pp1_81(&|\t)" "$RALOG" | awk -F'\t' '$2 == 8081' | head -1)
	[ "$code" = 200 ] && [ "$(cut -f9 <<<"$l")" = "pp=$src" ] && [ "$(cut -f16 <<<"$l")" = "ppport=$lport" ] &&
		nref=$((nref + 1)) ||
		bad "reference $key/pp1: curl got '$code', nginx logged '$(cut -f9,16 <<<"$l")', expected pp=$src ppport=$lport"
	read -r _ code lport _ _ <<<"$(res "${key}_pp1h_81")"
	l=$(awk -F'\t' -v k="${key}_pp1h_81" '$1 == "pp1" && $7 ~ ("[?&]pv=" k "(&|$)")' "$RHLOG" | head -1)
	[ "$code" = 204 ] && [ "$(cut -f2 <<<"$l")" = "$src" ] && [ "$(cut -f3 <<<"$l")" = "$lport" ] &&
		nref=$((nref + 1)) ||
		bad "reference $key/pp1h: curl got '$code', HAProxy logged '$(cut -f2,3 <<<"$l")', expected $src $lport"
done <<<"$CASES"
[ "$nref" -eq 14 ] && ok "reference collector: nginx and HAProxy accepted all 14 lines HAProxy wrote and logged the real client and port"

# --- no unmasked client address on the collector's side --------------------------
# The checks see what they look for: the raw record of the link and the
# reference collector's logs have the client addresses.
[ -n "$(lab_unmasked "$WIRE")" ] && [ -n "$(lab_unmasked "$RALOG")" ] && [ -n "$(lab_unmasked "$RHLOG")" ] ||
	bad "no unmasked client address in wire.pcap or the reference logs: the leak checks below would prove nothing"
leak=$(lab_unmasked "$ALOG" "$ELOG" "$HLOG" "$CPCAP" "$LAB_STATE/bv-inline.log" "$MIRROR_PCAP")
for a in $(lab_client_addrs); do
	for f in "$CPCAP" "$MIRROR_PCAP"; do
		lab_pcap_has_bytes "$(lab_hex_addr "$a")" "$f" && leak+=$'\n'"$f: the bytes of $a"
	done
done
leak=$(grep . <<<"$leak")
[ -z "$leak" ] && ok "no unmasked client address in nginx's logs, the collector HAProxy's log, the coll0 capture, the daemon's log or the mirror copy" ||
	bad "unmasked client addresses on the collector's side: $(head -5 <<<"$leak" | tr '\n' ' ')"

# --- down ----------------------------------------------------------------------
[ "$NBAD" -gt 0 ] && lab_test_dump
lab_down || bad "lab.sh down failed"
for n in cli lb coll ref mir; do
	[ -e "/run/netns/$LAB_PREFIX-$n" ] && bad "namespace $LAB_PREFIX-$n left after down"
done
[ -d "$LAB_STATE" ] && bad "$LAB_STATE left after down"
lab_test_verdict
