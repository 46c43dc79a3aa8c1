#!/usr/bin/env bash
# tests/encap_vxlan.sh — tunnels from real Linux peers through `beaconveil
# pcap` (docs/MASKING.md, "Tunnels").
#
# Two network namespaces (bvx-a, bvx-b) joined by a veth pair (the
# underlay, 198.18.100.0/24 and 2001:db8:100::/64), with kernel tunnel
# interfaces between them: `vxlan` VNI 42 on UDP 4789 over IPv4 (UDP
# checksums on), `vxlan` VNI 43 on UDP 8472 over IPv6 (a port given in the
# config: [mirror] vxlan_ports = 4789, 8472), and `geneve` VNI 7 on UDP 6081
# over IPv6. A kernel built without GENEVE (CONFIG_GENEVE) cannot make the
# last one: the test then says so and goes on with the two VXLAN tunnels.
# Either way the frames of the VXLAN/IPv6 tunnel are then rewrapped as
# GENEVE with 12 bytes of options (tests/helpers/regeneve, Linux's geneve
# sends none), the real peers' inner frames byte for byte, and anonymized
# and checked the same way.
# A beacon request with X-Forwarded-For goes from a's overlay address to a
# sink in b (tests/helpers/bvnet) through each tunnel; tcpdump captures the
# encapsulated packets on b's underlay veth, and `beaconveil pcap` (pcap
# mode, and mirror mode: the same bytes) anonymizes the capture.
#
# Asserted with tshark (its own VXLAN/GENEVE dissectors) on the output:
# - the capture really held the tunnels with the unmasked addresses and
#   valid checksums, and the program decapsulated them (encap_* counters,
#   one beacon decision per tunnel, nothing malformed);
# - inner http.x_forwarded_for is the masked client (203.0.113.0,
#   2001:db8:85a3:: in some spelling), inner ip.src / ipv6.src of the
#   requests too; no IP header of any frame, outer or inner, holds an
#   unmasked overlay client or underlay address;
# - no bad IPv4, TCP or UDP checksum anywhere (ip/tcp/udp.check_checksum
#   on); the outer UDP checksums over IPv6 are verified good, those over
#   IPv4 are zero (docs/MASKING.md says why).
# Cleans up its namespaces on any exit; needs root, tcpdump, tshark, ethtool.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
BV=$BUILD/beaconveil
BVNET=$BUILD/helpers/bvnet
REGENEVE=$BUILD/helpers/regeneve
NAME=encap_vxlan
NA=bvx-a
NB=bvx-b
PIDS=()

fail() {
	echo "$NAME: FAIL: $*" >&2
	exit 1
}
ok() { echo "$NAME: ok: $*"; }

[ "$(id -u)" -eq 0 ] || fail "needs root (network namespaces, BPF_PROG_TEST_RUN)"
for f in "$BV" "$BVNET" "$REGENEVE"; do
	[ -x "$f" ] || fail "$f missing: run make first"
done
for c in ip ethtool tcpdump tshark; do
	command -v "$c" >/dev/null || fail "$c is not installed (tools/deps.sh installs it)"
done

