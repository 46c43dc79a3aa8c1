#!/usr/bin/env bash
# The Set-Cookie audit against a real peer: nginx in a network namespace
# sets a non-compliant rxVisitor (HttpOnly, Max-Age of three years), a
# compliant dtCookie on a page, and a dtPC with SameSite=None but no Secure
# on a beacon; curl fetches both from a second namespace; tcpdump captures
# the veth; `beaconveil pcap --audit` over that capture must report exactly
# those findings, under the page's Host and the beacon's app=, and leave
# the responses' bytes as they were. Namespaces bva-*; removed by the trap.
set -uo pipefail

NAME=audit_nginx
BV_ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$BV_ROOT/$BUILD ;; esac
BV=$BUILD/beaconveil
APP=ea7c4b59f27d43eb
SRV=bva-srv-$$
CLI=bva-cli-$$
S_IP=198.18.50.1
C_IP=198.18.50.2

fail() { echo "$NAME: FAIL: $*" >&2; exit 1; }
ok() { echo "$NAME: ok: $*"; }
skip() {
	if [ "${CI:-}" = true ]; then
		fail "$* (CI=true: nothing may be skipped; tools/deps.sh installs it)"
	fi
	echo "$NAME: skip: $*"
	exit 77
}

[ "$(id -u)" -eq 0 ] || fail "needs root (network namespaces, BPF_PROG_TEST_RUN)"
[ -x "$BV" ] || fail "$BV missing: run make first"
for c in nginx curl tcpdump ip; do
	command -v "$c" >/dev/null || skip "$c not installed"
done

