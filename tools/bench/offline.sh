#!/usr/bin/env bash
# The offline part of `make bench`: `beaconveil pcap` against tcprewrite
# (tcpreplay's rewriter, the peer for rewriting addresses in a capture) on
# the same capture, whole process, REPS runs each, alternating. Prints
# "key value" lines for bench.sh: per tool the median wall, user and system
# seconds, and the packets written.
#
#   tools/bench/offline.sh PCAP [REPS]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
PCAP=$1
REPS=${2:-5}
# Both tools write their ~200 MB of output to tmpfs when there is one: on
# disk, the writeback of earlier runs' output stalls whichever run comes
# next, and beaconveil's fsync of OUT before the rename (tcprewrite does
# none) would be timed as disk speed. The input is read from the page cache
# either way (each run reads it again).
SHM=/dev/shm
if [ -d "$SHM" ] && [ -w "$SHM" ] &&
	[ "$(df -Pk "$SHM" | awk 'NR == 2 { print $4 }')" -gt $((4 * $(stat -c %s "$PCAP") / 1024 + 65536)) ]; then
	TMP=$(mktemp -d "$SHM/bvbench-off.XXXXXX")
else
	TMP=$(mktemp -d /tmp/bvbench-off.XXXXXX)
fi
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

# The peer's comparable job: rewrite every client address of the capture
# into one /24 (198.18.0.0/15 -> 198.18.0.0/24, keeping the host bits) and
# fix the checksums. beaconveil does more per packet (HTTP scan, masking in
# headers, pseudonyms, policy), and masks to /24 by zeroing the host part.
PNAT='198.18.0.0/15:198.18.0.0/24,[2001:db8::]/32:[2001:db8::]/48'
run_bv() { "$BUILD/beaconveil" pcap -q "$PCAP" "$TMP/bv.pcap"; }
run_rw() { tcprewrite --pnat="$PNAT" --fixcsum -i "$PCAP" -o "$TMP/rw.pcap"; }

TIMEFORMAT='%R %U %S'
: >"$TMP/bv.t"
: >"$TMP/rw.t"
for _ in $(seq "$REPS"); do
	{ time run_bv >/dev/null 2>"$TMP/bv.err"; } 2>>"$TMP/bv.t" || { cat "$TMP/bv.err" >&2; exit 1; }
	{ time run_rw >/dev/null 2>"$TMP/rw.err"; } 2>>"$TMP/rw.t" || { cat "$TMP/rw.err" >&2; exit 1; }
done

# fixed cost of a run (loading and verifying the program, writing the maps):
# the same command on the capture's first packet alone
editcap -r "$PCAP" "$TMP/one.pcap" 1 >/dev/null
: >"$TMP/one.t"
for _ in $(seq "$REPS"); do
	{ time "$BUILD/beaconveil" pcap -q "$TMP/one.pcap" "$TMP/one.out.pcap" >/dev/null 2>&1; } 2>>"$TMP/one.t"
done

med() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# capinfos comes with tshark (tools/deps/base.list)
count() { capinfos -c -M "$1" | sed -n 's/^Number of packets: *//p'; }
for t in bv rw; do
	echo "$t.wall $(cut -d' ' -f1 "$TMP/$t.t" | med)"
	echo "$t.user $(cut -d' ' -f2 "$TMP/$t.t" | med)"
	echo "$t.sys $(cut -d' ' -f3 "$TMP/$t.t" | med)"
	echo "$t.cpu $(awk '{ print $2 + $3 }' "$TMP/$t.t" | med)"
	echo "$t.walls $(cut -d' ' -f1 "$TMP/$t.t" | tr '\n' ' ')"
done
echo "bv.startup_wall $(cut -d' ' -f1 "$TMP/one.t" | med)"
echo "bv.written $("$BUILD/beaconveil" pcap "$PCAP" "$TMP/bv.pcap" | sed -n 's/^packets_written //p')"
echo "rw.written $(count "$TMP/rw.pcap")"
echo "packets $(count "$PCAP")"
case $TMP in "$SHM"/*) echo "out tmpfs" ;; *) echo "out disk" ;; esac
