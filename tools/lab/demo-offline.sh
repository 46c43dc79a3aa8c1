#!/usr/bin/env bash
# tools/lab/demo-offline.sh — the offline part of `sudo make demo`
# (tools/demo.sh --offline, and its fall back when the live lab cannot
# start): a realistic synthetic RUM capture (tools/gen-beacons.c, fixed seed) anonymized by the real XDP
# program through `beaconveil pcap`, once with the default policy and once
# with a stricter one, and a short report an operator can show a privacy
# officer. Keeps the anonymized capture as ./beaconveil-demo-out.pcap in the
# current directory (DEMO_OUT overrides); everything else is temporary.
#
# Environment: BUILD (default build, relative to the repository), DEMO_OUT.
# Needs root (beaconveil pcap loads a BPF program) and tshark.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd) || exit 1
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
GEN=$BUILD/gen-beacons
BV=$BUILD/beaconveil
OUT=${DEMO_OUT:-$PWD/beaconveil-demo-out.pcap}
FLOWS=300
SEED=2025

die() {
	echo "demo-offline.sh: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "must run as root: beaconveil pcap loads the XDP program (CAP_BPF, CAP_NET_ADMIN); run: sudo make demo"
[ -x "$BV" ] || die "$BV is missing: run make first (or sudo make demo)"
if [ ! -x "$GEN" ]; then
	# The Makefile builds it when it includes tools/gen-beacons.mk.
	echo "demo-offline.sh: building $GEN"
	if grep -q 'gen-beacons\.mk' "$ROOT/Makefile" "$ROOT"/mk/*.mk 2>/dev/null; then
		make -C "$ROOT" BUILD="$BUILD" "$GEN" >/dev/null
	else
		make -C "$ROOT" -f Makefile -f tools/gen-beacons.mk BUILD="$BUILD" "$GEN" >/dev/null
	fi || die "cannot build $GEN"
fi
command -v tshark >/dev/null || die "tshark is not installed (tools/deps.sh installs it)"

tmp=$(mktemp -d /tmp/beaconveil-demo.XXXXXX) || die "mktemp failed"
cleanup() {
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo; echo "demo-offline.sh: interrupted" >&2; exit 130' INT TERM

IN=$tmp/capture.pcap
MAN=$tmp/capture.manifest
STRICT_OUT=$tmp/strict.pcap
STRICT_CONF=$tmp/strict.conf

ts() {
	tshark -n "$@" 2>"$tmp/tshark.err" || { cat "$tmp/tshark.err" >&2; die "tshark failed: $*"; }
}
val() { # FILE NAME
	awk -v k="$2" '$1 == k { print $2 }' "$1"
}

# ---------------------------------------------------------------------------
echo "beaconveil demo: generating a synthetic RUM capture ($FLOWS flows, seed $SEED) ..."
"$GEN" -n "$FLOWS" -s "$SEED" --manifest "$MAN" "$IN" >"$tmp/gen.sum" || die "gen-beacons failed"

cat >"$STRICT_CONF" <<'EOF'
# Stricter example policy: Do Not Track / GPC switch RUM off for that
# browser, and beacons without the consent cookie (dtCookie) are dropped.
[global]
dnt_action = drop
opt_in = on
EOF

echo "beaconveil demo: running the XDP program over every packet (default policy) ..."
"$BV" pcap "$IN" "$OUT" >"$tmp/default.sum" 2>"$tmp/bv.err" ||
	die "beaconveil pcap failed: $(cat "$tmp/bv.err")"
echo "beaconveil demo: ... and again with dnt_action=drop, opt_in=on"
"$BV" pcap -c "$STRICT_CONF" "$IN" "$STRICT_OUT" >"$tmp/strict.sum" 2>"$tmp/bv.err" ||
	die "beaconveil pcap -c strict.conf failed: $(cat "$tmp/bv.err")"

# ---------------------------------------------------------------------------
G=$tmp/gen.sum
D=$tmp/default.sum
S=$tmp/strict.sum
line() { printf '%.0s-' $(seq 1 78); echo; }

echo
echo "beaconveil: privacy enforcement report (offline run of the XDP data plane)"
line
printf 'Input   synthetic capture, %s frames, %s flows; client addresses only from\n' \
	"$(val "$G" frames)" "$FLOWS"
printf '        documentation ranges (198.18.0.0/15, 2001:db8::/32)\n'
printf '        %s beacon requests (Dynatrace RUM style), %s other HTTP requests,\n' \
	"$(val "$G" beacon_requests)" "$(val "$G" other_http_requests)"
printf '        %s TLS and %s DNS flows; of the beacons: DNT %s, Sec-GPC %s,\n' \
	"$(val "$G" tls_flows)" "$(val "$G" dns_flows)" "$(val "$G" beacons_dnt)" "$(val "$G" beacons_gpc)"
printf '        no consent cookie %s, dtDisabled %s, IPv6 %s, headers over several\n' \
	"$(val "$G" beacons_no_consent)" "$(val "$G" beacons_disabled)" "$(val "$G" beacon_requests_ipv6)"
printf '        TCP segments %s\n' "$(val "$G" beacon_requests_multiseg)"
echo
printf '%-34s %14s %14s\n' "Decision per beacon request" "default" "strict*"
total_d=0
total_s=0
for k in pass anonymized dropped_dnt dropped_gpc dropped_no_consent dropped_disabled \
	dropped_level_off dropped_crash_report malformed; do
	d=$(val "$D" $k)
	s=$(val "$S" $k)
	total_d=$((total_d + d))
	total_s=$((total_s + s))
	printf '  %-32s %14s %14s\n' "$k" "$d" "$s"
done
printf '  %-32s %14s %14s\n' "total" "$total_d" "$total_s"
echo
printf '%-34s %14s %14s\n' "Packets" "default" "strict*"
for k in packets_in packets_written packets_dropped packets_unprocessable; do
	printf '  %-32s %14s %14s\n' "${k#packets_}" "$(val "$D" $k)" "$(val "$S" $k)"
done
printf '  %-32s %14s %14s\n' "addresses masked in IP headers" "$(val "$D" l3_masked)" "$(val "$S" l3_masked)"
printf '  %-32s %14s %14s\n' "addresses masked in headers" "$(val "$D" text_masked)" "$(val "$S" text_masked)"
printf '  %-32s %14s %14s\n' "visitor identifiers replaced" "$(val "$D" ids_replaced)" "$(val "$S" ids_replaced)"
echo
echo "  default: the built-in policy (beaconveil.conf.example): every client address"
echo "           keeps /24 (IPv4) or /48 (IPv6); DNT: 1 or Sec-GPC: 1 anonymize the"
echo "           beacon (visitor ids replaced); dtDisabled=true drops it."
echo "  strict*: the same with dnt_action = drop and opt_in = on: DNT/GPC drop the"
echo "           beacon, and so does a missing consent cookie (dtCookie)."

# ---------------------------------------------------------------------------
# Three beacon requests, before and after: a plain IPv4 one, one with DNT,
# an IPv6 one (preferably with large cookies or a Forwarded header).
pick() { # awk condition on manifest fields -> "sport last_frame dnt gpc segs"
	awk -F'\t' '
		function fields(    i, e) { delete F; for (i = 2; i <= NF; i++) { e = index($i, "="); F[substr($i, 1, e - 1)] = substr($i, e + 1) } }
		$1 == "req" { fields(); if (F["kind"] == "beacon" && ('"$1"')) { split(F["frames"], fr, "-"); print F["sport"], fr[2], F["dnt"], F["gpc"], F["segs"]; exit } }' "$MAN"
}
samples=()
s1=$(pick 'F["fam"] == 4 && F["dnt"] == 0 && F["gpc"] == 0 && F["disabled"] == 0 && F["consent"] == 1 && F["segs"] == 1 && F["method"] == "POST" && F["addrs"] !~ /,/')
s2=$(pick 'F["fam"] == 4 && F["dnt"] == 1 && F["disabled"] == 0 && F["consent"] == 1')
s3=$(pick 'F["fam"] == 6 && F["dnt"] == 0 && F["gpc"] == 0 && F["disabled"] == 0 && F["segs"] + 0 > 1')
[ -n "$s3" ] || s3=$(pick 'F["fam"] == 6 && F["disabled"] == 0')
for s in "$s1" "$s2" "$s3"; do
	[ -n "$s" ] && samples+=("$s")
done

# Fields of the request tshark dissects at a frame: one line, tab-separated:
# seq, IP source, request line, address headers, rxVisitor, DNT.
req_fields() { # FILE DISPLAYFILTER
	ts -r "$1" -Y "$2" -E occurrence=a -E "aggregator=$(printf '\x1f')" -T fields \
		-e tcp.seq_raw -e ip.src -e ipv6.src -e http.request.method -e http.request.uri \
		-e http.request.line | head -1 | awk -F'\t' '
		{
			src = $2 != "" ? $2 : $3
			n = split($6, L, "\037"); xff = ""; fwd = ""; rxv = "(none)"; dnt = "(none)"
			for (j = 1; j <= n; j++) {
				l = L[j]; sub(/(\\r\\n)+$/, "", l)
				name = tolower(l); sub(/:.*/, "", name)
				v = substr(l, index(l, ":") + 1); sub(/^ +/, "", v)
				if (name == "x-forwarded-for") xff = xff (xff != "" ? " | " : "") v
				else if (name == "forwarded") fwd = fwd (fwd != "" ? " | " : "") v
				else if (name == "dnt") dnt = v
				else if (name == "cookie" && match(l, /rxVisitor=[^;]*/))
					rxv = substr(l, RSTART + 10, RLENGTH - 10)
			}
			if (xff == "" && match(fwd, /for=[^;,]*/)) xff = "(forwarded) " substr(fwd, RSTART, RLENGTH)
			if (xff == "") xff = "(none)"
			uri = $5; vi = "(none)"
			if (match(uri, /[?&]vi=[^&]*/)) vi = substr(uri, RSTART + 4, RLENGTH - 4)
			q = index(uri, "?"); path = q ? substr(uri, 1, q) "..." : uri
			printf "%s\t%s\t%s %s\t%s\t%s\t%s\t%s\n", $1, src, $4, path, vi, xff, rxv, dnt
		}'
}

