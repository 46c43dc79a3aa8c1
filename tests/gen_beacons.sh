#!/usr/bin/env bash
# shellcheck disable=SC2015 # "A && B || fail": fail is meant when either test fails
# tests/gen_beacons.sh — the traffic generator, checked by an independent
# dissector (tshark), then beaconveil's pcap mode checked on its output.
#
# 1. gen-beacons: usage errors exit 2; a realistic capture has valid IPv4,
#    TCP and UDP checksums in every frame (tshark), tshark's HTTP dissector
#    finds exactly the requests (and beacons) the generator reports, every
#    address is in a documentation range, the same seed gives the same
#    bytes and another seed other bytes; --size gives one frame of exactly
#    BYTES per beacon; the beacons/nonbeacon mixes hold what they say;
#    --keepalive N puts exactly N beacons on every browser connection (the
#    shared-proxy ones keep 2-4); --dnt 100 / 0 gives DNT: 1 on every / no
#    request (manifest and tshark), --dnt 15 the default's bytes.
# 2. beaconveil pcap on that capture (default policy): the decisions add up
#    to the beacon requests generated and match, reason by reason, what the
#    generator's manifest predicts; output checksums are valid; no client
#    address generated (exact list from the manifest) appears unmasked in an
#    IP header or in x-forwarded-for / forwarded / x-real-ip of a beacon, nor
#    anywhere in the bytes of a beacon connection (also when cut by a segment
#    boundary); no address keeps more than /24 or /48; the visitor ids of
#    anonymized beacons are gone.
#
# Needs root (BPF_PROG_TEST_RUN) and tshark. Builds nothing: BUILD (default
# build) must hold gen-beacons and beaconveil (make does that).
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
GEN=$BUILD/gen-beacons
BV=$BUILD/beaconveil
NAME=gen_beacons.sh
FLOWS=${GEN_BEACONS_FLOWS:-300}
SEED=${GEN_BEACONS_SEED:-7}

fail() {
	echo "$NAME: FAIL: $*" >&2
	exit 1
}
ok() {
	echo "ok - $*"
}

[ -x "$GEN" ] || fail "$GEN is missing: build it first (make, or make $GEN)"
[ -x "$BV" ] || fail "$BV is missing: build it first (make)"
command -v tshark >/dev/null || fail "tshark is not installed (tools/deps.sh installs it)"
[ "$(id -u)" -eq 0 ] || fail "must run as root (beaconveil pcap loads a BPF program)"

tmp=$(mktemp -d /tmp/gen_beacons.XXXXXX) || fail "mktemp failed"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# tshark without its "running as root" chatter; its errors are kept.
ts() {
	tshark -n "$@" 2>"$tmp/tshark.err"
	local rc=$?
	if [ $rc -ne 0 ]; then
		cat "$tmp/tshark.err" >&2
		fail "tshark $* exited $rc"
	fi
}

# Value of "name value" line $2 in file $1.
val() {
	awk -v k="$2" '$1 == k { print $2; found = 1 } END { if (!found) exit 1 }' "$1" ||
		fail "no '$2' line in $1: $(cat "$1")"
}

