# shellcheck shell=bash
# tools/lab/lib.sh — helpers for driving the lab (tools/lab/lab.sh) from
# tests/e2e_*.sh and tools/demo.sh. Sourced, not run. Needs ROOT and BUILD
# set (the repository and the build directory) and LAB_PREFIX exported.
#
# Every beacon the helpers send carries pv=KEY in its URL (Chromium's also
# i=N): the key ties together what was sent, what HAProxy put on the wire
# (wire.pcap), what nginx logged and what the daemons decided.

LAB=$ROOT/tools/lab/lab.sh
LAB_TIMEOUT_CHROMIUM=${LAB_TIMEOUT_CHROMIUM:-40}

# The identifiers every client uses (the Dynatrace RUM script's shapes). The
# tests check that anonymized beacons never reach nginx with these.
LAB_VIS=1732000000000LABVISITORQWERTYUIOPASDFGHJKLZXC  # rxVisitor: 13 digits + 32
LAB_PC=LABPCRANDOMQWERT                                # dtPC random part (and vi=)
LAB_SID=v_4_srv_15_sn_LABSESSIONQWERTYUIOPASDFGHJKL    # dtCookie value (and sn=)
LAB_APP=ea7c4b59f27d43eb

lab_up() {
	"$LAB" up "$@" || return 1
	eval "$("$LAB" env)"
	export LAB_STATE
}
lab_down() { "$LAB" down; }

# lab_cli CMD... — CMD in the clients' namespace.
lab_cli() { "$LAB" exec cli "$@"; }

# lab_policy KEY VALUE — the same live policy change in both daemons.
lab_policy() {
	local out
	out=$("$LAB" bv inline policy set "$1" "$2" 2>&1) || { echo "$out" >&2; return 1; }
	if [ -s "$LAB_STATE/pids/bv-mirror" ]; then
		out=$("$LAB" bv mirror policy set "$1" "$2" 2>&1) || { echo "$out" >&2; return 1; }
	fi
}

# lab_stats inline|mirror — `beaconveil stats --json` of that daemon.
lab_stats() { "$LAB" bv "$1" stats --json 2>/dev/null; }

# lab_decision JSON REASON — one decision count out of lab_stats' output.
lab_decision() { jq -r ".decisions.$2" <<<"$1"; }

# lab_metrics — the inline daemon's /metrics page.
lab_metrics() { "$LAB" exec coll curl -s --max-time 5 http://127.0.0.1:9477/metrics; }

# The cookies a RUM-enabled page has: consent (dtCookie), visitor
# (rxVisitor), page context (dtPC), session timeout (rxvt).
LAB_COOKIES="dtCookie=$LAB_SID; rxVisitor=$LAB_VIS; dtPC=-15\$465307915_123h12v$LAB_PC-0e0; rxvt=1732001800000|1732000000000"
LAB_COOKIES_NOCONSENT="rxVisitor=$LAB_VIS; dtPC=-15\$465307915_123h12v$LAB_PC-0e0; rxvt=1732001800000|1732000000000"

# lab_url FAMILY ROUTE KEY [PORT] — a beacon URL through HAProxy: FAMILY 4 or
# 6 (the client's side), ROUTE xff (nginx port 80) or pp (nginx port 8080,
# PROXY v2), pp1 (nginx port 8081, PROXY v1), pp1h (the collector's HAProxy
# port 8082, PROXY v1, accept-proxy), crash (a crash report), bf (agentless
# /bf/<id>).
lab_url() {
	local host=$VIP4 path
	[ "$1" = 6 ] && host="[$VIP6]"
	case $2 in
	xff) path=/rb_bf28208ayo ;;
	pp) path=/pp/rb_bf28208ayo ;;
	pp1) path=/pp1/rb_bf28208ayo ;;
	pp1h) path=/pp1h/rb_bf28208ayo ;;
	crash) path=/crash/rb_report ;;
	bf) path=/bf/28208ayo ;;
	*) return 1 ;;
	esac
	printf 'http://%s:%s%s?type=js3&sn=%s&svrid=15&flavor=post&vi=%s&modifiedSince=1732000000000&bp=3&app=%s&pv=%s' \
		"$host" "${4:-80}" "$path" "$LAB_SID" "$LAB_PC" "$LAB_APP" "$3"
}

