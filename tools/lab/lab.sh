#!/usr/bin/env bash
# tools/lab/lab.sh — the beaconveil real-traffic lab (docs/LAB.md).
#
#   tools/lab/lab.sh up [-c CONFIG]   build the lab and start everything
#   tools/lab/lab.sh down              stop everything, remove every namespace,
#                                      link and file it made (idempotent)
#   tools/lab/lab.sh status            what runs where
#   tools/lab/lab.sh hold              up, then wait for Ctrl-C, then down
#   tools/lab/lab.sh exec NODE CMD...  run CMD in a node's network namespace
#                                      (cli, lb, coll, ref, mir)
#   tools/lab/lab.sh bv inline|mirror ARGS...
#                                      `beaconveil ARGS` next to that daemon
#                                      (its bpffs and network namespace), e.g.
#                                      bv inline stats --json,
#                                      bv inline policy set opt_in on
#   tools/lab/lab.sh capture-stop      stop both tcpdumps, so their pcaps are
#                                      complete (prints the mirror's anonymized
#                                      capture and the raw wire capture)
#
# Topology (addresses only from 198.18.0.0/15 and 2001:db8::/32):
#
#   [cli] curl, Chromium          198.18.1.2 (+ .57, .213), 2001:db8:1::2 (+ one more)
#     cli0 ==== lb0                (the clients' router: 198.18.1.1, 2001:db8:1::1)
#   [lb] HAProxy on the site's address 198.19.80.80 / 2001:db8:80::80:
#               :80 -> collector (XFF to nginx:80, /pp/ PROXY v2 to nginx:8080,
#                      /pp1/ PROXY v1 to nginx:8081, /pp1h/ PROXY v1 to
#                      the collector's HAProxy :8082, accept-proxy;
#                      /mbeacon, /mbeacon/<env> XFF to the mobile collector
#                      :8083)
#               :81 -> reference collector (same, no beaconveil)
#               other paths -> the web site (the page Chromium loads)
#     lb1 ======================= coll0  [coll] nginx :80 :8080 :8081,
#      | tc mirred (both ways)         HAProxy :8082 (accept-proxy),
#      |                               mobile collector :8083 (node),
#      |                               beaconveil run -i coll0 (inline)
#     mir0 ==== mir1 [mir] beaconveil run -i mir1 --mode mirror --egress cap0
#                          cap0 ==== cap1: tcpdump -w mirror.pcap
#     lb2 ======================= ref0   [ref] nginx :80 :8080 :8081,
#                                       HAProxy :8082, mobile collector
#                                       :8083 (no beaconveil)
#
# Each daemon runs in its own mount namespace with a private bpffs at
# /sys/fs/bpf and a private /run/beaconveil: two daemons, each "alone on its
# host", as docs/DAEMON.md requires (one daemon per host).
#
# Environment: BUILD (default build), LAB_PREFIX (namespace name prefix,
# default bvl), LAB_STATE (state directory, default
# /run/beaconveil-lab/$LAB_PREFIX), LAB_SERVER_TIMEOUT (HAProxy's timeout
# server, default 4s), LAB_MIRROR=0 (no mirror path). The mobile collector
# (tools/lab/mbeacon-collector.js) needs node; without it the lab comes up
# without one (tests/e2e_openkit.sh requires it).
set -uo pipefail

LAB_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$LAB_SRC/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
BV=$BUILD/beaconveil
XDP_PASS_OBJ=$BUILD/lab/xdp_pass.bpf.o
PFX=${LAB_PREFIX:-bvl}
STATE=${LAB_STATE:-/run/beaconveil-lab/$PFX}
SERVER_TIMEOUT=${LAB_SERVER_TIMEOUT:-4s}
MIRROR=${LAB_MIRROR:-1}

NODES=(cli lb coll ref mir)
ns() { printf '%s-%s' "$PFX" "$1"; }

