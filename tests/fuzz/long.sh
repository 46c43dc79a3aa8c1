#!/usr/bin/env bash
# `make fuzz`: both fuzzers in parallel (one core each) for FUZZ_SECONDS
# (default 300). Corpora persist in $BUILD/fuzz/corpus/{packet,config}
# (seeded from fz_seeds and tests/fuzz/corpus/), crash inputs and carried-
# state histories go to $BUILD/fuzz/artifacts/. Known bug classes
# (tests/fuzz/known-bugs) are skipped unless FUZZ_IGNORE_KNOWN=1. Extra
# libFuzzer flags: FUZZ_FLAGS. Needs root.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
FUZZ_SECONDS=${FUZZ_SECONDS:-300}
F="$BUILD/fuzz"

if [ "$(id -u)" -ne 0 ]; then
	echo "make fuzz: needs root (BPF_PROG_TEST_RUN)" >&2
	exit 1
fi
mkdir -p "$F/corpus/packet" "$F/corpus/config" "$F/artifacts"
rm -rf "$F/seeds"
"$F/fz_seeds" "$F/seeds" >/dev/null || exit 1
known=
if [ "${FUZZ_IGNORE_KNOWN:-0}" != 1 ] && [ -f tests/fuzz/known-bugs ]; then
	known=$(sed 's/#.*//' tests/fuzz/known-bugs | awk 'NF { print $1 }' | paste -sd, -)
fi
[ -n "$known" ] && echo "skipping known bug classes: $known"

extra=()
[ -d tests/fuzz/corpus/packet ] && extra+=(tests/fuzz/corpus/packet)
BV_FUZZ_KNOWN="$known" BV_FUZZ_HISTORY_DIR="$F/artifacts" \
	"$F/fuzz_packet" -max_len=4096 -dict=tests/fuzz/packet.dict -timeout=20 \
	-max_total_time="$FUZZ_SECONDS" -print_final_stats=1 -artifact_prefix="$F/artifacts/" \
	${FUZZ_FLAGS:-} "$F/corpus/packet" "$F/seeds" "${extra[@]}" >"$F/packet.log" 2>&1 &
p1=$!
"$F/fuzz_config" -max_len=16384 -dict=tests/fuzz/config.dict -timeout=20 \
	-max_total_time="$FUZZ_SECONDS" -print_final_stats=1 -artifact_prefix="$F/artifacts/" \
	${FUZZ_FLAGS:-} "$F/corpus/config" tests/fuzz/corpus/config >"$F/config.log" 2>&1 &
p2=$!
echo "fuzzing for ${FUZZ_SECONDS}s (logs: $F/packet.log, $F/config.log)"
wait $p1
r1=$?
wait $p2
r2=$?
for k in packet config; do
	echo "$k: $(grep -a 'stat::number_of_executed_units' "$F/$k.log" | awk '{ print $2 }') executions"
	grep -a -E 'beaconveil-fuzz(-config)? summary' "$F/$k.log"
	grep -a -m3 -E "INVARIANT VIOLATED|  at: |ERROR: |runtime error|Test unit written" "$F/$k.log"
done
[ $r1 -eq 0 ] && [ $r2 -eq 0 ]