# lab_curl OUT KEY CURL-ARGS... — one curl run in the clients' namespace,
# bounded (--max-time 8): appends "KEY http_code time_total connects
# exit_code" per transfer to OUT.
lab_curl() {
	local out=$1 key=$2
	shift 2
	lab_cli curl -s --max-time 8 "$@" 2>/dev/null |
		sed "s/^/$key /" >>"$out"
}
# The -w format lab_curl expects after every URL.
LAB_W='%{http_code} %{time_total} %{num_connects} %{exitcode}\n'

# lab_chromium KEY QUERY [dnt] [gpc] [v6] [ref] — headless Chromium loads
# the lab page (tools/lab/www/page.html?run=KEY&QUERY, the lab's identifiers
# in the fragment) in the clients' namespace, with Do Not Track on (the profile
# preference enable_do_not_track, in a Preferences file of a fresh
# user-data-dir) or Global Privacy Control forced on, over IPv4 or IPv6,
# through the collector (port 80) or the reference collector (81). Waits
# for the page's /done marker and for WAIT_DECISIONS more decisions of the
# inline daemon (if set), LAB_TIMEOUT_CHROMIUM seconds at most, then ends
# Chromium (its whole process group). Returns 1 on timeout.
# lab_xhr_outcomes KEY prints what the page's XHRs got: "I:STATUS:MS" lines.
lab_chromium() {
	local key=$1 query=$2 host=$VIP4 port=80 udd pid rc=0 i o flags=() dnt=false
	shift 2
	for o in "$@"; do
		case $o in
		dnt) dnt=true ;;
		gpc) flags+=(--enable-features=GlobalPrivacyControl,GlobalPrivacyControlForce) ;;
		v6) host="[$VIP6]" ;;
		ref) port=81 ;;
		esac
	done
	# In the lab's state directory: `lab.sh down` removes it even if we are
	# interrupted.
	udd=$(mktemp -d "$LAB_STATE/chromium-profile.XXXXXX") || return 1
	mkdir -p "$udd/Default"
	printf '{"enable_do_not_track": %s}\n' "$dnt" >"$udd/Default/Preferences"
	# The identifiers go in the fragment: never sent, not even as Referer.
	local url="http://$host:$port/lab/page.html?run=$key&$query#vis=$LAB_VIS&pc=$LAB_PC&sid=$LAB_SID"
	local before=0 now
	[ -n "${WAIT_DECISIONS:-}" ] && before=$(lab_stats inline | jq -r .decisions_total)
	[[ $before =~ ^[0-9]+$ ]] || before=0
	setsid ip netns exec "$LAB_PREFIX-cli" timeout -k 3 "$LAB_TIMEOUT_CHROMIUM" \
		chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--disable-breakpad --disable-crash-reporter --user-data-dir="$udd" \
		"${flags[@]}" "$url" </dev/null >"$LAB_STATE/chromium-$key.log" 2>&1 &
	pid=$!
	echo "$pid" >"$LAB_STATE/pids/chromium"
	for ((i = 0; i < LAB_TIMEOUT_CHROMIUM * 10; i++)); do
		if grep -q "/done?run=${key}[&[:space:]]" "$LAB_STATE/nginx-ref/access.log" 2>/dev/null; then
			[ -z "${WAIT_DECISIONS:-}" ] && break
			now=$(lab_stats inline | jq -r .decisions_total 2>/dev/null)
			[[ $now =~ ^[0-9]+$ ]] && [ "$now" -ge $((before + WAIT_DECISIONS)) ] && break
		fi
		kill -0 "$pid" 2>/dev/null || { rc=1; break; }
		sleep 0.1
	done
	[ "$i" -ge $((LAB_TIMEOUT_CHROMIUM * 10)) ] && rc=1
	kill -TERM -- -"$pid" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL -- -"$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rm -f "$LAB_STATE/pids/chromium"
	# Chromium's helpers that left its process group (crash handler).
	local p
	for p in $(ip netns pids "$LAB_PREFIX-cli" 2>/dev/null); do
		case $(cat "/proc/$p/comm" 2>/dev/null) in chrom*) kill -KILL "$p" 2>/dev/null ;; esac
	done
	rm -rf "$udd"
	return $rc
}