# Addresses. The client's are the ones that must never reach the collector
# unmasked; tests and the demo read them from here (lab.sh env).
CLI4=198.18.1.2
CLI4_MORE="198.18.1.57 198.18.1.213"
CLI6=2001:db8:1::2
CLI6_MORE="2001:db8:1:0:a3f1:7c2e:9d4b:1157"
LB_CLI4=198.18.1.1
LB_CLI6=2001:db8:1::1
# The site's address (HAProxy's frontends): another subnet than the
# clients', so that it can never be mistaken for a client in a log.
VIP4=198.19.80.80
VIP6=2001:db8:80::80
LB_COLL4=198.18.2.1
LB_COLL6=2001:db8:2::1
COLL4=198.18.2.2
COLL6=2001:db8:2::2
LB_REF4=198.18.3.1
LB_REF6=2001:db8:3::1
REF4=198.18.3.2
REF6=2001:db8:3::2
# The collector's ports behind beaconveil: nginx X-Forwarded-For, PROXY v2,
# PROXY v1; the collector's HAProxy (PROXY v1, accept-proxy); the mobile
# beacon collector (X-Forwarded-For). Every one must be a beacon port of the
# daemons' config (check_config_ports).
COLL_PORTS="80 8080 8081 8082 8083"
MBEACON_PORT=8083

log() { printf 'lab: %s\n' "$*" >&2; }
die() {
	printf 'lab: error: %s\n' "$*" >&2
	exit 1
}