# awk functions: addresses to a canonical form, host bits, manifest fields.
# shellcheck disable=SC2016 # awk code, not shell
AWKLIB='
function hex4(g) {
	g = tolower(g)
	if (g !~ /^[0-9a-f]+$/ || length(g) > 4)
		return ""
	sub(/^0+/, "", g)
	return g == "" ? "0" : g
}
# canonical text of an IPv4/IPv6 address (v6: 8 groups, no leading zeros), or ""
function canon(a,    n, p, i, k, left, right, nl, nr, L, R, out, g, cnt) {
	gsub(/^[ \t"]+|[ \t"]+$/, "", a)
	if (a ~ /^\[[^]]*\](:[0-9]+)?$/) { a = substr(a, 2); sub(/\].*/, "", a) }
	if (a ~ /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+(:[0-9]+)?$/) {
		sub(/:[0-9]+$/, "", a)
		split(a, p, ".")
		for (i = 1; i <= 4; i++) if (p[i] + 0 > 255) return ""
		return (p[1] + 0) "." (p[2] + 0) "." (p[3] + 0) "." (p[4] + 0)
	}
	if (a !~ /:/ || a ~ /[^0-9a-fA-F:]/) return ""
	k = index(a, "::")
	if (k) { left = substr(a, 1, k - 1); right = substr(a, k + 2) } else { left = a; right = "" }
	if (index(right, "::")) return ""
	nl = left == "" ? 0 : split(left, L, ":")
	nr = right == "" ? 0 : split(right, R, ":")
	if ((!k && nl != 8) || (k && nl + nr > 7)) return ""
	out = ""; cnt = 0
	for (i = 1; i <= nl; i++) { g = hex4(L[i]); if (g == "") return ""; out = out (cnt++ ? ":" : "") g }
	if (k) for (i = 0; i < 8 - nl - nr; i++) out = out (cnt++ ? ":" : "") "0"
	for (i = 1; i <= nr; i++) { g = hex4(R[i]); if (g == "") return ""; out = out (cnt++ ? ":" : "") g }
	return out
}
# 1 if a canonical address has no bits set beyond /24 (IPv4) or /48 (IPv6)
function masked(c,    p, n, i) {
	if (c ~ /\./) { split(c, p, "."); return p[4] == 0 }
	n = split(c, p, ":")
	for (i = 4; i <= n; i++) if (p[i] != "0") return 0
	return 1
}
# manifest line into F[key] = value
function fields(    i, e) {
	delete F
	F["type"] = $1
	for (i = 2; i <= NF; i++) { e = index($i, "="); F[substr($i, 1, e - 1)] = substr($i, e + 1) }
}
function hexstr(s,    i, out) {
	out = ""
	for (i = 1; i <= length(s); i++) out = out sprintf("%02x", ORD[substr(s, i, 1)])
	return out
}
# index of needle in hay at an even offset (whole bytes), 0 if none
function hexfind(hay, needle,    off, p) {
	off = 0
	while ((p = index(substr(hay, off + 1), needle)) > 0) {
		if ((off + p) % 2 == 1) return off + p
		off += p
	}
	return 0
}
BEGIN { for (i = 32; i < 127; i++) ORD[sprintf("%c", i)] = i }
'

# ---------------------------------------------------------------------------
# 1. The generator
# ---------------------------------------------------------------------------

# Usage errors: exit 2 and a message naming the problem.
while IFS='|' read -r args want; do
	# shellcheck disable=SC2086
	"$GEN" $args >"$tmp/usage.out" 2>&1
	rc=$?
	[ $rc -eq 2 ] || fail "gen-beacons $args: exit $rc, want 2 (usage error)"
	grep -q -- "$want" "$tmp/usage.out" ||
		fail "gen-beacons $args: message lacks '$want': $(cat "$tmp/usage.out")"
done <<EOF
|expects OUT.pcap
-n 0 $tmp/x.pcap|number of flows
-n abc $tmp/x.pcap|number of flows
-6 101 $tmp/x.pcap|percentage
--size 10 $tmp/x.pcap|frame size
--mix nosuch $tmp/x.pcap|unknown mix
--keepalive 0 $tmp/x.pcap|number of beacons per connection
--keepalive 1001 $tmp/x.pcap|number of beacons per connection
--keepalive -1 $tmp/x.pcap|number of beacons per connection
--keepalive abc $tmp/x.pcap|number of beacons per connection
--dnt 101 $tmp/x.pcap|--dnt: .* percentage
--dnt abc $tmp/x.pcap|--dnt: .* percentage
--dnt -1 $tmp/x.pcap|--dnt: .* percentage
--bogus $tmp/x.pcap|unknown option
$tmp/a.pcap $tmp/b.pcap|too many arguments
EOF
"$GEN" --help | grep -q '^Usage: gen-beacons' || fail "gen-beacons --help prints no usage"
[ ! -e "$tmp/x.pcap" ] || fail "a usage error left an output file behind"
ok "usage errors exit 2 with a message naming the cause; --help works"

IN=$tmp/in.pcap
MAN=$tmp/in.manifest
"$GEN" -n "$FLOWS" -s "$SEED" --manifest "$MAN" "$IN" >"$tmp/gen.sum" ||
	fail "gen-beacons -n $FLOWS -s $SEED failed"
frames=$(val "$tmp/gen.sum" frames)
beacons=$(val "$tmp/gen.sum" beacon_requests)
http_requests=$(val "$tmp/gen.sum" http_requests)
multiseg=$(val "$tmp/gen.sum" beacon_requests_multiseg)
[ "$beacons" -gt 100 ] || fail "only $beacons beacon requests in $FLOWS flows"
echo "generated: $FLOWS flows, $frames frames, $beacons beacon requests ($multiseg spanning" \
	"several segments), $http_requests HTTP requests in all"