lab_xhr_outcomes() {
	grep -o "/done?run=$1&xhr=[^[:space:]]*" "$LAB_STATE/nginx-ref/access.log" | head -1 |
		sed 's/.*&xhr=//' | tr ',' '\n' | grep .
}

# lab_unmasked FILE... — prints every client address that is not masked
# (IPv4 198.18.1.x with x != 0; IPv6 in 2001:db8:1::/48 with anything after
# the kept 48 bits), one per line, with the file name. Empty: all masked.
lab_unmasked() {
	grep -aoHE '198\.18\.1\.[0-9]+|2001:0?db8:0{0,3}1:[0-9a-fA-F:]*' "$@" 2>/dev/null |
		awk -F: '{
			a = substr($0, length($1) + 2)
			if (a ~ /^198\./) { n = split(a, o, "."); if (o[4] + 0 != 0) print }
			else { r = a; sub(/^2001:0?db8:0?0?0?1/, "", r); if (r ~ /[1-9a-fA-F]/) print }
		}'
}

# lab_wire_requests PCAP — what HAProxy sent the collector, from the raw
# capture on its side of the link: one line "KEY STREAM METHOD PORT" per
# distinct request (TCP stream and URI; retransmissions are the same
# request, a request HAProxy sent again on a new connection is another).
# Without TCP reassembly: a request line counts even if the rest of its head
# never completes (a malformed Content-Length, a drop).
lab_wire_requests() {
	tshark -r "$1" -n -o tcp.desegment_tcp_streams:FALSE -Y 'http.request' \
		-T fields -e tcp.stream -e tcp.dstport \
		-e http.request.method -e http.request.uri 2>/dev/null |
		awk -F'\t' '{
			u = $4; key = ""; i = ""
			if (match(u, /[?&]pv=[^&]*/)) key = substr(u, RSTART + 4, RLENGTH - 4)
			if (match(u, /[?&]i=[^&]*/)) i = "." substr(u, RSTART + 3, RLENGTH - 3)
			if (key == "") next
			id = $1 SUBSEP u
			if (seen[id]++) next
			print key i, $1, $3, $2
		}'
}

# lab_pcap_checksums PCAP — "good N bad M" over IPv4 header, TCP, UDP and
# ICMPv6 checksums, verified by tshark.
lab_pcap_checksums() {
	tshark -r "$1" -n -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE \
		-o udp.check_checksum:TRUE -T fields -e ip.checksum.status \
		-e tcp.checksum.status -e udp.checksum.status -e icmpv6.checksum.status 2>/dev/null |
		tr '\t,' '\n\n' | awk '$1 == "1" { g++ } $1 == "0" { b++ } END { printf "good %d bad %d\n", g, b }'
}

# lab_pcap_addresses PCAP — every distinct address in IP headers, with its
# count: "ADDR N".
lab_pcap_addresses() {
	tshark -r "$1" -n -T fields -e ip.src -e ip.dst -e ipv6.src -e ipv6.dst 2>/dev/null |
		tr '\t,' '\n\n' | grep -v '^$' | sort | uniq -c | awk '{ print $2, $1 }'
}

# lab_pcap_has_bytes PCAP HEX — whether the byte string HEX (e.g. c6120102)
# occurs anywhere in the file, byte-aligned.
lab_pcap_has_bytes() {
	local pat
	pat=$(sed 's/../& /g; s/ $//' <<<"$1")
	# grep -c reads everything: with pipefail, grep -q stopping early would
	# turn a match into the writer's SIGPIPE, a failure.
	[ "$(od -An -v -tx1 "$2" | tr -s ' \n' '  ' | grep -c " $pat ")" -gt 0 ]
}

