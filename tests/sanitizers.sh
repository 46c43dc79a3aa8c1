#!/usr/bin/env bash
# Userspace under AddressSanitizer and UndefinedBehaviorSanitizer, part of
# `make check`: user/*.c, tests/harness.c, tests/pktbuild.c and the cmocka
# tests test_config, test_textmask and test_pktbuild, built by
# `make asan-bins` into $BUILD/asan (its own objects and skeleton copy) with
# -fsanitize=address,undefined -fno-sanitize-recover=all, then run. Any
# sanitizer report (leaks included) fails the test. Needs root (the tests
# load BPF).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}

if [ "$(id -u)" -ne 0 ]; then
	echo "sanitizers.sh: needs root (the tests load BPF programs)" >&2
	exit 77
fi
if ! env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -s -j2 BUILD="$BUILD" asan-bins >/dev/null; then
	echo "sanitizers.sh: building the sanitizer binaries failed (make asan-bins)" >&2
	exit 1
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:detect_stack_use_after_return=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
log=$(mktemp /tmp/bv-sanitizers.XXXXXX) || exit 1
trap 'rm -f "$log"' EXIT

failed=0
for t in test_config test_textmask test_pktbuild; do
	bin="$BUILD/asan/tests/$t"
	start=$(date +%s)
	"$bin" >"$log" 2>&1
	rc=$?
	secs=$(($(date +%s) - start))
	if [ $rc -eq 0 ] && ! grep -a -q -E "runtime error|ERROR: (Address|Leak)Sanitizer" "$log"; then
		echo "$t (asan+ubsan): ok (${secs}s)"
	else
		echo "$t (asan+ubsan): FAIL (exit $rc)"
		grep -a -m1 -A12 -E "runtime error|ERROR: (Address|Leak)Sanitizer" "$log" | sed 's/^/    /'
		grep -a -E "^\[  (FAILED|ERROR)" "$log" | sed 's/^/    /'
		failed=1
	fi
done
exit $failed
