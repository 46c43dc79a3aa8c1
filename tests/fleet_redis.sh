#!/usr/bin/env bash
# Fleet analytics on one machine: a real redis-server (no persistence) and
# three daemons, each alone on its "host" (a mount namespace of its own with
# its own bpffs and /run, kept across the daemon's restarts), on three veth
# interfaces. One visitor population, 3000 distinct rxVisitor ids, each
# sending beacons to 1-3 of the nodes at random (a load balancer without
# stickiness), from a client namespace with curl.
#
# Asserts: the fleet's unique visitors (PFCOUNT) are within 3 standard errors
# (0.81 % each) of the truth while the per-node estimates add up to far more;
# fleet sessions and new visitors are counted once; a node stopped with
# SIGTERM and started again keeps the fleet's key (visitors it had seen add
# nothing) and one killed with SIGKILL shares the beacons that waited in the
# ring meanwhile; a Redis restart loses no visitor (the nodes merge their
# copies back and put the key back; the session gap is marked); every key
# expires as documented (session keys after session_timeout, visitor keys
# after visitor_lifetime, the rest 48 h after the day began); and nothing but
# hashes is in Redis (every key and value read: no address, visitor id,
# cookie value or application id). Prints the figures.
set -uo pipefail
. "$(dirname "$0")/lib/netns.sh"
bv_isolate "$@"

for c in redis-server redis-cli curl; do
	command -v "$c" >/dev/null || bv_fail "$c missing: install tools/deps/fleet.list (tools/deps.sh)"
done

SOCK=$BV_TMP/redis.sock
RCLI=(redis-cli -s "$SOCK")
N=3000          # visitors
SE=0.0081       # standard error of Redis' HyperLogLog

bv_netns bvfc
for i in 1 2 3; do
	bv_veth "bvF$i" "bvG$i" bvfc "198.18.$i.1" "198.18.$i.2"
done
bv_server - 0.0.0.0 18080 "$BV_TMP/rx.txt"

redis_start() {
	redis-server --port 0 --unixsocket "$SOCK" --unixsocketperm 700 --save '' --appendonly no \
		--dir "$BV_TMP" --logfile "$BV_TMP/redis.log" &
	REDIS_PID=$!
	BV_PIDS+=("$REDIS_PID")
	bv_until 10 "${RCLI[@]}" ping >/dev/null 2>&1 || bv_fail "redis-server did not start"
}
redis_start
# The day's key is the fleet's first SET NX: set it here, so that the
# estimates below are the same every run (a random key moves them by an
# SE or two, and a 3-SE check would fail now and then by chance). The
# daemons' own SET NX then finds it, as a second node's does; creating it
# is tested in test_fleet, and the Redis restart below puts it back.
"${RCLI[@]}" SET "beaconveil:key:$(date -u +%Y%m%d)" 5e1f0b7d2c4a69830c0ffee15badcafe \
	PXAT $((($(date -u +%s) / 86400 + 2) * 86400 * 1000)) >/dev/null ||
	bv_fail "cannot set the day's key"

cat >"$BV_TMP/bv.conf" <<EOF
[global]
user_tracking = on
[beacon]
ports = 18080
[daemon]
session_timeout = 20s
[fleet]
redis = unix://$SOCK
visitor_lifetime = 40s
EOF

# A "host" per node: a mount namespace with its own bpffs and /run that
# outlives the daemon, so a restarted daemon finds its pins and locks.
declare -A HOST DPID LOGN
for i in 1 2 3; do
	unshare --mount --propagation private -- sh -c \
		'mount -t bpf bpf /sys/fs/bpf && mount -t tmpfs -o mode=0755 tmpfs /run && exec sleep 100000' &
	HOST[$i]=$!
	BV_PIDS+=("${HOST[$i]}")
	LOGN[$i]=0
done
sleep 0.5
on_host() { local i=$1; shift; nsenter --target "${HOST[$i]}" --mount -- "$@"; }

# start I — `beaconveil run` on bvFI, alone on host I.
start() {
	local i=$1 log
	LOGN[$i]=$((LOGN[$i] + 1))
	log=$BV_TMP/node$i.${LOGN[$i]}.log
	nsenter --target "${HOST[$i]}" --mount -- "$BV" run -i "bvF$i" -c "$BV_TMP/bv.conf" \
		--metrics "127.0.0.1:1948$i" >"$log" 2>&1 &
	DPID[$i]=$!
	BV_PIDS+=("${DPID[$i]}")
	bv_until 20 grep -qs "ready: pid" "$log" || { cat "$log" >&2; bv_fail "node $i did not get ready"; }
}
for i in 1 2 3; do start "$i"; done