T=$(mktemp -d /tmp/bva-audit.XXXXXX)
PIDS=()
cleanup() {
	local rc=$? p
	trap - EXIT
	for p in "${PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	ip netns del "$SRV" 2>/dev/null
	ip netns del "$CLI" 2>/dev/null
	if [ "$rc" -ne 0 ]; then
		for f in "$T"/*.log "$T"/report.txt; do
			[ -f "$f" ] && { echo "----- $f"; tail -n 40 "$f"; }
		done
	fi
	rm -rf "$T"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$SRV" || fail "ip netns add $SRV"
ip netns add "$CLI" || fail "ip netns add $CLI"
ip link add bva-s0 netns "$SRV" type veth peer name bva-c0 netns "$CLI" || fail "veth"
ip -n "$SRV" addr add "$S_IP/24" dev bva-s0
ip -n "$CLI" addr add "$C_IP/24" dev bva-c0
for ns in "$SRV" "$CLI"; do
	ip -n "$ns" link set lo up
	ip -n "$ns" link set "$( [ "$ns" = "$SRV" ] && echo bva-s0 || echo bva-c0 )" up
done
# whole checksums on the wire, as a real NIC's copy has them
if command -v ethtool >/dev/null; then
	ip netns exec "$SRV" ethtool -K bva-s0 tx off >/dev/null 2>&1
	ip netns exec "$CLI" ethtool -K bva-c0 tx off >/dev/null 2>&1
fi

mkdir -p "$T/nginx"
cat >"$T/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $T/nginx.pid;
error_log $T/nginx-error.log;
events { worker_connections 64; }
http {
	access_log $T/nginx-access.log;
	client_body_temp_path $T/nginx/body;
	proxy_temp_path $T/nginx/proxy;
	fastcgi_temp_path $T/nginx/fastcgi;
	uwsgi_temp_path $T/nginx/uwsgi;
	scgi_temp_path $T/nginx/scgi;
	server {
		listen $S_IP:80;
		location = /ready { return 204; }
		location = /index.html {
			add_header Set-Cookie "rxVisitor=1733221234567ABCDEFGHIJKLMNOPQRSTUVWXYZ012345; Path=/; Max-Age=94608000; HttpOnly";
			add_header Set-Cookie "dtCookie=v_4_srv_7_sn_4D3133F359A76AB05AAF39691696858A; Path=/; SameSite=Lax";
			add_header Set-Cookie "JSESSIONID=abc; Path=/; HttpOnly";
			return 200 "page\n";
		}
		location /rb_ {
			add_header Set-Cookie "dtPC=7-221234567_123h1vABCDEFGHIJ-0e0; Path=/; SameSite=None";
			return 200 "ok\n";
		}
	}
}
EOF
ip netns exec "$SRV" nginx -p "$T/nginx" -c "$T/nginx.conf" >"$T/nginx-stdout.log" 2>&1 &
PIDS+=($!)
up=
for _ in $(seq 50); do
	if ip netns exec "$CLI" curl -s -o /dev/null --max-time 1 "http://$S_IP/ready" 2>/dev/null; then
		up=1
		break
	fi
	sleep 0.1
done
[ -n "$up" ] || fail "nginx did not come up"

ip netns exec "$SRV" tcpdump -Z root --immediate-mode -i bva-s0 -U -n -s 0 -w "$T/cap.pcap" tcp port 80 \
	>"$T/tcpdump.log" 2>&1 &
PIDS+=($!)
TCPDUMP=$!
for _ in $(seq 50); do grep -qs "listening on" "$T/tcpdump.log" && break; sleep 0.1; done
grep -qs "listening on" "$T/tcpdump.log" || fail "tcpdump did not start"

ip netns exec "$CLI" curl -s --max-time 5 -H "Host: www.example.com" -o "$T/page.out" \
	"http://$S_IP/index.html" || fail "curl: the page"
ip netns exec "$CLI" curl -s --max-time 5 -H "Host: www.example.com" -o "$T/beacon.out" \
	--data-binary '$a=1|2|_load_|_load_|-|1|2|0' \
	"http://$S_IP/rb_bf12345abc?type=js3&app=$APP&sn=v_4_srv_7" || fail "curl: the beacon"
[ "$(cat "$T/page.out")" = page ] || fail "unexpected page: $(cat "$T/page.out")"
sleep 0.3
kill -INT "$TCPDUMP"
wait "$TCPDUMP" 2>/dev/null
[ -s "$T/cap.pcap" ] || fail "no capture"
grep -aq "Set-Cookie: rxVisitor=1733221234567" "$T/cap.pcap" || fail "nginx's Set-Cookie not in the capture"
ok "nginx answered, tcpdump captured $(grep -ac 'HTTP/1.1 200' "$T/cap.pcap") responses"

"$BV" pcap --audit -q "$T/cap.pcap" "$T/out.pcap" >"$T/report.txt" 2>"$T/pcap.log" ||
	fail "beaconveil pcap --audit failed: $(cat "$T/pcap.log")"
cat >"$T/expected.txt" <<EOF
# Set-Cookie audit: per application (by app id, Host, or server port when
# no request was read), cookie and finding; zero counts left out
app $APP
  responses 1
  dtPC set 1
  dtPC samesite_none 1
  dtPC samesite_none_insecure 1
host www.example.com
  responses 1
  dtCookie set 1
  dtCookie samesite_lax 1
  rxVisitor set 1
  rxVisitor samesite_absent 1
  rxVisitor httponly 1
  rxVisitor lifetime_exceeded 1
# audit totals
audit_responses 2
audit_cookies 3
audit_findings 3
audit_incomplete 0
EOF
diff -u "$T/expected.txt" "$T/report.txt" >"$T/diff.log" ||
	fail "the report is not the expected one: $(cat "$T/diff.log")"
ok "pcap --audit: rxVisitor httponly + lifetime_exceeded and dtCookie compliant under host www.example.com, dtPC samesite_none_insecure under app $APP, nothing else"

# the audit reads only: every response byte is still there
for s in "Set-Cookie: rxVisitor=1733221234567ABCDEFGHIJKLMNOPQRSTUVWXYZ012345; Path=/; Max-Age=94608000; HttpOnly" \
	"Set-Cookie: dtPC=7-221234567_123h1vABCDEFGHIJ-0e0; Path=/; SameSite=None"; do
	grep -aqF "$s" "$T/out.pcap" || fail "a response was changed: '$s' missing from the output"
done
ok "the responses in the output are unchanged"

# Set-Cookie require_secure: every RUM cookie here lacks Secure
printf '[audit]\nrequire_secure = on\nrvcl = 24\n' >"$T/bv.conf"
"$BV" pcap --audit -q -c "$T/bv.conf" "$T/cap.pcap" "$T/out2.pcap" >"$T/report2.txt" 2>"$T/pcap2.log" ||
	fail "pcap --audit -c: $(cat "$T/pcap2.log")"
for l in "  dtPC no_secure 1" "  dtCookie no_secure 1" "  rxVisitor no_secure 1" "audit_findings 6"; do
	grep -qxF "$l" "$T/report2.txt" || fail "require_secure: no line '$l' in $(cat "$T/report2.txt")"
done
ok "require_secure = on: no_secure on each of the three RUM cookies"

# inline mode cannot audit: a usage error, not a silent empty report
"$BV" pcap --audit --mode inline -q "$T/cap.pcap" "$T/out3.pcap" >/dev/null 2>"$T/inline.log"
rc=$?
[ "$rc" -eq 2 ] || fail "pcap --audit --mode inline: exit $rc, expected 2"
grep -q "needs --mode pcap or mirror" "$T/inline.log" || fail "no reason given: $(cat "$T/inline.log")"
ok "--audit --mode inline is refused (exit 2)"