# until SECONDS CMD... — retry CMD every 0.1 s until it succeeds.
until_ok() {
	local t=$1 i
	shift
	for ((i = 0; i < t * 10; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# A process that exited but is not reaped yet (a zombie: the lab's daemons
# belong to init once lab.sh up returns) counts as gone.
alive() {
	local st
	[ -n "$1" ] || return 1
	st=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}
pidof_lab() { cat "$STATE/pids/$1" 2>/dev/null; }

# start NAME NODE LOG CMD... — CMD in NODE's network namespace (through
# `ip netns exec`, which gives it a private mount namespace with the
# namespace's own /sys), in the background, its pid in $STATE/pids/NAME.
start() {
	local name=$1 node=$2 logf=$3
	shift 3
	setsid ip netns exec "$(ns "$node")" "$@" </dev/null >"$logf" 2>&1 &
	echo $! >"$STATE/pids/$name"
}

# stop NAME [SIGNAL] — signal a process the lab started, wait 5 s, then KILL.
stop() {
	local name=$1 sig=${2:-TERM} pid i
	pid=$(pidof_lab "$name")
	[ -n "$pid" ] || return 0
	if alive "$pid"; then
		kill -"$sig" "$pid" 2>/dev/null
		for ((i = 0; i < 50; i++)); do
			alive "$pid" || break
			sleep 0.1
		done
		alive "$pid" && kill -KILL "$pid" 2>/dev/null
	fi
	rm -f "$STATE/pids/$name"
}

# veth NODE_A IF_A NODE_B IF_B — a veth pair between two namespaces, with TX
# checksum offload, segmentation offloads and VLAN offload off on both ends
# (XDP rewrites must not meet partial checksums or super-packets; XDP must
# see VLAN tags), up.
veth() {
	ip link add "$2" netns "$(ns "$1")" type veth peer name "$4" netns "$(ns "$3")" ||
		die "cannot create veth $2/$4"
	local n i
	for n in "$1:$2" "$3:$4"; do
		i=${n#*:}
		n=${n%%:*}
		ip netns exec "$(ns "$n")" ethtool -K "$i" tx off tso off gso off gro off \
			rxvlan off txvlan off >/dev/null 2>&1 ||
			ip netns exec "$(ns "$n")" ethtool -K "$i" tx off >/dev/null 2>&1 ||
			die "ethtool -K $i tx off failed"
	done
}
addr() { # NODE IF ADDR/LEN...
	local node=$1 ifc=$2 a
	shift 2
	for a in "$@"; do
		case $a in
		*:*) ip -n "$(ns "$node")" addr add "$a" dev "$ifc" nodad || die "ip addr add $a dev $ifc" ;;
		*) ip -n "$(ns "$node")" addr add "$a" dev "$ifc" || die "ip addr add $a dev $ifc" ;;
		esac
	done
}
# listening NODE PORT — a TCP socket listens on PORT in NODE (IPv4 and IPv6).
listening() {
	local out
	out=$(ip netns exec "$(ns "$1")" ss -Hltn "sport = :$2") || return 1
	[ "$(grep -c . <<<"$out")" -ge 2 ]
}
up_if() { ip -n "$(ns "$1")" link set "$2" up || die "ip link set $2 up"; }
no_ipv6() { ip netns exec "$(ns "$1")" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=1"; }

# The pass-only XDP program on a veth end that receives XDP_TX'd or
# redirected frames (tools/lab/xdp_pass.bpf.c says why).
peer_xdp() {
	ip -n "$(ns "$1")" link set dev "$2" xdpdrv obj "$XDP_PASS_OBJ" sec xdp ||
		die "cannot attach $XDP_PASS_OBJ to $2"
}

render() { # TEMPLATE OUT KEY=VALUE...
	local tpl=$1 out=$2 kv args=()
	shift 2
	for kv in "$@"; do
		args+=(-e "s|@${kv%%=*}@|${kv#*=}|g")
	done
	sed "${args[@]}" "$tpl" >"$out" || die "cannot write $out"
}

# ---------------------------------------------------------------------------
cmd_down() {
	local n name p
	# Processes first (the lab's own, by recorded pid), daemons with SIGTERM
	# so they detach cleanly.
	if [ -d "$STATE/pids" ]; then
		for name in chromium openkit tcpdump tcpdump-wire bv-mirror bv-inline haproxy \
			haproxy-coll haproxy-ref nginx-coll nginx-ref mbeacon-coll mbeacon-ref; do
			stop "$name"
		done
		for p in "$STATE"/pids/*; do
			[ -f "$p" ] && stop "$(basename "$p")"
		done
	fi
	# Anything still inside the lab's namespaces was started there by the
	# lab (or by a test or demo through it).
	for n in "${NODES[@]}"; do
		[ -e "/run/netns/$(ns "$n")" ] || continue
		p=$(ip netns pids "$(ns "$n")" 2>/dev/null)
		[ -n "$p" ] && kill -KILL $p 2>/dev/null
	done
	for n in "${NODES[@]}"; do
		if [ -e "/run/netns/$(ns "$n")" ]; then
			ip netns del "$(ns "$n")" 2>/dev/null || log "cannot delete namespace $(ns "$n")"
		fi
	done
	if [ -d "$STATE" ]; then
		if [ -n "${LAB_KEEP:-}" ]; then
			log "kept $STATE (LAB_KEEP)"
		else
			rm -rf "$STATE"
		fi
	fi
	rmdir /run/beaconveil-lab 2>/dev/null
	return 0
}

check_prereqs() {
	[ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces, XDP): sudo $0"
	local c missing=()
	for c in ip ethtool tc haproxy nginx tcpdump curl setsid nsenter; do
		command -v "$c" >/dev/null 2>&1 || missing+=("$c")
	done
	[ ${#missing[@]} -eq 0 ] || die "missing commands: ${missing[*]} (sudo tools/deps.sh installs tools/deps/lab.list)"
	[ -x "$BV" ] || die "$BV is missing: run make first"
	[ -f "$XDP_PASS_OBJ" ] || die "$XDP_PASS_OBJ is missing: run make first (mk/lab.mk)"
}

# check_config_ports CONFIG — every port the collector listens on behind
# beaconveil ($COLL_PORTS) must be a beacon port of CONFIG ([beacon] ports,
# a list that a trailing ',' continues on the next line; beaconveil's
# default without the key is 80, 8080): traffic on any other port passes
# unread, client addresses and all.
check_config_ports() {
	local ports p missing=()
	ports=$(awk '
		/^[ \t]*\[/ { sect = $0; gsub(/[][ \t]/, "", sect); cont = 0; next }
		{ sub(/[;#].*/, "") }
		sect == "beacon" && (cont || /^[ \t]*ports[ \t]*=/) {
			v = $0
			if (!cont) { sub(/^[^=]*=/, "", v); found = 1 }
			out = out "," v
			cont = (v ~ /,[ \t]*$/)
		}
		END {
			if (!found) out = "80,8080"
			gsub(/[ \t]/, "", out); gsub(/,+/, ",", out); sub(/^,/, "", out); sub(/,$/, "", out)
			print out
		}' "$1")
	for p in $COLL_PORTS; do
		[[ ,$ports, == *,$p,* ]] || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] ||
		die "$1: [beacon] ports ($ports) lacks ${missing[*]}: the collector's listeners on $COLL_PORTS sit behind beaconveil and must be beacon ports"
}