# The manifest agrees with the summary.
read -r m_beacons m_req < <(awk -F'\t' "$AWKLIB"'
	$1 == "req" { fields(); n++; if (F["kind"] == "beacon") b++ }
	END { print b + 0, n + 0 }' "$MAN")
[ "$m_beacons" -eq "$beacons" ] && [ "$m_req" -eq "$http_requests" ] ||
	fail "manifest lists $m_beacons beacons / $m_req requests, summary says $beacons / $http_requests"

# Every frame's IPv4 header, TCP and UDP checksums are good (status 1).
check_checksums() { # FILE LABEL
	ts -r "$1" -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE \
		-T fields -e frame.number -e ip.checksum.status -e tcp.checksum.status \
		-e udp.checksum.status >"$tmp/ck"
	awk -F'\t' -v label="$2" '
		{ n++ }
		$2 != "" && $2 != 1 { bad++; if (bad <= 5) printf "frame %s: IPv4 header checksum status %s\n", $1, $2 }
		$3 == "" && $4 == "" { none++; if (none <= 5) printf "frame %s: neither TCP nor UDP\n", $1 }
		$3 != "" && $3 != 1 { bad++; if (bad <= 5) printf "frame %s: TCP checksum status %s\n", $1, $3 }
		$4 != "" && $4 != 1 { bad++; if (bad <= 5) printf "frame %s: UDP checksum status %s\n", $1, $4 }
		END { if (bad || none || !n) { printf "%s: %d bad checksums, %d frames without TCP/UDP, %d frames\n", label, bad, none, n; exit 1 } }
	' "$tmp/ck" >&2 || fail "checksums of $2 (tshark status: 0 bad, 1 good, 2 unverified)"
	wc -l <"$tmp/ck"
}
n=$(check_checksums "$IN" "generated capture")
[ "$n" -eq "$frames" ] || fail "tshark reads $n frames, the generator wrote $frames"
ok "all $n generated frames have good IPv4/TCP/UDP checksums (tshark)"

# tshark's HTTP dissector sees every request, and the beacons among them.
BEACON_URI='http.request.uri matches "^[^?]*/rb_[^/?]*([?]|$)" or http.request.uri matches "^/bf(/[^/?]+)?([?]|$)"'
n=$(ts -r "$IN" -Y http.request -T fields -e frame.number | wc -l)
[ "$n" -eq "$http_requests" ] || fail "tshark finds $n HTTP requests, generator reports $http_requests"
n=$(ts -r "$IN" -Y "http.request and tcp.dstport == 80 and ($BEACON_URI)" -T fields -e frame.number | wc -l)
[ "$n" -eq "$beacons" ] || fail "tshark finds $n beacon requests, generator reports $beacons"
n=$(ts -r "$IN" -Y "http.request and tcp.reassembled.length" -T fields -e frame.number | wc -l)
[ "$n" -ge "$multiseg" ] || fail "tshark reassembles $n requests from several segments, want >= $multiseg"
ok "tshark's HTTP dissector finds all $http_requests requests, $beacons of them beacons, $n reassembled from several segments"

# Addresses: documentation ranges only, and every client address is listed.
awk -F'\t' "$AWKLIB"'
	$1 == "flow" || $1 == "req" {
		fields()
		if ($1 == "flow") print canon(F["src"])
		else { n = split(F["addrs"], A, ","); for (i = 1; i <= n; i++) print canon(A[i]) }
	}' "$MAN" | sort -u >"$tmp/clients"
grep -q . "$tmp/clients" || fail "no client addresses in the manifest"
grep -qx "" "$tmp/clients" && fail "the manifest has an address that does not parse"
ts -r "$IN" -T fields -e ip.src -e ip.dst -e ipv6.src -e ipv6.dst | tr '\t' '\n' | grep . | sort -u >"$tmp/l3in"
awk "$AWKLIB"'
	NR == FNR { client[$1] = 1; next }
	{
		c = canon($1)
		if (c ~ /\./) { split(c, p, "."); inr = p[1] == 198 && (p[2] == 18 || p[2] == 19) }
		else { split(c, p, ":"); inr = p[1] == "2001" && p[2] == "db8" }
		if (!inr) { print "outside the documentation ranges: " $1; bad = 1 }
		if (c != "198.18.0.10" && c != "2001:db8:0:0:0:0:0:10" && c != "198.18.0.53" &&
		    c != "2001:db8:0:0:0:0:0:53" && !(c in client)) { print "not in the manifest: " $1; bad = 1 }
	}
	END { exit bad }' "$tmp/clients" "$tmp/l3in" >&2 || fail "addresses of the generated capture"
ok "$(wc -l <"$tmp/clients") client addresses, all in 198.18.0.0/15 or 2001:db8::/32 and listed in the manifest"

# Determinism.
"$GEN" -q -n "$FLOWS" -s "$SEED" --manifest "$tmp/again.manifest" "$tmp/again.pcap" || fail "gen-beacons (again) failed"
cmp -s "$IN" "$tmp/again.pcap" || fail "same seed, different pcap"
cmp -s "$MAN" "$tmp/again.manifest" || fail "same seed, different manifest"
"$GEN" -q -n "$FLOWS" -s $((SEED + 1)) "$tmp/other.pcap" || fail "gen-beacons -s $((SEED + 1)) failed"
cmp -s "$IN" "$tmp/other.pcap" && fail "seeds $SEED and $((SEED + 1)) give the same pcap"
ok "seed $SEED twice gives byte-identical files, seed $((SEED + 1)) a different one"

# Timestamps strictly increase.
ts -r "$IN" -T fields -e frame.time_epoch | awk '
	NR > 1 && $1 <= prev { printf "frame %d: time %s not after %s\n", NR, $1, prev; exit 1 }
	{ prev = $1 }' >&2 || fail "timestamps of the generated capture"
ok "timestamps strictly increase"

# --size: each beacon request is one frame of exactly BYTES (jumbo MSS).
"$GEN" -q -n 40 -s "$SEED" --mix beacons --size 3000 "$tmp/size.pcap" 2>"$tmp/size.err" ||
	fail "gen-beacons --size 3000 failed: $(cat "$tmp/size.err")"
ts -r "$tmp/size.pcap" -Y http.request -T fields -e frame.len -e tcp.reassembled.length >"$tmp/size.lens"
awk -F'\t' '$1 != 3000 || $2 != "" { bad++ } END { exit !(NR > 0 && !bad) }' "$tmp/size.lens" ||
	fail "--size 3000: beacon frames are not all one frame of 3000 bytes: $(sort "$tmp/size.lens" | uniq -c | head)"
ok "--size 3000: all $(wc -l <"$tmp/size.lens") beacon requests are single 3000-byte frames"

# The other mixes hold what they say.
"$GEN" -n 60 -s "$SEED" --mix nonbeacon "$tmp/nb.pcap" >"$tmp/nb.sum" || fail "--mix nonbeacon failed"
[ "$(val "$tmp/nb.sum" beacon_requests)" -eq 0 ] || fail "--mix nonbeacon reports beacons"
n=$(ts -r "$tmp/nb.pcap" -Y "http.request and ($BEACON_URI)" -T fields -e frame.number | wc -l)
[ "$n" -eq 0 ] || fail "--mix nonbeacon: tshark finds $n beacon requests"
n=$(ts -r "$tmp/nb.pcap" -Y "tcp.srcport == 80 or tcp.srcport == 443 or udp.srcport == 53" -T fields -e frame.number | wc -l)
[ "$n" -eq 0 ] || fail "--mix nonbeacon: $n server-to-client frames (should be client to server only)"
"$GEN" -n 60 -s "$SEED" --mix beacons "$tmp/b.pcap" >"$tmp/b.sum" || fail "--mix beacons failed"
b=$(val "$tmp/b.sum" beacon_requests)
n=$(ts -r "$tmp/b.pcap" -Y "http.request and ($BEACON_URI)" -T fields -e frame.number | wc -l)
m=$(ts -r "$tmp/b.pcap" -Y "http.request" -T fields -e frame.number | wc -l)
[ "$n" -eq "$b" ] && [ "$m" -eq "$b" ] || fail "--mix beacons: tshark finds $n beacons / $m requests, want $b"
n=$(ts -r "$tmp/b.pcap" -Y "not (tcp.dstport == 80)" -T fields -e frame.number | wc -l)
[ "$n" -eq 0 ] || fail "--mix beacons: $n frames that are not client to port 80"
ok "--mix nonbeacon has no beacons, --mix beacons only beacons ($b), both client to server only"

# --keepalive N: every browser beacon connection (kind=beacon) carries
# exactly N requests, in the manifest's requests= and in its req lines; the
# shared-proxy connections (kind=beacon-shared) keep 2-4; the summary agrees.
for ka in 5 1; do
	"$GEN" -n 200 -s "$SEED" --keepalive "$ka" --manifest "$tmp/ka.man" "$tmp/ka.pcap" >"$tmp/ka.sum" ||
		fail "gen-beacons --keepalive $ka failed"
	awk -F'\t' -v ka="$ka" "$AWKLIB"'
		$1 == "flow" { fields(); kind[F["flow"]] = F["kind"]; want[F["flow"]] = F["requests"]
			if (F["kind"] == "beacon") { nb++; if (F["requests"] != ka) { printf "flow %s: requests=%s, want %s\n", F["flow"], F["requests"], ka; bad++ } }
			if (F["kind"] == "beacon-shared") { ns++; if (F["requests"] < 2 || F["requests"] > 4) { printf "shared flow %s: requests=%s, want 2-4\n", F["flow"], F["requests"]; bad++ } } }
		$1 == "req" { fields(); got[F["flow"]]++; if (F["kind"] == "beacon") nr++ }
		END {
			for (f in want) if (got[f] + 0 != want[f]) { printf "flow %s (%s): %d req lines, requests=%s\n", f, kind[f], got[f], want[f]; bad++ }
			if (bad) exit 1
			print nb + 0, ns + 0, nr + 0
		}' "$tmp/ka.man" >"$tmp/ka.res" ||
		{ head -20 "$tmp/ka.res" >&2; fail "--keepalive $ka: requests per connection"; }
	read -r nb ns nr <"$tmp/ka.res"
	[ "$nb" -gt 50 ] && [ "$ns" -gt 0 ] || fail "--keepalive $ka: only $nb browser and $ns shared beacon connections"
	[ "$(val "$tmp/ka.sum" beacon_requests)" -eq "$nr" ] ||
		fail "--keepalive $ka: summary beacon_requests $(val "$tmp/ka.sum" beacon_requests), manifest $nr"
	[ "$(val "$tmp/ka.sum" beacon_conns)" -eq $((nb + ns)) ] && [ "$(val "$tmp/ka.sum" shared_conns)" -eq "$ns" ] ||
		fail "--keepalive $ka: summary beacon_conns/shared_conns differ from the manifest ($nb + $ns)"
	[ "$(val "$tmp/ka.sum" keepalive_conns)" -eq $((ka > 1 ? nb : 0)) ] ||
		fail "--keepalive $ka: keepalive_conns $(val "$tmp/ka.sum" keepalive_conns), want $((ka > 1 ? nb : 0))"
	n=$(ts -r "$tmp/ka.pcap" -Y http.request -T fields -e frame.number | wc -l)
	[ "$n" -eq "$(val "$tmp/ka.sum" http_requests)" ] ||
		fail "--keepalive $ka: tshark finds $n HTTP requests, generator reports $(val "$tmp/ka.sum" http_requests)"
	ok "--keepalive $ka: requests=$ka on all $nb browser beacon connections (and that many req lines), 2-4 on the $ns shared ones; tshark finds all $n requests"
done

# --dnt PERCENT is drawn per browser, for every browser (beacon connections,
# the browsers behind the shared proxy, other HTTP): 100 puts DNT: 1 on
# every request, 0 on none; 15 is the default and draws the same numbers.
for pct in 100 0; do
	"$GEN" -n 200 -s "$SEED" --dnt "$pct" --manifest "$tmp/dnt.man" "$tmp/dnt.pcap" >"$tmp/dnt.sum" ||
		fail "gen-beacons --dnt $pct failed"
	want=$((pct / 100))
	read -r nreq nbad nbeacon nshared < <(awk -F'\t' -v want="$want" "$AWKLIB"'
		$1 == "flow" { fields(); kind[F["flow"]] = F["kind"] }
		$1 == "req" { fields(); n++; if (F["dnt"] != want) bad++
			if (F["kind"] == "beacon") { b++; if (kind[F["flow"]] == "beacon-shared") s++ } }
		END { print n + 0, bad + 0, b + 0, s + 0 }' "$tmp/dnt.man")
	[ "$nreq" -gt 100 ] && [ "$nshared" -gt 0 ] && [ "$nbeacon" -lt "$nreq" ] ||
		fail "--dnt $pct: too few requests to tell ($nreq, $nbeacon beacons, $nshared through the shared proxy)"
	[ "$nbad" -eq 0 ] || fail "--dnt $pct: $nbad of $nreq manifest req lines have dnt != $want"
	b=$(val "$tmp/dnt.sum" beacon_requests)
	[ "$(val "$tmp/dnt.sum" beacons_dnt)" -eq $((want * b)) ] ||
		fail "--dnt $pct: summary beacons_dnt $(val "$tmp/dnt.sum" beacons_dnt) of $b beacon requests"
	n=$(ts -r "$tmp/dnt.pcap" -Y 'http.request and http.request.line matches "(?i)^dnt: 1\r\n$"' -T fields -e frame.number | wc -l)
	[ "$n" -eq $((want * nreq)) ] || fail "--dnt $pct: tshark finds DNT: 1 in $n of $nreq requests"
	ok "--dnt $pct: dnt=$want on all $nreq requests ($nbeacon beacons, $nshared of them through the shared proxy; the rest other HTTP), tshark agrees ($n with DNT: 1)"
done
"$GEN" -q -n "$FLOWS" -s "$SEED" --dnt 15 "$tmp/dnt15.pcap" || fail "gen-beacons --dnt 15 failed"
cmp -s "$IN" "$tmp/dnt15.pcap" || fail "--dnt 15 (the default) gives other bytes than no --dnt"
ok "--dnt 15 gives the same bytes as the default"

# ---------------------------------------------------------------------------
# 2. beaconveil pcap on the realistic capture, default policy
# ---------------------------------------------------------------------------

OUT=$tmp/out.pcap
"$BV" pcap "$IN" "$OUT" >"$tmp/bv.sum" 2>"$tmp/bv.err" ||
	fail "beaconveil pcap failed (exit $?): $(cat "$tmp/bv.err")"
[ -s "$OUT" ] || fail "beaconveil pcap wrote no output"

# Decisions: the sum, and each reason as the manifest predicts under the
# default policy (precedence as in the README: disabled, then DNT/GPC, which
# anonymize by default, else pass).
read -r e_pass e_anon e_dis < <(awk -F'\t' "$AWKLIB"'
	$1 == "req" { fields(); if (F["kind"] != "beacon") next
		if (F["disabled"] + 0) d++; else if (F["dnt"] + F["gpc"] > 0) a++; else p++ }
	END { print p + 0, a + 0, d + 0 }' "$MAN")
sum=0
for k in pass anonymized dropped_dnt dropped_gpc dropped_no_consent dropped_disabled \
	dropped_level_off dropped_crash_report malformed; do
	v=$(val "$tmp/bv.sum" $k)
	sum=$((sum + v))
	declare "dec_$k=$v"
done
# shellcheck disable=SC2154
decisions="pass $dec_pass, anonymized $dec_anonymized, dropped_disabled $dec_dropped_disabled, malformed $dec_malformed"
[ "$sum" -eq "$beacons" ] ||
	fail "decisions add up to $sum, but $beacons beacon requests were generated ($decisions)"
ok "beaconveil's decisions add up to the $beacons beacon requests generated"
# shellcheck disable=SC2154
[ "$dec_pass" -eq "$e_pass" ] && [ "$dec_anonymized" -eq "$e_anon" ] &&
	[ "$dec_dropped_disabled" -eq "$e_dis" ] && [ "$sum" -eq $((e_pass + e_anon + e_dis)) ] ||
	fail "decisions ($decisions) differ from the manifest's prediction (pass $e_pass, anonymized $e_anon, dropped_disabled $e_dis)"
ok "each reason as predicted: pass $e_pass, anonymized $e_anon, dropped_disabled $e_dis"
unproc=$(val "$tmp/bv.sum" packets_unprocessable)
[ "$unproc" -eq 0 ] || fail "$unproc packets unprocessable"

written=$(val "$tmp/bv.sum" packets_written)
n=$(check_checksums "$OUT" "beaconveil output")
[ "$n" -eq "$written" ] || fail "tshark reads $n frames in the output, beaconveil wrote $written"
ok "all $n output frames have good IPv4/TCP/UDP checksums"

# Client ports of the connections that carry beacons (only beacons).
awk -F'\t' "$AWKLIB"'$1 == "flow" { fields(); if (F["kind"] ~ /^beacon/) print F["sport"] }' "$MAN" |
	sort -u >"$tmp/bports"

# L3: no generated client address anywhere; every address is a collector
# address or keeps no more than /24 or /48.
ts -r "$OUT" -T fields -e frame.number -e tcp.srcport -e tcp.dstport -e ip.src -e ip.dst \
	-e ipv6.src -e ipv6.dst >"$tmp/l3out"
awk -F'\t' "$AWKLIB"'
	FILENAME == ARGV[1] { client[$1] = 1; next }
	FILENAME == ARGV[2] { bport[$1] = 1; next }
	{
		for (i = 4; i <= 7; i++) {
			if ($i == "") continue
			c = canon($i)
			what = ($2 in bport || $3 in bport) ? "beacon connection" : "other traffic"
			if (c in client) {
				printf "output frame %s (%s): client address %s unmasked in the IP header\n", $1, what, $i; bad++
			} else if (c != "198.18.0.10" && c != "2001:db8:0:0:0:0:0:10" && !masked(c)) {
				printf "output frame %s (%s): address %s keeps more than /24 or /48\n", $1, what, $i; bad++
			}
			n++
		}
	}
	END { if (bad) exit 1; print n }' "$tmp/clients" "$tmp/bports" "$tmp/l3out" >"$tmp/l3.res" ||
	{ head -20 "$tmp/l3.res" >&2; fail "client addresses in IP headers of the output"; }
ok "no generated client address in the $(cat "$tmp/l3.res") IP addresses of the output; all masked to /24 or /48"

# Text headers of the beacon requests tshark finds in the output.
ts -r "$OUT" -Y "http.request and tcp.dstport == 80 and ($BEACON_URI)" -E occurrence=a \
	-E "aggregator=$(printf '\x1f')" -T fields -e frame.number -e tcp.srcport \
	-e http.request.line >"$tmp/hdrs"
kept=$((dec_pass + dec_anonymized))
n=$(wc -l <"$tmp/hdrs")
[ "$n" -eq "$kept" ] || fail "tshark finds $n beacon requests in the output, beaconveil kept $kept"
awk -F'\t' "$AWKLIB"'
	FILENAME == ARGV[1] { client[$1] = 1; next }
	{
		nl = split($3, L, "\037")
		for (j = 1; j <= nl; j++) {
			line = L[j]
			sub(/(\\r\\n)+$/, "", line)
			name = tolower(line); sub(/:.*/, "", name)
			if (name != "x-forwarded-for" && name != "forwarded" && name != "x-real-ip" &&
			    name != "true-client-ip") continue
			hdrs++
			v = substr(line, index(line, ":") + 1)
			if (name == "forwarded") {
				# only for= carries the client
				nt = split(v, E, /[;,]/); v = ""
				for (t = 1; t <= nt; t++) { e = E[t]; gsub(/^ +| +$/, "", e)
					if (tolower(substr(e, 1, 4)) == "for=") v = v " " substr(e, 5) }
			}
			nt = split(v, T, /[^0-9A-Fa-f:.\[\]"]+/)
			for (t = 1; t <= nt; t++) {
				if (T[t] == "" || T[t] !~ /[.:]/) continue
				c = canon(T[t])
				if (c == "") { printf "output frame %s: unparseable address token \"%s\" in: %s\n", $1, T[t], line; bad++; continue }
				addrs++
				if (c in client) { printf "output frame %s: client address %s unmasked in: %s\n", $1, T[t], line; bad++ }
				else if (!masked(c)) { printf "output frame %s: %s keeps more than /24 or /48 in: %s\n", $1, T[t], line; bad++ }
			}
		}
	}
	END { print hdrs + 0, addrs + 0; exit bad > 0 }' "$tmp/clients" "$tmp/hdrs" >"$tmp/txt.res" ||
	{ grep -v '^[0-9]* [0-9]*$' "$tmp/txt.res" | head -20 >&2; fail "client addresses in text headers of beacons"; }
read -r nh na < <(tail -1 "$tmp/txt.res")
[ "$na" -ge "$kept" ] || fail "only $na addresses in the address headers of $kept beacons"
ok "$kept beacons in the output: no client address in their $nh x-forwarded-for/forwarded/x-real-ip lines ($na addresses, all /24 or /48)"

# Raw bytes of each beacon connection, client to server, in order: no
# generated address text (as written by the generator) anywhere, so also
# not when cut by a segment boundary, and no visitor id of an anonymized
# beacon.
ts -r "$OUT" -Y "tcp.dstport == 80 and tcp.len > 0" -T fields -e tcp.srcport -e tcp.payload >"$tmp/payload"
awk -F'\t' "$AWKLIB"'
	FILENAME == ARGV[1] { bport[$1] = 1; next }
	FILENAME == ARGV[2] {
		if ($1 != "req") next
		fields()
		if (!(F["sport"] in bport)) next
		n = split(F["addrs"], A, ",")
		for (i = 1; i <= n; i++) needle[F["sport"], ++nn[F["sport"]]] = A[i] SUBSEP "address " A[i] SUBSEP F["frames"]
		if (F["kind"] == "beacon" && !(F["disabled"] + 0) && F["dnt"] + F["gpc"] > 0) {
			anon++
			needle[F["sport"], ++nn[F["sport"]]] = "rxVisitor=" F["rxvisitor"] SUBSEP "rxVisitor of an anonymized beacon" SUBSEP F["frames"]
			needle[F["sport"], ++nn[F["sport"]]] = "v" F["dtpc"] "-" SUBSEP "dtPC random part of an anonymized beacon" SUBSEP F["frames"]
			needle[F["sport"], ++nn[F["sport"]]] = "vi=" F["vi"] SUBSEP "vi= of an anonymized beacon" SUBSEP F["frames"]
		}
		next
	}
	($1 in bport) { p = $2; gsub(/:/, "", p); stream[$1] = stream[$1] tolower(p) }
	END {
		for (port in stream) {
			streams++
			for (i = 1; i <= nn[port]; i++) {
				split(needle[port, i], N, SUBSEP)
				if (hexfind(stream[port], hexstr(N[1]))) {
					printf "beacon connection from port %s (input frames %s): %s found in the output bytes\n", port, N[3], N[2]
					bad++
				}
				checked++
			}
		}
		print streams + 0, checked + 0, anon + 0
		exit bad > 0
	}' "$tmp/bports" "$MAN" "$tmp/payload" >"$tmp/raw.res" ||
	{ grep -v '^[0-9]* [0-9]* [0-9]*$' "$tmp/raw.res" | head -20 >&2; fail "identifying bytes left in beacon connections"; }
read -r ns nc nanon < <(tail -1 "$tmp/raw.res")
[ "$ns" -gt 0 ] && [ "$nc" -gt 0 ] || fail "no beacon connection bytes to check"
ok "bytes of $ns beacon connections hold none of $nc addresses/ids (incl. ids of $nanon anonymized beacons)"

# A stricter policy: every drop reason the capture can trigger, predicted
# from the manifest (precedence: disabled, no consent, DNT, GPC, pass).
printf '[global]\ndnt_action = drop\nopt_in = on\n' >"$tmp/strict.conf"
"$BV" pcap -c "$tmp/strict.conf" "$IN" "$tmp/strict.pcap" >"$tmp/strict.sum" 2>"$tmp/bv.err" ||
	fail "beaconveil pcap -c strict.conf failed: $(cat "$tmp/bv.err")"
read -r e_pass e_dis e_nc e_dnt e_gpc < <(awk -F'\t' "$AWKLIB"'
	$1 == "req" { fields(); if (F["kind"] != "beacon") next
		if (F["disabled"] + 0) d++; else if (!(F["consent"] + 0)) nc++
		else if (F["dnt"] + 0) dn++; else if (F["gpc"] + 0) g++; else p++ }
	END { print p + 0, d + 0, nc + 0, dn + 0, g + 0 }' "$MAN")
got=""
want=""
for kv in pass:$e_pass anonymized:0 dropped_dnt:$e_dnt dropped_gpc:$e_gpc \
	dropped_no_consent:$e_nc dropped_disabled:$e_dis dropped_level_off:0 \
	dropped_crash_report:0 malformed:0; do
	got="$got ${kv%%:*} $(val "$tmp/strict.sum" "${kv%%:*}")"
	want="$want ${kv%%:*} ${kv#*:}"
done
[ "$got" = "$want" ] || fail "dnt_action=drop, opt_in=on: decisions$got; the manifest predicts$want"
n=$(check_checksums "$tmp/strict.pcap" "beaconveil output (strict policy)")
ok "dnt_action=drop, opt_in=on: decisions as predicted (pass $e_pass, dropped_dnt $e_dnt," \
	"dropped_gpc $e_gpc, dropped_no_consent $e_nc, dropped_disabled $e_dis); $n frames, checksums good"

echo "$NAME: all checks passed"