echo
echo "Three beacon requests, before -> after (default policy), from the pcaps"
echo "with tshark:"
i=0
for s in "${samples[@]}"; do
	i=$((i + 1))
	read -r port frame dnt gpc segs <<<"$s"
	before=$(req_fields "$IN" "frame.number == $frame and http.request")
	[ -n "$before" ] || continue
	seq=${before%%$'\t'*}
	after=$(req_fields "$OUT" "tcp.srcport == $port and tcp.seq_raw == $seq and http.request")
	strict=$(req_fields "$STRICT_OUT" "tcp.srcport == $port and tcp.seq_raw == $seq and http.request")
	IFS=$'\t' read -r _ b_src b_req b_vi b_xff b_rxv b_dnt <<<"$before"
	if [ -z "$after" ]; then
		a_src="(dropped)" a_req="(dropped)" a_vi="(dropped)" a_xff="(dropped)" a_rxv="(dropped)" a_dnt="(dropped)"
		fate="dropped"
	else
		IFS=$'\t' read -r _ a_src a_req a_vi a_xff a_rxv a_dnt <<<"$after"
		if [ "$dnt" = 1 ] || [ "$gpc" = 1 ]; then
			fate="anonymized ($([ "$dnt" = 1 ] && echo "DNT: 1" || echo "Sec-GPC: 1")): address masked, visitor ids replaced"
		elif [ "$a_rxv" != "$b_rxv" ]; then
			fate="pass, address masked; visitor ids replaced anyway: the head spans $segs segments and was undecided (held_undecided, README 'Honest limits')"
		else
			fate="pass: address masked, identifiers kept"
		fi
	fi
	[ -n "$strict" ] && sfate="kept" || sfate="dropped"
	echo
	printf '[%d] input frame %s, client port %s, %s segment(s)\n' "$i" "$frame" "$port" "$segs"
	printf '    default policy: %s\n' "$fate" | fold -s -w 78 | sed '2,$s/^/      /'
	printf '    strict policy:  %s\n' "$sfate"
	printf '    %-15s %-46s %s\n' "" "before" "after"
	printf '    %-15s %-46s %s\n' "IP source" "$b_src" "$a_src"
	printf '    %-15s %-46s %s\n' "request line" "$b_req" "$a_req"
	printf '    %-15s %-46s %s\n' "  query vi=" "$b_vi" "$a_vi"
	printf '    %-15s %-46s %s\n' "x-forwarded-for" "$b_xff" "$a_xff"
	printf '    %-15s %-46s %s\n' "rxVisitor" "$b_rxv" "$a_rxv"
	printf '    %-15s %-46s %s\n' "DNT" "$b_dnt" "$a_dnt"
done

echo
line
echo "Anonymized capture (default policy) kept at: $OUT"
echo "  (the input is synthetic and is regenerated with:"
echo "   $GEN -n $FLOWS -s $SEED input.pcap)"
echo "Live: 'sudo make demo' runs the same program attached to a network"
echo "interface behind a real HAProxy and nginx (tools/demo.sh, docs/LAB.md)."
