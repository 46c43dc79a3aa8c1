#!/usr/bin/env bash
# Short fuzzing run, part of `make check` (docs/SECURITY.md, mk/fuzz.mk):
#
#  1. replays every regression input under tests/fuzz/crashes/{packet,config}
#     (each one a bug the fuzzers found; a replay fails until it is fixed);
#  2. fuzzes the real XDP program (fuzz_packet, BPF_PROG_TEST_RUN) from the
#     seed corpus for FUZZ_SHORT_RUNS executions (default 220000), at most
#     FUZZ_SHORT_SECONDS (default 150); fails below 200000 executions;
#  3. fuzzes the config parser (fuzz_config) for FUZZ_SHORT_CONFIG_SECONDS
#     (default 25).
#
# Fails on any crash, sanitizer report or invariant violation; prints the
# execution counts. New crash inputs are kept in $BUILD/fuzz/artifacts/short/
# (add them to tests/fuzz/crashes/ once understood). Bug classes listed in
# tests/fuzz/known-bugs are replayed in step 1 but skipped while fuzzing in
# step 2 (FUZZ_IGNORE_KNOWN=1: not skipped). FUZZ_SEED (default 1) makes
# the run repeatable. Needs root (BPF_PROG_TEST_RUN).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
RUNS=${FUZZ_SHORT_RUNS:-220000}
MIN_RUNS=200000
SECONDS_PACKET=${FUZZ_SHORT_SECONDS:-150}
SECONDS_CONFIG=${FUZZ_SHORT_CONFIG_SECONDS:-25}
SEED=${FUZZ_SEED:-1}

if [ "$(id -u)" -ne 0 ]; then
	echo "fuzz_short.sh: needs root (BPF_PROG_TEST_RUN)" >&2
	exit 77
fi

# Built here, not by `make all`: only this test needs clang's libFuzzer.
if ! env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -s -j2 BUILD="$BUILD" fuzz-bins >/dev/null; then
	echo "fuzz_short.sh: building the fuzzers failed (make fuzz-bins)" >&2
	exit 1
fi

work=$(mktemp -d /tmp/bv-fuzz-short.XXXXXX) || exit 1
trap 'rm -rf "$work"' EXIT
keep="$BUILD/fuzz/artifacts/short"
mkdir -p "$work/art" "$work/corpus-packet" "$work/corpus-config" "$keep"
"$BUILD/fuzz/fz_seeds" "$work/seeds-packet" >/dev/null || exit 1

failed=0
violation() { # log file: the lines that say what went wrong
	grep -a -m3 -E "INVARIANT VIOLATED|  at: |ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error" "$1" |
		cut -c1-400 | sed 's/^/    /'
}

# ---- 1. regression inputs, replayed first
nreg=0
shopt -s nullglob
for kind in packet config; do
	for f in tests/fuzz/crashes/$kind/*; do
		case $f in *.md) continue ;; esac
		nreg=$((nreg + 1))
		if "$BUILD/fuzz/fuzz_$kind" "$f" >"$work/replay.log" 2>&1; then
			echo "regression $f: ok"
		else
			echo "regression $f: FAIL"
			violation "$work/replay.log"
			failed=1
		fi
	done
done
shopt -u nullglob
echo "replayed $nreg regression inputs"

# ---- 2. the XDP program
known=
if [ "${FUZZ_IGNORE_KNOWN:-0}" != 1 ] && [ -f tests/fuzz/known-bugs ]; then
	known=$(sed 's/#.*//' tests/fuzz/known-bugs | awk 'NF { print $1 }' | paste -sd, -)
fi
[ -n "$known" ] && echo "fuzzing past known bug classes (tests/fuzz/known-bugs): $known"
corp=("$work/corpus-packet" "$work/seeds-packet")
[ -d tests/fuzz/corpus/packet ] && corp+=(tests/fuzz/corpus/packet)
BV_FUZZ_KNOWN="$known" BV_FUZZ_HISTORY_DIR="$work/art" \
	"$BUILD/fuzz/fuzz_packet" -seed="$SEED" -max_len=4096 -dict=tests/fuzz/packet.dict \
	-runs="$RUNS" -max_total_time="$SECONDS_PACKET" -timeout=20 -print_final_stats=1 \
	-artifact_prefix="$work/art/" "${corp[@]}" >"$work/packet.log" 2>&1
rc=$?
execs=$(grep -a 'stat::number_of_executed_units' "$work/packet.log" | awk '{ print $2 }')
execs=${execs:-0}
grep -a 'beaconveil-fuzz summary' "$work/packet.log"
echo "packet fuzzer: $execs executions (need >= $MIN_RUNS), exit $rc"
if [ $rc -ne 0 ]; then
	echo "packet fuzzer: FAILED"
	violation "$work/packet.log"
	failed=1
elif [ "$execs" -lt $MIN_RUNS ]; then
	echo "packet fuzzer: FAILED: only $execs executions in ${SECONDS_PACKET}s"
	failed=1
fi

# ---- 3. the config parser
"$BUILD/fuzz/fuzz_config" -seed="$SEED" -max_len=16384 -dict=tests/fuzz/config.dict \
	-max_total_time="$SECONDS_CONFIG" -timeout=20 -print_final_stats=1 \
	-artifact_prefix="$work/art/" "$work/corpus-config" tests/fuzz/corpus/config \
	>"$work/config.log" 2>&1
rc=$?
cexecs=$(grep -a 'stat::number_of_executed_units' "$work/config.log" | awk '{ print $2 }')
grep -a 'beaconveil-fuzz-config summary' "$work/config.log"
echo "config fuzzer: ${cexecs:-0} executions, exit $rc"
if [ $rc -ne 0 ]; then
	echo "config fuzzer: FAILED"
	violation "$work/config.log"
	failed=1
fi

if [ -n "$(ls -A "$work/art")" ]; then
	cp "$work"/art/* "$keep"/
	echo "crash inputs kept in $keep/:"
	ls "$work/art" | sed 's/^/    /'
fi
[ $failed -eq 0 ] && echo "fuzz_short: all passed"
exit $failed
