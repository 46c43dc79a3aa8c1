#!/usr/bin/env bash
# Runs every test: the cmocka programs $BUILD/tests/test_* and the scripts
# tests/*.sh, each with a time limit, showing their output. The last line is
# "N passed, N failed", counting test programs and scripts (one each, not
# cmocka's individual cases). Exit 1 if any failed.
#
# Exit 77 from a test means "skipped" (automake convention): reported, not
# counted, unless CI=true, where nothing may be skipped and it counts as
# failed.
#
# Environment: BUILD (default build), TEST_TIMEOUT seconds per test
# (default 600), CI. Needs root (BPF_PROG_TEST_RUN, XDP, netns).
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
TEST_TIMEOUT=${TEST_TIMEOUT:-600}
CI=${CI:-}
export BUILD CI

if [ "$(id -u)" -ne 0 ]; then
	echo "run-tests.sh: must run as root: the tests load BPF programs (CAP_BPF, CAP_NET_ADMIN) and build network namespaces; run: sudo make check" >&2
	exit 1
fi

# bpffs: not mounted at boot here; the daemon and some tests pin under it.
if [ "$(stat -f -c %T /sys/fs/bpf 2>/dev/null)" != "bpf_fs" ]; then
	mkdir -p /sys/fs/bpf
	if ! mount -t bpf bpf /sys/fs/bpf; then
		echo "run-tests.sh: cannot mount bpffs at /sys/fs/bpf" >&2
		exit 1
	fi
fi

tests=()
for t in "$BUILD"/tests/test_*; do
	[ -f "$t" ] && [ -x "$t" ] && tests+=("$t")
done
for t in tests/*.sh; do
	[ -f "$t" ] && tests+=("$t")
done
if [ ${#tests[@]} -eq 0 ]; then
	echo "run-tests.sh: no tests found in $BUILD/tests or tests/*.sh (run make first)" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

cur=
trap 'if [ -n "$cur" ]; then kill -TERM "$cur" 2>/dev/null; wait "$cur"; fi
      echo "run-tests.sh: interrupted" >&2; exit 130' INT TERM

passed=0
failed=0
failed_names=()
skipped_names=()
for t in "${tests[@]}"; do
	name=${t#./}
	echo "=== $name"
	start=$(date +%s)
	# In the background so that an interrupt can stop it: timeout runs
	# the test in its own process group, which a terminal's ^C misses.
	if [[ $t == *.sh ]]; then
		timeout -k 10 "$TEST_TIMEOUT" bash "$t" &
	else
		timeout -k 10 "$TEST_TIMEOUT" "$t" &
	fi
	cur=$!
	wait "$cur"
	rc=$?
	cur=
	secs=$(($(date +%s) - start))
	case $rc in
	0)
		echo "=== $name: PASS (${secs}s)"
		passed=$((passed + 1))
		;;
	77)
		if [ "$CI" = "true" ]; then
			echo "=== $name: FAIL (skipped, and CI=true allows no skips)"
			failed=$((failed + 1))
			failed_names+=("$name (skipped under CI)")
		else
			echo "=== $name: SKIP"
			skipped_names+=("$name")
		fi
		;;
	124 | 137)
		echo "=== $name: FAIL (timed out after ${TEST_TIMEOUT}s$([ $rc = 137 ] && echo ', then killed'))"
		failed=$((failed + 1))
		failed_names+=("$name (timeout)")
		;;
	*)
		echo "=== $name: FAIL (exit $rc, ${secs}s)"
		failed=$((failed + 1))
		failed_names+=("$name (exit $rc)")
		;;
	esac
	echo
done

[ ${#skipped_names[@]} -gt 0 ] && echo "skipped (not counted): ${skipped_names[*]}"
[ ${#failed_names[@]} -gt 0 ] && echo "failed: ${failed_names[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