TMP=$(mktemp -d /tmp/$NAME.XXXXXX) || fail "mktemp failed"
cleanup() {
	local rc=$? p
	trap - EXIT
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	ip netns del "$NA" 2>/dev/null
	ip netns del "$NB" 2>/dev/null
	if [ "$rc" -ne 0 ]; then
		for f in "$TMP"/*.log "$TMP"/summary*; do
			[ -f "$f" ] && { echo "----- $f"; tail -n 30 "$f"; }
		done
	fi
	rm -rf "$TMP"
	exit "$rc"
}
# leftovers of an earlier run that was killed
ip netns del "$NA" 2>/dev/null
ip netns del "$NB" 2>/dev/null
trap cleanup EXIT
trap 'exit 130' INT TERM

A() { ip netns exec "$NA" "$@"; }
B() { ip netns exec "$NB" "$@"; }

# Waits (at most 10 s) until file $1 holds text $2.
wait_for() {
	for _ in $(seq 100); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	fail "no '$2' in $1 after 10 s"
}

# ---- the test bed -----------------------------------------------------------
ip netns add "$NA" || fail "ip netns add $NA"
ip netns add "$NB" || fail "ip netns add $NB"
ip link add bvx-va netns "$NA" type veth peer name bvx-vb netns "$NB" || fail "veth pair"
setup_side() { # NS VETH N
	local ns=$1 dev=$2 n=$3
	ip -n "$ns" link set lo up
	ip -n "$ns" addr add "198.18.100.$n/24" dev "$dev"
	ip -n "$ns" addr add "2001:db8:100::$n/64" dev "$dev" nodad
	# checksums filled in by the stack, not left to an offload the capture
	# would not see; VLAN tags where XDP sees them
	ip netns exec "$ns" ethtool -K "$dev" tx off rxvlan off txvlan off >/dev/null ||
		fail "ethtool -K $dev in $ns"
	ip -n "$ns" link set "$dev" up
}
setup_side "$NA" bvx-va 1
setup_side "$NB" bvx-vb 2
GENEVE=1
if ! ip -n "$NA" link add bvx-gn type geneve id 7 remote 2001:db8:100::2 2>"$TMP/geneve.log"; then
	grep -q "Unknown device type" "$TMP/geneve.log" || fail "geneve: $(cat "$TMP/geneve.log")"
	GENEVE=0
	echo "$NAME: this kernel has no GENEVE (CONFIG_GENEVE): only the VXLAN tunnels are real peers here"
fi
tunnels() { # NS LOCAL_N REMOTE_N OVERLAY_N VETH
	local ns=$1 l=$2 r=$3 o=$4 d
	ip -n "$ns" link add bvx-vx type vxlan id 42 dstport 4789 local "198.18.100.$l" \
		remote "198.18.100.$r" dev "$5" udpcsum || fail "vxlan over IPv4 in $ns"
	ip -n "$ns" link add bvx-vx6 type vxlan id 43 dstport 8472 local "2001:db8:100::$l" \
		remote "2001:db8:100::$r" dev "$5" || fail "vxlan over IPv6 in $ns"
	ip -n "$ns" addr add "203.0.113.$o/24" dev bvx-vx
	ip -n "$ns" addr add "2001:db8:85a3:8d3::$o/64" dev bvx-vx6 nodad
	if [ "$GENEVE" = 1 ]; then
		if [ "$ns" = "$NB" ]; then
			ip -n "$ns" link add bvx-gn type geneve id 7 remote "2001:db8:100::$r" ||
				fail "geneve in $ns"
		fi
		ip -n "$ns" addr add "2001:db8:85a3:8d4::$o/64" dev bvx-gn nodad
	fi
	for d in bvx-vx bvx-vx6 bvx-gn; do
		[ "$d" = bvx-gn ] && [ "$GENEVE" = 0 ] && continue
		ip netns exec "$ns" ethtool -K "$d" tx off >/dev/null || fail "ethtool -K $d in $ns"
		ip -n "$ns" link set "$d" up
	done
}
tunnels "$NA" 1 2 57 bvx-va
tunnels "$NB" 2 1 10 bvx-vb
NTUN=$((2 + GENEVE))
printf '[mirror]\nvxlan_ports = 4789, 8472\n' >"$TMP/bv.conf"

# ---- traffic ------------------------------------------------------------
ip netns exec "$NB" tcpdump -i bvx-vb --immediate-mode -U -n -w "$TMP/under.pcap" 'udp port 4789 or udp port 8472 or udp port 6081' \
	>"$TMP/tcpdump.log" 2>&1 &
PIDS+=($!)
wait_for "$TMP/tcpdump.log" "listening on"
ip netns exec "$NB" "$BVNET" serve 203.0.113.10 80 "$TMP/sink4.txt" >"$TMP/sink4.log" 2>&1 &
PIDS+=($!)
ip netns exec "$NB" "$BVNET" serve 2001:db8:85a3:8d3::10 80 "$TMP/sink6.txt" >"$TMP/sink6.log" 2>&1 &
PIDS+=($!)
wait_for "$TMP/sink4.log" listening
wait_for "$TMP/sink6.log" listening
if [ "$GENEVE" = 1 ]; then
	ip netns exec "$NB" "$BVNET" serve 2001:db8:85a3:8d4::10 80 "$TMP/sinkg.txt" >"$TMP/sinkg.log" 2>&1 &
	PIDS+=($!)
	wait_for "$TMP/sinkg.log" listening
fi

beacon() { # CLIENT HOST
	printf 'POST /rb_1 HTTP/1.1\r\nHost: %s\r\nUser-Agent: encap-test\r\nX-Forwarded-For: %s\r\nContent-Length: 0\r\n\r\n' \
		"$2" "$1"
}
beacon 203.0.113.57 rum.example.com >"$TMP/beacon4.http"
beacon 2001:db8:85a3:8d3::57 rum.example.com >"$TMP/beacon6.http"
r=$(A timeout 20 "$BVNET" send 203.0.113.10 80 "$TMP/beacon4.http" 5000) || fail "send over VXLAN: $r"
[ "$r" = response ] || fail "the beacon over VXLAN got '$r', not a response"
r=$(A timeout 20 "$BVNET" send 2001:db8:85a3:8d3::10 80 "$TMP/beacon6.http" 5000) || fail "send over VXLAN/IPv6: $r"
[ "$r" = response ] || fail "the beacon over VXLAN/IPv6 got '$r', not a response"
grep -q "X-Forwarded-For: 203.0.113.57" "$TMP/sink4.txt" || fail "the IPv4 sink did not get the beacon"
grep -q "X-Forwarded-For: 2001:db8:85a3:8d3::57" "$TMP/sink6.txt" || fail "the IPv6 sink did not get the beacon"
if [ "$GENEVE" = 1 ]; then
	beacon 2001:db8:85a3:8d4::57 rum.example.com >"$TMP/beacong.http"
	r=$(A timeout 20 "$BVNET" send 2001:db8:85a3:8d4::10 80 "$TMP/beacong.http" 5000) || fail "send over GENEVE: $r"
	[ "$r" = response ] || fail "the beacon over GENEVE got '$r', not a response"
	grep -q "X-Forwarded-For: 2001:db8:85a3:8d4::57" "$TMP/sinkg.txt" ||
		fail "the GENEVE sink did not get the beacon"
fi
sleep 1
kill -TERM "${PIDS[0]}" # a background job ignores SIGINT
wait "${PIDS[0]}" 2>/dev/null
ok "$NTUN beacons answered through VXLAN/IPv4, VXLAN/IPv6$([ "$GENEVE" = 1 ] && echo " and GENEVE/IPv6")"

# ---- tshark helpers -----------------------------------------------------
ts() { # FILE ARGS...: tshark with checksum validation, fields tab-separated
	local f=$1
	shift
	tshark -n -r "$f" -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE \
		-o udp.check_checksum:TRUE "$@" 2>"$TMP/tshark.err" || {
		cat "$TMP/tshark.err" >&2
		fail "tshark -r $f $* failed"
	}
}
# Frames with a bad (or, over IPv6, illegal zero) checksum, anywhere.
bad_csums() {
	ts "$1" -Y 'ip.checksum.status == 0 || tcp.checksum.status == 0 || udp.checksum.status == 0 || udp.checksum.status == 4 || _ws.expert.message contains "hecksum"' \
		-T fields -e frame.number | wc -l
}
val() { # SUMMARY NAME
	awk -v k="$2" '$1 == k { print $2; f = 1 } END { if (!f) exit 1 }' "$1" ||
		fail "no '$2' in $1"
}

# ---- the input is what it should be -------------------------------------
in_frames=$(ts "$TMP/under.pcap" -T fields -e frame.number | wc -l)
[ "$in_frames" -ge 10 ] || fail "only $in_frames frames captured"
[ "$(bad_csums "$TMP/under.pcap")" -eq 0 ] || fail "the capture itself has bad checksums"
ts "$TMP/under.pcap" -Y 'vxlan && http.x_forwarded_for == "203.0.113.57"' -T fields -e frame.number |
	grep -q . || fail "no VXLAN frame with the unmasked beacon in the capture"
# tshark knows VXLAN on 4789 only: 8472 is decoded as VXLAN on request
DEC=(-d udp.port==8472,vxlan)
ts "$TMP/under.pcap" "${DEC[@]}" -Y 'vxlan && ipv6 && http.x_forwarded_for == "2001:db8:85a3:8d3::57"' \
	-T fields -e frame.number | grep -q . || fail "no VXLAN/IPv6 frame with the unmasked beacon in the capture"
if [ "$GENEVE" = 1 ]; then
	ts "$TMP/under.pcap" -Y 'geneve && http.x_forwarded_for == "2001:db8:85a3:8d4::57"' -T fields -e frame.number |
		grep -q . || fail "no GENEVE frame with the unmasked beacon in the capture"
fi
ts "$TMP/under.pcap" -Y 'vxlan && udp.checksum != 0' -T fields -e frame.number | grep -q . ||
	fail "the VXLAN frames have no outer UDP checksum (udpcsum)"
# ARP inside a tunnel is dropped (docs/MASKING.md): the overlay's own
n_arp=$(ts "$TMP/under.pcap" "${DEC[@]}" -Y arp -T fields -e frame.number | wc -l)
ok "capture: $in_frames tunnel frames ($n_arp of them ARP), beacons unmasked inside, checksums valid"

# ---- beaconveil pcap ----------------------------------------------------
"$BV" pcap -c "$TMP/bv.conf" "$TMP/under.pcap" "$TMP/out.pcap" >"$TMP/summary" 2>"$TMP/pcap.log" ||
	fail "beaconveil pcap failed: $(cat "$TMP/pcap.log")"
"$BV" pcap -c "$TMP/bv.conf" --mode mirror "$TMP/under.pcap" "$TMP/out-mirror.pcap" >"$TMP/summary-mirror" 2>>"$TMP/pcap.log" ||
	fail "beaconveil pcap --mode mirror failed: $(cat "$TMP/pcap.log")"
cmp -s "$TMP/out.pcap" "$TMP/out-mirror.pcap" || fail "pcap and mirror mode wrote different frames"
S=$TMP/summary
[ "$(val "$S" encap_vxlan)" -ge 8 ] || fail "encap_vxlan $(val "$S" encap_vxlan)"
[ "$(val "$S" encap_geneve)" -ge $((4 * GENEVE)) ] || fail "encap_geneve $(val "$S" encap_geneve)"
[ "$(val "$S" encap_malformed)" -eq 0 ] || fail "encap_malformed $(val "$S" encap_malformed)"
[ "$(val "$S" encap_unsupported)" -eq "$n_arp" ] ||
	fail "encap_unsupported $(val "$S" encap_unsupported), want $n_arp (the ARP frames)"
[ "$(val "$S" requests)" -eq "$NTUN" ] || fail "requests $(val "$S" requests), want $NTUN"
# no identifier in them: "pass", the addresses masked all the same
[ $(($(val "$S" pass) + $(val "$S" anonymized))) -eq "$NTUN" ] ||
	fail "decisions: $(grep -E '^(pass|anonymized|dropped|malformed)' "$S" | tr '\n' ' '), want $NTUN kept"
[ "$(val "$S" packets_written)" -eq $((in_frames - n_arp)) ] ||
	fail "$(val "$S" packets_written) of $in_frames frames written, want all but the $n_arp ARP"
ok "pcap: $(val "$S" encap_vxlan) VXLAN and $(val "$S" encap_geneve) GENEVE frames decapsulated, $NTUN beacons decided, every other frame kept; mirror mode the same"

# ---- the output -----------------------------------------------------------
# check_out OUT NREQ MIN_UDP6 WHAT: checksums, addresses, beacons of OUT
check_out() {
	local O=$1 nreq=$2 min6=$3 what=$4 good_udp6 good_tcp addrs a s4 s6 xff
	[ "$(bad_csums "$O")" -eq 0 ] || {
		ts "$O" "${DEC[@]}" -Y 'ip.checksum.status == 0 || tcp.checksum.status == 0 || udp.checksum.status == 0 || udp.checksum.status == 4' \
			-T fields -e frame.number -e ip.checksum.status -e tcp.checksum.status -e udp.checksum.status >&2
		fail "$what: bad checksums in the output"
	}
	good_udp6=$(ts "$O" "${DEC[@]}" -Y 'ipv6 && udp.checksum.status == 1' -T fields -e frame.number | wc -l)
	[ "$good_udp6" -ge "$min6" ] || fail "$what: only $good_udp6 frames over IPv6 with a verified outer UDP checksum"
	good_tcp=$(ts "$O" "${DEC[@]}" -Y 'tcp.checksum.status == 1' -T fields -e frame.number | wc -l)
	[ "$good_tcp" -ge $((4 * nreq)) ] || fail "$what: only $good_tcp frames with a verified inner TCP checksum"
	ts "$O" -Y 'vxlan && udp.checksum != 0' -T fields -e frame.number | grep -q . &&
		fail "$what: a VXLAN/IPv4 outer UDP checksum is not zero (documented: zeroed)"
	ok "$what: checksums: none bad; $good_udp6 outer UDP over IPv6 and $good_tcp inner TCP verified good"

	# every IP header, outer and inner, every frame
	addrs=$(ts "$O" "${DEC[@]}" -T fields -E separator=, -e ip.src -e ip.dst -e ipv6.src -e ipv6.dst |
		tr ',\t' '\n\n' | sort -u)
	for a in 203.0.113.57 2001:db8:85a3:8d3::57 2001:db8:85a3:8d4::57 198.18.100.1 198.18.100.2 \
		2001:db8:100::1 2001:db8:100::2; do
		grep -qxF "$a" <<<"$addrs" && fail "$what: address $a unmasked in an IP header of the output"
	done
	for a in 2001:db8:85a3:: 2001:db8:100::; do
		grep -qxF "$a" <<<"$addrs" || fail "$what: no $a in the output's IP headers: $(echo $addrs)"
	done
	ok "$what: IP headers: outer and inner addresses masked ($(echo $addrs))"

	# the beacons: inner source and X-Forwarded-For masked
	ts "$O" "${DEC[@]}" -Y 'http.request' -T fields -E occurrence=l -E 'separator=|' \
		-e ip.src -e ipv6.src -e http.x_forwarded_for >"$TMP/req.txt"
	[ "$(wc -l <"$TMP/req.txt")" -eq "$nreq" ] ||
		fail "$what: $(wc -l <"$TMP/req.txt") requests in the output, want $nreq"
	while IFS='|' read -r s4 s6 xff; do
		xff=${xff// /}
		if [ -n "$s4" ]; then
			[ "$s4" = 203.0.113.0 ] || fail "$what: inner ip.src $s4"
			[ "$xff" = 203.0.113.0 ] || fail "$what: inner X-Forwarded-For '$xff' over IPv4"
		else
			[ "$s6" = 2001:db8:85a3:: ] || fail "$what: inner ipv6.src $s6"
			# the masker keeps the text's length: zero groups, "::" where it was
			[[ $xff =~ ^2001:0*db8:0*85a3[:0]*$ ]] ||
				fail "$what: inner X-Forwarded-For '$xff' over IPv6 not masked to /48"
		fi
	done <"$TMP/req.txt"
	ok "$what: beacons: inner source and X-Forwarded-For masked ($(tr '|\n' ' ;' <"$TMP/req.txt"))"
}
check_out "$TMP/out.pcap" "$NTUN" $((4 * (NTUN - 1))) "kernel tunnels"
grep -qxF 203.0.113.0 <<<"$(ts "$TMP/out.pcap" -T fields -e ip.src | tr ',' '\n')" ||
	fail "no masked inner IPv4 client in the output"

# ---- GENEVE with options, around the inner frames of the VXLAN/IPv6 tunnel
n=$("$REGENEVE" "$TMP/under.pcap" "$TMP/geneve.pcap" 8472 12) || fail "regeneve failed"
[ "$n" -ge 8 ] || fail "regeneve wrote $n frames"
ts "$TMP/geneve.pcap" -Y 'geneve && geneve.options && http.x_forwarded_for == "2001:db8:85a3:8d3::57"' \
	-T fields -e frame.number | grep -q . || fail "no GENEVE frame with options and the unmasked beacon"
"$BV" pcap "$TMP/geneve.pcap" "$TMP/out-geneve.pcap" >"$TMP/summary-geneve" 2>>"$TMP/pcap.log" ||
	fail "beaconveil pcap on GENEVE failed: $(cat "$TMP/pcap.log")"
S=$TMP/summary-geneve
[ "$(val "$S" encap_geneve)" -eq "$n" ] || fail "GENEVE: encap_geneve $(val "$S" encap_geneve) of $n"
[ "$(val "$S" packets_written)" -eq "$n" ] || fail "GENEVE: $(val "$S" packets_written) of $n frames written"
[ "$(val "$S" requests)" -eq 1 ] || fail "GENEVE: requests $(val "$S" requests), want 1"
cmp -s <(ts "$TMP/geneve.pcap" -T fields -e geneve.option.length -e geneve.vni) \
	<(ts "$TMP/out-geneve.pcap" -T fields -e geneve.option.length -e geneve.vni) ||
	fail "GENEVE options or VNI changed"
check_out "$TMP/out-geneve.pcap" 1 "$n" "GENEVE (12 bytes of options) over IPv6"
exit 0
