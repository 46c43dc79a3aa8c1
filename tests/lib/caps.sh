# shellcheck shell=bash
# Starting a command as root with exactly a given set of capabilities, as
# systemd's CapabilityBoundingSet= and a container's capabilities (drop
# ALL, add ...) do: for root, the bounding set after exec is the whole
# capability set. Sourced after tests/lib/netns.sh (BV_PIDS, bv_log).

# bv_capset "CAP_A B ..." -> "-all,+cap_a,+b" (setpriv's syntax; it rejects
# an unknown name, so a typo in a unit or manifest fails the test).
bv_capset() {
	local c out=-all
	for c in $1; do
		c=${c#CAP_}
		out+=",+${c,,}"
	done
	echo "$out"
}

# bv_caps_start LOG "CAPS" NNP CMD... — CMD in the background with those
# capabilities, no_new_privs when NNP is 1, output to LOG; its pid in
# BV_DPID (killed by the netns.sh cleanup).
bv_caps_start() {
	local log=$1 caps=$2 nnp=$3 opts=()
	shift 3
	[ "$nnp" = 1 ] && opts+=(--no-new-privs)
	setpriv "${opts[@]}" --inh-caps=-all --bounding-set="$(bv_capset "$caps")" -- "$@" >"$log" 2>&1 &
	BV_DPID=$!
	BV_PIDS+=("$BV_DPID")
}