# ---- the population ----------------------------------------------------------
RANDOM=4242
declare -A SEEN   # SEEN[i]: nodes visitor i has sent to (bits)
declare -a SENT=(0 0 0 0)
vid() { printf 'RXV%06dFLEETVISITOR' "$1"; }
sid() { printf 'v_4_srv_1_sn_FLEETSESSION%06d' "$1"; }
app() { (($1 % 2)) && echo shopfleet || echo newsfleet; }

# send NODE VISITOR... — one beacon per visitor to NODE, by one curl in the
# background (its pid in SENDERS; wait_senders waits for them).
SENDERS=()
send() {
	local n=$1 v cfg=$BV_TMP/curl.$1.cfg
	shift
	: >"$cfg"
	for v in "$@"; do
		# `next` between requests: one after the last is a request without a URL
		[ -s "$cfg" ] && echo next >>"$cfg"
		printf 'url = "http://198.18.%d.1:18080/rb_bf%d?type=js3&app=%s"\nheader = "Cookie: dtCookie=%s; rxVisitor=%s"\n' \
			"$n" "$v" "$(app "$v")" "$(sid "$v")" "$(vid "$v")" >>"$cfg"
		SEEN[$v]=$((${SEEN[$v]:-0} | (1 << n)))
	done
	SENT[$n]=$((SENT[$n] + $#))
	ip netns exec bvfc curl -s --max-time 60 -K "$cfg" >/dev/null &
	SENDERS+=($!)
}
wait_senders() {
	local p
	for p in "${SENDERS[@]}"; do
		wait "$p" || bv_fail "a curl sender failed"
	done
	SENDERS=()
}

# spread FROM TO [NODE...] — visitors FROM..TO-1, each to 1-3 of the nodes
# (NODE..., default all three), chosen at random.
spread() {
	local from=$1 to=$2 v k j t
	shift 2
	local nodes=("$@")
	[ $# -eq 0 ] && nodes=(1 2 3)
	declare -A L=()
	for ((v = from; v < to; v++)); do
		local p=("${nodes[@]}")
		for ((j = ${#p[@]} - 1; j > 0; j--)); do   # shuffle
			k=$((RANDOM % (j + 1)))
			t=${p[j]}; p[j]=${p[k]}; p[k]=$t
		done
		k=$((1 + RANDOM % ${#p[@]}))
		for ((j = 0; j < k; j++)); do
			L[${p[j]}]+=" $v"
		done
	done
	for j in "${!L[@]}"; do
		# shellcheck disable=SC2086
		send "$j" ${L[$j]}
	done
	wait_senders
}
truth() { echo "${#SEEN[@]}"; }

metrics() { curl -sf "http://127.0.0.1:1948$1/metrics"; }
metric() { metrics "$1" | sed -n "s/^$2 \([0-9.e+]*\)\$/\1/p"; }
caught_up() {
	local i
	for i in 1 2 3; do
		[ "$(metric "$i" beaconveil_events_received_total)" = "${SENT[$i]}" ] || return 1
	done
}
# settle — every node read every beacon, flushed it, and read the figures.
settle() {
	bv_until 30 caught_up || bv_fail "nodes did not read every beacon (sent ${SENT[*]})"
	sleep 2.5
}
TAG=$(date -u +%Y%m%d)
pfcount() { "${RCLI[@]}" PFCOUNT "beaconveil:hll:$TAG"; }
within() { # within EST TRUTH — |EST - TRUTH| <= 3 SE * TRUTH; prints the error in SE
	awk -v e="$1" -v t="$2" -v se="$SE" 'BEGIN { d = (e - t) / (se * t); printf "%+.2f", d; exit !(d <= 3 && d >= -3) }'
}
nodesum() {
	local i s=0 v
	for i in 1 2 3; do
		v=$(metric "$i" beaconveil_visitors_unique_estimate)
		s=$((s + ${v%.*}))
	done
	echo "$s"
}

# ---- 1. one population over three nodes ------------------------------------
spread 1 $((N + 1))
settle
T=$(truth)
F=$(pfcount)
S=$(nodesum)
[ "$T" = "$N" ] || bv_fail "truth $T, expected $N"
E=$(within "$F" "$T") || bv_fail "fleet estimate $F, truth $T: $E standard errors"
[ "$S" -gt $((T * 3 / 2)) ] || bv_fail "the per-node estimates add up to $S, truth $T: no over-count?"
bv_log "truth $T, fleet estimate $F ($E SE), sum of per-node estimates $S (sent ${SENT[1]}+${SENT[2]}+${SENT[3]} beacons)"
for i in 1 2 3; do
	m=$(metric "$i" 'beaconveil_fleet_visitors_unique_estimate{scope="fleet"}')
	[ "$m" = "$F" ] || bv_fail "node $i exports a fleet estimate of $m, Redis says $F"
	[ "$(metric "$i" 'beaconveil_fleet_redis_up{scope="node"}')" = 1 ] || bv_fail "node $i: redis_up not 1"
	[ "$(metric "$i" 'beaconveil_fleet_key_shared{scope="node"}')" = 1 ] || bv_fail "node $i: key not shared"
done
FS=$("${RCLI[@]}" HGET "beaconveil:count:$TAG" sessions_started)
FN=$("${RCLI[@]}" HGET "beaconveil:count:$TAG" visitors_new)
LS=0
for i in 1 2 3; do LS=$((LS + $(metric "$i" beaconveil_sessions_started_total))); done
[ "$FS" = "$N" ] || bv_fail "fleet sessions started $FS, expected $N (one session per visitor)"
[ "$FN" = "$N" ] || bv_fail "fleet new visitors $FN, expected $N"
[ "$(metric 1 'beaconveil_fleet_sessions_started_total{scope="fleet"}')" = "$N" ] || bv_fail "node 1: fleet sessions metric"
bv_ok "fleet sessions started $FS and new visitors $FN (the nodes' own sessions add up to $LS)"
for a in shopfleet newsfleet; do
	m=$(metric 2 "beaconveil_fleet_app_visitors_unique_estimate{app=\"$a\",scope=\"fleet\"}")
	E2=$(within "${m:-0}" $((N / 2))) || bv_fail "app $a: fleet estimate ${m:-none}, truth $((N / 2)): $E2 SE"
done
bv_ok "per-application fleet estimates within 3 SE"
curl -sf http://127.0.0.1:19481/metrics | promtool check metrics || bv_fail "promtool check metrics"
KEY=$("${RCLI[@]}" GET "beaconveil:key:$TAG")
[[ $KEY =~ ^[0-9a-f]{32}$ ]] || bv_fail "fleet key '$KEY'"

# ---- 2. expiries, and nothing but hashes -------------------------------------
# start of today UTC + 48 h, in ms: when the day's keys go
DEATH=$((($(date -u +%s) / 86400 + 2) * 86400 * 1000))
check_keys() {
	local k t now ttl bad=0
	"${RCLI[@]}" --scan >"$BV_TMP/keys"
	[ -s "$BV_TMP/keys" ] || bv_fail "no keys in Redis"
	grep -Evq "^beaconveil:(key|hll|sess|vis|count):$TAG(:[0-9a-f]{16})?\$" "$BV_TMP/keys" &&
		bv_fail "keys not of the documented form: $(grep -Ev "^beaconveil:(key|hll|sess|vis|count):$TAG(:[0-9a-f]{16})?\$" "$BV_TMP/keys" | head -3)"
	now=$(($(date +%s%N) / 1000000))
	sed 's/^/PTTL /' "$BV_TMP/keys" | "${RCLI[@]}" >"$BV_TMP/ttls"
	paste -d' ' "$BV_TMP/keys" "$BV_TMP/ttls" >"$BV_TMP/kt"
	while read -r k ttl; do
		case $k in
		beaconveil:sess:*) [ "$ttl" -gt 0 ] && [ "$ttl" -le 20000 ] || { bv_log "session key $k PTTL $ttl"; bad=1; } ;;
		beaconveil:vis:*) [ "$ttl" -gt 0 ] && [ "$ttl" -le 40000 ] || { bv_log "visitor key $k PTTL $ttl"; bad=1; } ;;
		*) t=$((now + ttl - DEATH)); [ "${t#-}" -le 5000 ] || { bv_log "$k PTTL $ttl: not 48 h after the day began"; bad=1; } ;;
		esac
	done <"$BV_TMP/kt"
	[ "$bad" = 0 ] || bv_fail "expiries not as documented"
}
check_keys
bv_ok "$(wc -l <"$BV_TMP/keys") keys, each expiring as documented"

check_privacy() {
	local k
	: >"$BV_TMP/values"
	grep -E '^beaconveil:(sess|vis|key):' "$BV_TMP/keys" | sed 's/^/GET /' | "${RCLI[@]}" >"$BV_TMP/sv"
	grep -Evq '^(1|[0-9a-f]{32})$' "$BV_TMP/sv" && bv_fail "a session, visitor or key value that is not 1 or a key"
	for k in $(grep -E '^beaconveil:(hll|count):' "$BV_TMP/keys"); do
		case $k in
		beaconveil:hll:*)
			"${RCLI[@]}" --raw GET "$k" >"$BV_TMP/v"
			[ "$(head -c4 "$BV_TMP/v")" = HYLL ] || bv_fail "$k is not a HyperLogLog"
			;;
		*) "${RCLI[@]}" HGETALL "$k" >"$BV_TMP/v"
			grep -Evq '^(sessions_started|visitors_new|visitors_returning|[0-9]+)$' "$BV_TMP/v" &&
				bv_fail "$k holds more than the three counters" ;;
		esac
		cat "$BV_TMP/v" >>"$BV_TMP/values"
	done
	cat "$BV_TMP/keys" "$BV_TMP/sv" >>"$BV_TMP/values"
	for pat in FLEETVISITOR FLEETSESSION RXV0 v_4_srv 198.18. 198.19 shopfleet newsfleet 127.0.0.1; do
		grep -aqF "$pat" "$BV_TMP/values" && bv_fail "'$pat' found in Redis"
	done
}
check_privacy
bv_ok "every key and value read: only hashes, HyperLogLogs, counters and the key"

# ---- 3. restarts of a node ---------------------------------------------------
# SIGTERM + start: the same fleet key, so visitors the node saw add nothing.
bv_stop "${DPID[1]}"
[ "$BV_RC" = 0 ] || bv_fail "node 1 exit $BV_RC on SIGTERM"
start 1
grep -q "hash key rotated\|ready" "$BV_TMP/node1.2.log"
F0=$(pfcount)
old=()
for ((v = 1; v <= 600; v++)); do old+=("$v"); done
send 1 "${old[@]}"
wait_senders
settle
F1=$(pfcount)
[ "$F1" = "$F0" ] || bv_fail "after SIGTERM+start: 600 known visitors moved the fleet estimate $F0 -> $F1 (another key?)"
spread $((N + 1)) $((N + 301)) 1
settle
T=$(truth)
F=$(pfcount)
E=$(within "$F" "$T") || bv_fail "after SIGTERM+start: fleet $F, truth $T: $E SE"
bv_ok "SIGTERM+start of node 1: known visitors add nothing ($F0), 300 new ones: fleet $F, truth $T ($E SE)"

# SIGKILL: the program enforces on and its events wait in the ring, hashed
# with the fleet key; the next daemon shares them.
bv_kill9 "${DPID[2]}"
spread $((N + 301)) $((N + 601)) 2
start 2
grep -q "were hashed with the fleet's key: they are shared" "$BV_TMP/node2.2.log" ||
	bv_fail "node 2 did not share the events that waited in the ring: $(cat "$BV_TMP/node2.2.log")"
settle
T=$(truth)
F=$(pfcount)
E=$(within "$F" "$T") || bv_fail "after SIGKILL+start: fleet $F, truth $T: $E SE"
g=$(metric 2 'beaconveil_fleet_gap_total{what="visitors",scope="node"}')
[ "$g" = 0 ] || bv_fail "node 2: visitor gap $g after SIGKILL+start"
bv_ok "SIGKILL+start of node 2: the 300 visitors that waited in the ring are in: fleet $F, truth $T ($E SE)"

# ---- 4. a restart of Redis -------------------------------------------------
F0=$(pfcount)
g0=$(metric 3 'beaconveil_fleet_gap_total{what="sessions",scope="node"}')
kill -TERM "$REDIS_PID"
bv_reap "$REDIS_PID" 10
bv_until 10 sh -c "curl -sf http://127.0.0.1:19483/metrics | grep -q '^beaconveil_fleet_redis_up{scope=\"node\"} 0'" ||
	bv_fail "node 3 still says redis_up 1 with Redis gone"
spread $((N + 601)) $((N + 901)) 3
bv_until 30 caught_up || bv_fail "nodes did not read every beacon while Redis was down"
g1=$(metric 3 'beaconveil_fleet_gap_total{what="sessions",scope="node"}')
[ $((g1 - g0)) -ge 300 ] || bv_fail "node 3: session gap $g0 -> $g1 for 300 beacons while Redis was down"
redis_start
up() { local i; for i in 1 2 3; do [ "$(metric "$i" 'beaconveil_fleet_redis_up{scope="node"}')" = 1 ] || return 1; done; }
bv_until 20 up || bv_fail "nodes did not reconnect to Redis"
T=$(truth)
bv_until 20 sh -c "[ \"\$(${RCLI[*]} PFCOUNT beaconveil:hll:$TAG)\" -ge $F0 ]" ||
	bv_fail "the fleet estimate did not come back: $(pfcount), before $F0"
sleep 2.5
F=$(pfcount)
E=$(within "$F" "$T") || bv_fail "after the Redis restart: fleet $F, truth $T: $E SE"
[ "$("${RCLI[@]}" GET "beaconveil:key:$TAG")" = "$KEY" ] || bv_fail "the fleet key did not come back unchanged"
bv_ok "Redis restart: key put back unchanged, visitors merged back: fleet $F, truth $T ($E SE); session gap marked on node 3 ($g0 -> $g1)"
check_keys
check_privacy

# ---- 5. sessions and visitors expire; returning visitors -------------------
# 200 known visitors on node 1: their session keys live 20 s, their visitor
# keys 40 s. Once the sessions are gone, 50 of them come back through node 2,
# which never saw them under its current key: for the fleet they return.
sessions() { "${RCLI[@]}" --scan --pattern 'beaconveil:sess:*' | wc -l; }
visitors() { "${RCLI[@]}" --scan --pattern 'beaconveil:vis:*' | wc -l; }
r0=$("${RCLI[@]}" HGET "beaconveil:count:$TAG" visitors_returning)
old=()
for ((v = 1; v <= 200; v++)); do old+=("$v"); done
send 1 "${old[@]}"
wait_senders
settle
[ "$(sessions)" = 200 ] && [ "$(visitors)" = 200 ] || bv_fail "$(sessions) session and $(visitors) visitor keys for 200 visitors"
check_keys
bv_until 25 sh -c "[ \$(${RCLI[*]} --scan --pattern 'beaconveil:sess:*' | wc -l) = 0 ]" ||
	bv_fail "$(sessions) session keys still there after the 20 s session timeout"
[ "$(visitors)" = 200 ] || bv_fail "visitor keys (40 s) gone with the sessions (20 s): $(visitors) left"
bv_ok "session keys gone after the 20 s timeout, visitor keys still there"
send 2 "${old[@]:0:50}"
wait_senders
settle
r1=$("${RCLI[@]}" HGET "beaconveil:count:$TAG" visitors_returning)
[ $((${r1:-0} - ${r0:-0})) = 50 ] || bv_fail "fleet returning visitors ${r0:-0} -> ${r1:-0}, expected +50"
m=$(metric 2 'beaconveil_fleet_visitors_returning_total{scope="fleet"}')
[ "$m" = "$r1" ] || bv_fail "node 2 exports $m fleet returning visitors, Redis has $r1"
bv_ok "50 visitors back through another node after their sessions ended: fleet returning +50"
bv_until 50 sh -c "[ \$(${RCLI[*]} --scan --pattern 'beaconveil:vis:*' | wc -l) = 0 ]" ||
	bv_fail "$(visitors) visitor keys still there after the 40 s visitor lifetime"
[ "$(sessions)" = 0 ] || bv_fail "$(sessions) session keys left"
[ "$(pfcount)" -ge "$F" ] || bv_fail "the HyperLogLog went with the sessions"
bv_ok "visitor keys gone after their 40 s lifetime, the day's HyperLogLog and key stay"
for i in 1 2 3; do
	bv_stop "${DPID[$i]}"
	[ "$BV_RC" = 0 ] || bv_fail "node $i exit $BV_RC"
done
bv_ok "fleet test passed"