# lab_hex_addr ADDR — an IPv4 or IPv6 address as hex bytes.
lab_hex_addr() {
	case $1 in
	*:*)
		local a=$1 head tail groups=() n g out='' h=() t=()
		if [[ $a == *::* ]]; then
			head=${a%%::*} tail=${a#*::}
			IFS=: read -ra h <<<"$head"
			IFS=: read -ra t <<<"$tail"
			n=$((8 - ${#h[@]} - ${#t[@]}))
			groups=("${h[@]}")
			for ((g = 0; g < n; g++)); do groups+=(0); done
			groups+=("${t[@]}")
		else
			IFS=: read -ra groups <<<"$a"
		fi
		for g in "${groups[@]}"; do out+=$(printf '%04x' "0x${g:-0}"); done
		echo "$out"
		;;
	*)
		local o1 o2 o3 o4
		IFS=. read -r o1 o2 o3 o4 <<<"$1"
		printf '%02x%02x%02x%02x\n' "$o1" "$o2" "$o3" "$o4"
		;;
	esac
}

# lab_client_addrs — every address the clients send from.
lab_client_addrs() { echo "$CLI4" $CLI4_MORE "$CLI6" $CLI6_MORE; }

# lab_require NAME — for tests: root, the build, and the lab's commands. A
# missing command makes it run tools/deps.sh (which installs
# tools/deps/lab.list); if still missing: exit 77 (skip), or exit 1 under
# CI=true, where nothing may be skipped.
lab_require() {
	local name=$1 c missing=()
	if [ "$(id -u)" -ne 0 ]; then
		echo "$name: needs root (network namespaces, XDP): run via sudo make check" >&2
		[ "${CI:-}" = true ] && exit 1
		exit 77
	fi
	for c in "$BUILD/beaconveil" "$BUILD/lab/xdp_pass.bpf.o"; do
		[ -f "$c" ] || { echo "$name: $c missing: run make first" >&2; exit 1; }
	done
	_lab_missing() {
		missing=()
		for c in ip ethtool tc haproxy nginx chromium tcpdump tshark curl jq setsid nsenter; do
			command -v "$c" >/dev/null 2>&1 || missing+=("$c")
		done
	}
	_lab_missing
	if [ ${#missing[@]} -gt 0 ]; then
		echo "$name: missing ${missing[*]}: running tools/deps.sh" >&2
		"$ROOT/tools/deps.sh" >&2
		_lab_missing
	fi
	if [ ${#missing[@]} -gt 0 ]; then
		echo "$name: still missing: ${missing[*]} (tools/deps/lab.list)" >&2
		[ "${CI:-}" = true ] && exit 1
		exit 77
	fi
}

# lab_test_start LOG... — for tests, after lab_require: a temporary
# directory in $TMP, and an EXIT trap that shows the tail of each of the
# lab's LOGs (paths under $LAB_STATE) when the test fails, brings the lab
# down (it always does, even on failure) and removes $TMP. Leftovers of an
# earlier run that was killed are taken down first.
lab_test_start() {
	LAB_TEST_LOGS=("$@")
	TMP=$(mktemp -d "/tmp/$NAME.XXXXXX")
	lab_down
	trap _lab_test_end EXIT
	trap 'exit 130' INT TERM
}
# lab_test_dump — the tail of each of lab_test_start's LOGs, while the lab is up.
lab_test_dump() {
	local f
	[ -n "${LAB_STATE:-}" ] && [ -d "$LAB_STATE" ] || return 0
	for f in "${LAB_TEST_LOGS[@]}"; do
		[ -f "$LAB_STATE/$f" ] || continue
		echo "----- $f"
		grep -av -e NOTICE -e '^  ' "$LAB_STATE/$f" | tail -n 20 | cut -c1-300
	done
}
_lab_test_end() {
	local rc=$?
	trap - EXIT
	[ "$rc" -ne 0 ] && lab_test_dump
	lab_down
	rm -rf "$TMP"
	exit "$rc"
}

# Reports of the lab tests, prefixed with the test's $NAME. fail: fatal,
# nothing after it could be checked; bad: a failed check, the others still
# run (lab_test_verdict then exits 1); ok, note: what passed, what was seen.
NBAD=0
fail() {
	printf '%s: FAIL: %s\n' "$NAME" "$*" >&2
	exit 1
}
bad() {
	printf '%s: FAIL: %s\n' "$NAME" "$*" >&2
	NBAD=$((NBAD + 1))
}
ok() { printf '%s: ok: %s\n' "$NAME" "$*"; }
note() { printf '%s: %s\n' "$NAME" "$*"; }

# lab_test_verdict — after the checks that use bad: exit 1 if any failed.
lab_test_verdict() {
	if [ "$NBAD" -gt 0 ]; then
		echo "$NAME: $NBAD checks FAILED"
		exit 1
	fi
	echo "$NAME: all passed"
}