cmd_up() {
	local conf=$LAB_SRC/beaconveil.conf
	while [ $# -gt 0 ]; do
		case $1 in
		-c) conf=$(readlink -f "$2") || die "no config $2"; shift 2 ;;
		*) die "up: unknown argument $1" ;;
		esac
	done
	check_prereqs
	check_config_ports "$conf"
	local n
	for n in "${NODES[@]}"; do
		[ -e "/run/netns/$(ns "$n")" ] && die "namespace $(ns "$n") exists: the lab is up already ('$0 down' first)"
	done
	# A failed start leaves nothing behind.
	trap 'rc=$?; trap - EXIT INT TERM; if [ $rc -ne 0 ]; then log "start failed; tearing down"; cmd_down; fi; exit $rc' EXIT
	trap 'exit 130' INT TERM

	mkdir -p "$STATE"/pids "$STATE"/www || die "cannot create $STATE"
	chmod 755 "$STATE" /run/beaconveil-lab 2>/dev/null
	cp "$conf" "$STATE/beaconveil.conf"
	cp "$LAB_SRC"/www/* "$STATE/www/"

	# --- namespaces and links ------------------------------------------------
	for n in "${NODES[@]}"; do
		ip netns add "$(ns "$n")" || die "ip netns add $(ns "$n")"
		ip -n "$(ns "$n")" link set lo up
	done
	veth cli cli0 lb lb0
	veth lb lb1 coll coll0
	veth lb lb2 ref ref0
	addr cli cli0 "$CLI4/24" $(printf '%s/24 ' $CLI4_MORE) "$CLI6/64" $(printf '%s/64 ' $CLI6_MORE)
	addr lb lb0 "$LB_CLI4/24" "$LB_CLI6/64"
	addr lb lb1 "$LB_COLL4/24" "$LB_COLL6/64"
	addr coll coll0 "$COLL4/24" "$COLL6/64"
	addr lb lb2 "$LB_REF4/24" "$LB_REF6/64"
	addr ref ref0 "$REF4/24" "$REF6/64"
	for n in cli:cli0 lb:lb0 lb:lb1 lb:lb2 coll:coll0 ref:ref0; do
		up_if "${n%%:*}" "${n#*:}"
	done
	ip -n "$(ns lb)" addr add "$VIP4/32" dev lo || die "ip addr add $VIP4"
	ip -n "$(ns lb)" addr add "$VIP6/128" dev lo || die "ip addr add $VIP6"
	ip -n "$(ns cli)" route add default via "$LB_CLI4" || die "client default route"
	ip -n "$(ns cli)" -6 route add default via "$LB_CLI6" || die "client IPv6 default route"
	# The RST of drop_action=reset leaves coll0 with XDP_TX toward lb1.
	peer_xdp lb lb1

	if [ "$MIRROR" = 1 ]; then
		# The mirror: a SPAN of the collector's link. tc copies what lb1
		# sends to the collector and what it gets back onto mir0; the
		# copy is what the collector's NIC gets on the wire (before the
		# inline program), as a switch's mirror port would give it.
		veth lb mir0 mir mir1
		veth mir cap0 mir cap1
		for n in lb:mir0 mir:mir1 mir:cap0 mir:cap1; do
			no_ipv6 "${n%%:*}" "${n#*:}"
			up_if "${n%%:*}" "${n#*:}"
		done
		peer_xdp mir cap1
		ip netns exec "$(ns lb)" tc qdisc add dev lb1 clsact || die "tc qdisc add clsact lb1"
		ip netns exec "$(ns lb)" tc filter add dev lb1 egress protocol all u32 match u32 0 0 \
			action mirred egress mirror dev mir0 || die "tc mirred (egress) lb1 -> mir0"
		ip netns exec "$(ns lb)" tc filter add dev lb1 ingress protocol all u32 match u32 0 0 \
			action mirred egress mirror dev mir0 || die "tc mirred (ingress) lb1 -> mir0"
	fi

	# --- nginx: the collector and the reference collector -------------------
	local inst
	for inst in coll ref; do
		local d=$STATE/nginx-$inst lb4 lb6
		mkdir -p "$d"/tmp
		chown -R www-data "$d"/tmp 2>/dev/null
		if [ "$inst" = coll ]; then lb4=$LB_COLL4 lb6=$LB_COLL6; else lb4=$LB_REF4 lb6=$LB_REF6; fi
		render "$LAB_SRC/nginx.conf.in" "$d/nginx.conf" DIR="$d" LB4="$lb4" LB6="$lb6"
		render "$LAB_SRC/locations.conf.in" "$d/locations.conf" WEB="$STATE/www"
		: >"$d/access.log"
		ip netns exec "$(ns "$inst")" nginx -t -q -c "$d/nginx.conf" -p "$d/" >"$d/nginx-t.log" 2>&1 ||
			die "nginx -t: $(cat "$d/nginx-t.log")"
		start "nginx-$inst" "$inst" "$d/nginx.out" nginx -c "$d/nginx.conf" -p "$d/"
	done

	# --- HAProxy with accept-proxy: a second PROXY v1 parser, in both -------
	# (tools/lab/haproxy-pp1.cfg.in; its log is haproxy-coll.log / -ref.log)
	for inst in coll ref; do
		local a4 a6
		if [ "$inst" = coll ]; then a4=$COLL4 a6=$COLL6; else a4=$REF4 a6=$REF6; fi
		render "$LAB_SRC/haproxy-pp1.cfg.in" "$STATE/haproxy-$inst.cfg" ADDR4="$a4" ADDR6="$a6"
		ip netns exec "$(ns "$inst")" haproxy -c -f "$STATE/haproxy-$inst.cfg" >"$STATE/haproxy-$inst-c.log" 2>&1 ||
			die "haproxy -c ($inst): $(cat "$STATE/haproxy-$inst-c.log")"
		start "haproxy-$inst" "$inst" "$STATE/haproxy-$inst.log" haproxy -db -f "$STATE/haproxy-$inst.cfg"
	done

	# --- the mobile beacon collector, in both -----------------------------------
	# (tools/lab/mbeacon-collector.js: answers OpenKit's status requests,
	# logs every request byte for byte to mbeacon-coll.log / -ref.log)
	local mb=()
	if command -v node >/dev/null 2>&1; then
		for inst in coll ref; do
			if [ "$inst" = coll ]; then a4=$COLL4 a6=$COLL6; else a4=$REF4 a6=$REF6; fi
			: >"$STATE/mbeacon-$inst.log"
			start "mbeacon-$inst" "$inst" "$STATE/mbeacon-$inst.out" node "$LAB_SRC/mbeacon-collector.js" \
				--log "$STATE/mbeacon-$inst.log" --listen "$a4:$MBEACON_PORT" --listen "[$a6]:$MBEACON_PORT"
			mb+=("mbeacon-$inst")
		done
	else
		log "no node: the mobile beacon collector (/mbeacon, port $MBEACON_PORT) is not started"
	fi

	# --- HAProxy ---------------------------------------------------------------
	render "$LAB_SRC/haproxy.cfg.in" "$STATE/haproxy.cfg" SERVER_TIMEOUT="$SERVER_TIMEOUT" \
		VIP4="$VIP4" VIP6="$VIP6"
	ip netns exec "$(ns lb)" haproxy -c -f "$STATE/haproxy.cfg" >"$STATE/haproxy-c.log" 2>&1 ||
		die "haproxy -c: $(cat "$STATE/haproxy-c.log")"
	start haproxy lb "$STATE/haproxy.log" haproxy -db -f "$STATE/haproxy.cfg"

	# --- beaconveil, inline on the collector's NIC --------------------------
	# A private /run/beaconveil (locks) and bpffs (pins) for each daemon:
	# ip netns exec already gave it a mount namespace of its own.
	mkdir -p /run/beaconveil
	start bv-inline coll "$STATE/bv-inline.log" sh -c \
		'mount -t tmpfs -o mode=0755 tmpfs /run/beaconveil && mount -t bpf bpf /sys/fs/bpf &&
		 exec "$0" run -i coll0 -c "$1"' "$BV" "$STATE/beaconveil.conf"
	if [ "$MIRROR" = 1 ]; then
		start bv-mirror mir "$STATE/bv-mirror.log" sh -c \
			'mount -t tmpfs -o mode=0755 tmpfs /run/beaconveil && mount -t bpf bpf /sys/fs/bpf &&
			 exec "$0" run -i mir1 --mode mirror --egress cap0 -c "$1"' "$BV" "$STATE/beaconveil.conf"
	fi
	local d
	for d in bv-inline $([ "$MIRROR" = 1 ] && echo bv-mirror); do
		if ! until_ok 30 grep -q "ready: pid" "$STATE/$d.log"; then
			cat "$STATE/$d.log" >&2
			die "$d did not get ready"
		fi
	done

	# --- tcpdump behind the mirror daemon ------------------------------------
	# Both tcpdumps in immediate mode: otherwise packets wait in the
	# kernel's capture ring until a block fills or times out, and those of
	# the last second are lost when capture-stop interrupts tcpdump.
	if [ "$MIRROR" = 1 ]; then
		start tcpdump mir "$STATE/tcpdump.log" tcpdump -i cap1 -n -U --immediate-mode -s 0 -Z root -w "$STATE/mirror.pcap"
		until_ok 10 grep -q "listening on cap1" "$STATE/tcpdump.log" ||
			die "tcpdump did not start: $(cat "$STATE/tcpdump.log")"
	fi

	# --- the wire: what HAProxy really sends the collector --------------------
	# Raw (client addresses and all): a lab-only record, removed by `down`,
	# used to count what went over the wire (HAProxy re-sends some requests
	# on its own, see docs/LAB.md) and for the demo's before/after.
	start tcpdump-wire lb "$STATE/tcpdump-wire.log" tcpdump -i lb1 -n -U --immediate-mode -s 0 -Z root \
		-w "$STATE/wire.pcap" $(printf 'tcp port %s or ' $COLL_PORTS | sed 's/ or $//')
	until_ok 10 grep -q "listening on lb1" "$STATE/tcpdump-wire.log" ||
		die "tcpdump on lb1 did not start: $(cat "$STATE/tcpdump-wire.log")"

	# --- everything answers? -------------------------------------------------
	# The collector straight from HAProxy's namespace (/healthz is no beacon
	# and not logged; from there it carries no client address), then the
	# site through HAProxy from the clients, over IPv4 and IPv6.
	until_ok 10 ip netns exec "$(ns lb)" curl -sf -o /dev/null --max-time 2 "http://$COLL4/healthz" ||
		die "the collector's nginx does not answer (see $STATE/nginx-coll/error.log)"
	until_ok 10 ip netns exec "$(ns cli)" curl -sf -o /dev/null --max-time 2 "http://$VIP4/lab/rum.js" ||
		die "no answer through HAProxy (see $STATE/haproxy.log)"
	until_ok 10 ip netns exec "$(ns cli)" curl -sf -o /dev/null --max-time 2 "http://[$VIP6]:81/lab/rum.js" ||
		die "no answer through HAProxy over IPv6 (see $STATE/haproxy.log)"
	# The accept-proxy listeners cannot take a plain request (and a PROXY
	# line from here would cross beaconveil): they are ready when they listen.
	for n in coll ref; do
		until_ok 10 listening "$n" 8082 ||
			die "the HAProxy in $(ns "$n") does not listen on 8082 (see $STATE/haproxy-$n.log)"
	done
	for n in "${mb[@]}"; do
		until_ok 10 listening "${n#mbeacon-}" "$MBEACON_PORT" ||
			die "the mobile collector in $(ns "${n#mbeacon-}") does not listen on $MBEACON_PORT (see $STATE/$n.out)"
	done
	for d in nginx-coll nginx-ref haproxy haproxy-coll haproxy-ref bv-inline tcpdump-wire "${mb[@]}" \
		$([ "$MIRROR" = 1 ] && echo bv-mirror tcpdump); do
		alive "$(pidof_lab "$d")" || die "$d is not running (log in $STATE)"
	done
	trap - EXIT INT TERM
	log "up: namespaces $(printf '%s ' "${NODES[@]/#/$PFX-}")state $STATE"
}

cmd_status() {
	local n name
	for n in "${NODES[@]}"; do
		if [ -e "/run/netns/$(ns "$n")" ]; then echo "namespace $(ns "$n"): present"; else echo "namespace $(ns "$n"): absent"; fi
	done
	for name in nginx-coll nginx-ref haproxy haproxy-coll haproxy-ref mbeacon-coll mbeacon-ref \
		bv-inline bv-mirror tcpdump tcpdump-wire; do
		local pid
		pid=$(pidof_lab "$name")
		if alive "$pid"; then echo "$name: running, pid $pid"; else echo "$name: not running"; fi
	done
}

# bv inline|mirror ARGS — beaconveil next to that daemon: its mount namespace
# (bpffs with the pins, /run/beaconveil) and network namespace (metrics).
cmd_bv() {
	local which=$1 pid
	shift
	case $which in inline | mirror) ;; *) die "bv: inline or mirror, not '$which'" ;; esac
	pid=$(pidof_lab "bv-$which")
	alive "$pid" || die "the $which daemon is not running"
	nsenter --target "$pid" --mount --net -- "$BV" "$@"
}

cmd_exec() {
	local node=$1
	shift
	[ -e "/run/netns/$(ns "$node")" ] || die "no namespace $(ns "$node"): is the lab up?"
	ip netns exec "$(ns "$node")" "$@"
}

cmd_env() {
	cat <<EOF
LAB_PREFIX=$PFX
LAB_STATE=$STATE
CLI4=$CLI4
CLI4_MORE="$CLI4_MORE"
CLI6=$CLI6
CLI6_MORE="$CLI6_MORE"
LB_CLI4=$LB_CLI4
LB_CLI6=$LB_CLI6
VIP4=$VIP4
VIP6=$VIP6
LB_COLL4=$LB_COLL4
LB_COLL6=$LB_COLL6
COLL4=$COLL4
COLL6=$COLL6
REF4=$REF4
REF6=$REF6
COLL_PORTS="$COLL_PORTS"
MBEACON_PORT=$MBEACON_PORT
EOF
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
up) cmd_up "$@" ;;
down) cmd_down ;;
status) cmd_status ;;
bv) [ $# -ge 1 ] || die "usage: $0 bv inline|mirror ARGS..."; cmd_bv "$@" ;;
exec) [ $# -ge 2 ] || die "usage: $0 exec NODE CMD..."; cmd_exec "$@" ;;
env) cmd_env ;;
capture-stop)
	# tcpdump writes out what it has and exits on SIGINT.
	stop tcpdump INT
	stop tcpdump-wire INT
	echo "$STATE/mirror.pcap $STATE/wire.pcap"
	;;
hold)
	cmd_up "$@" || exit 1
	trap 'trap - EXIT; cmd_down; exit 0' INT TERM
	trap 'cmd_down' EXIT
	log "lab is up; Ctrl-C tears it down"
	while :; do sleep 1; done
	;;
-h | --help | help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//' ;;
*) echo "usage: $0 up|down|status|hold|exec|bv|env|capture-stop (--help)" >&2; exit 2 ;;
esac
