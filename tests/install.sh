#!/usr/bin/env bash
# `make install` into a temporary DESTDIR, then: every file where it
# belongs with its mode and nothing else; the installed binary's --help and
# exit codes; the unit checked by systemd-analyze verify in a root made of
# the install and the host's units; the daemon started with the unit's own
# ExecStart line, capability bounding set, no_new_privs and memlock limit
# (and refused with each capability taken away), reloaded as ExecReload
# does, adopted after SIGKILL, stopped with SIGTERM; the man page rendered
# by man, groff and mandoc with warnings as errors and naming every command
# and option of the --help texts; a changed config kept by install and
# uninstall; uninstall leaving no file behind. Each checker is also shown a
# broken copy and must reject it. Runs in its own namespaces
# (tests/lib/netns.sh): nothing of the host is touched.
set -uo pipefail
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/caps.sh"
bv_isolate "$@"

for t in systemd-analyze groff mandoc man setpriv prlimit curl; do
	command -v "$t" >/dev/null || bv_fail "$t missing: run tools/deps.sh (tools/deps/deploy.list)"
done

D=$BV_TMP/dest
PREFIX=/usr/local
SBIN=$D$PREFIX/sbin/beaconveil
UNIT=$D$PREFIX/lib/systemd/system/beaconveil@.service
MAN=$D$PREFIX/share/man/man8/beaconveil.8
EXAMPLE=$D$PREFIX/share/doc/beaconveil/beaconveil.conf.example
CONF=$D/etc/beaconveil/beaconveil.conf
mk() { make -s -C "$BV_ROOT" BUILD="$BUILD" DESTDIR="$D" PREFIX="$PREFIX" "$@"; }

# ---- install: every file, its mode, nothing else ---------------------------
mk install >"$BV_TMP/install.log" 2>&1 || { cat "$BV_TMP/install.log"; bv_fail "make install failed"; }
want="$(printf '%s\n' "755 $SBIN" "644 $UNIT" "644 $MAN" "644 $EXAMPLE" "600 $CONF" | sort)"
have="$(find "$D" -type f -printf '%m %p\n' | sort)"
[ "$have" = "$want" ] || bv_fail "installed files differ from the expected ones:
$(diff <(echo "$want") <(echo "$have"))"
cmp -s "$CONF" "$BV_ROOT/beaconveil.conf.example" || bv_fail "the config is not beaconveil.conf.example"
bv_ok "install: 5 files with their modes (config 0600), nothing else"

# ---- the installed binary: --help and exit codes as documented --------------
"$SBIN" --help >"$BV_TMP/help" || bv_fail "beaconveil --help did not exit 0"
CMDS=$(awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { on = 0 }' "$BV_TMP/help")
[ "$(echo "$CMDS" | wc -w)" -ge 6 ] || bv_fail "beaconveil --help lists no commands: $(cat "$BV_TMP/help")"
for c in $CMDS; do
	"$SBIN" "$c" --help >"$BV_TMP/help.$c" || bv_fail "beaconveil $c --help did not exit 0"
done
rc() { "$@" >/dev/null 2>&1; echo $?; }
[ "$(rc "$SBIN")" = 2 ] || bv_fail "beaconveil without a command: exit $(rc "$SBIN"), not 2"
[ "$(rc "$SBIN" nosuch)" = 2 ] || bv_fail "an unknown command did not exit 2"
[ "$(rc "$SBIN" status extra)" = 2 ] || bv_fail "status with an extra argument did not exit 2"
[ "$(rc "$SBIN" status)" = 0 ] || bv_fail "status as root: exit $(rc "$SBIN" status), not 0"
[ "$(rc setpriv --reuid=65534 --regid=65534 --clear-groups "$SBIN" status)" = 1 ] ||
	bv_fail "status as nobody did not exit 1"
bv_ok "installed binary: --help of $(echo $CMDS | tr ' ' ,) exit 0; usage errors 2; status 0 as root, 1 as nobody"

# ---- systemd-analyze verify ---------------------------------------------------
# --root: the unit is loaded from the install, with the host's own units
# (sysinit.target, ...) next to it, and its ExecStart/ExecReload binaries
# must exist there; MANPATH lets it find Documentation=man:beaconveil(8).
# It exits 0 on warnings (an unknown key), so any output is a failure.
R=$BV_TMP/root
verify() { # UNIT-FILE-TO-USE -> output of systemd-analyze, status 1 if any
	rm -rf "$R"
	mkdir -p "$R/usr/lib/systemd" "$R/bin"
	cp -a "$D/." "$R/"
	cp -a /usr/lib/systemd/system "$R/usr/lib/systemd/"
	cp "$(type -P kill)" "$R/bin/kill"
	cp "$1" "$R$PREFIX/lib/systemd/system/beaconveil@.service"
	local out
	out=$(MANPATH=$R$PREFIX/share/man systemd-analyze --root="$R" verify beaconveil@eth0.service 2>&1)
	local st=$?
	printf '%s' "$out"
	[ "$st" -eq 0 ] && [ -z "$out" ]
}
out=$(verify "$UNIT") || bv_fail "systemd-analyze verify: $out"
sed -e 's/^Restart=on-failure/Restart=on-failur/' -e 's|/sbin/beaconveil |/sbin/beaconvei |' \
	"$UNIT" >"$BV_TMP/broken.service"
out=$(verify "$BV_TMP/broken.service") && bv_fail "systemd-analyze verify accepted a broken unit"
grep -q "on-failur" <<<"$out" && grep -q "not executable" <<<"$out" ||
	bv_fail "systemd-analyze verify missed a fault of the broken unit: $out"
grep -q "^ExecStart=$PREFIX/sbin/beaconveil run -i %I -c /etc/beaconveil/beaconveil.conf " "$UNIT" ||
	bv_fail "ExecStart does not run the installed binary with the installed config"
bv_ok "systemd-analyze verify: no message for the unit (a broken copy: $(echo "$out" | wc -l) messages)"

# ---- the daemon as the unit runs it --------------------------------------------
# The unit's values, read from the installed file: what is tested is what
# was installed. setpriv does what systemd does for root with
# CapabilityBoundingSet= (the bounding set also caps root's capabilities
# after exec) and NoNewPrivileges=; it rejects an unknown capability name,
# which systemd-analyze lets pass.
key() { sed -n "s/^$1=//p" "$UNIT"; }
CAPS=$(key CapabilityBoundingSet)
EXEC=$(key ExecStart)
[ -n "$CAPS" ] && [ "$(key NoNewPrivileges)" = yes ] && [ "$(key LimitMEMLOCK)" = infinity ] &&
	[ "$(key ExecReload)" = '/bin/kill -HUP $MAINPID' ] && [ "$(key KillSignal)" = SIGTERM ] &&
	[ "$(key Restart)" = on-failure ] || bv_fail "the unit lacks a setting this test relies on"
ip link add bvi0 type veth peer name bvi1 && ip link set bvi0 up && ip link set bvi1 up ||
	bv_fail "cannot make a veth pair"
cmdline=${EXEC//%I/bvi0}
cmdline=${cmdline//\$BEACONVEIL_OPTS/}
cmdline=${cmdline//\/etc\//$D/etc/}
cmdline=${cmdline//$PREFIX\/sbin\//$D$PREFIX/sbin/}
# LimitMEMLOCK=infinity: set on this shell, whose children inherit it. It
# needs CAP_SYS_RESOURCE, which this test's machine may not have at all;
# kernels since 5.11 do not charge BPF maps to RLIMIT_MEMLOCK, so the
# daemon then runs with the limit it inherits.
prlimit --pid $$ --memlock=unlimited:unlimited 2>/dev/null ||
	bv_log "cannot raise RLIMIT_MEMLOCK here (no CAP_SYS_RESOURCE): the daemon runs with $(ulimit -l) KiB"
start() { # LOG CAPS: the ExecStart line under those capabilities
	# shellcheck disable=SC2086 # the command line is split as systemd does
	bv_caps_start "$1" "$2" 1 $cmdline
}
start "$BV_TMP/d1.log" "$CAPS"
bv_until 20 grep -qs "ready: pid" "$BV_TMP/d1.log" || { cat "$BV_TMP/d1.log"; bv_fail "the daemon did not get ready with $CAPS"; }
grep -q "attached to bvi0" "$BV_TMP/d1.log" || bv_fail "no attach line"
grep -q "^CapBnd:	0*$(printf '%x' $(((1 << 21) | (1 << 12))))$" "/proc/$BV_DPID/status" ||
	bv_fail "the daemon's bounding set is not CAP_SYS_ADMIN+CAP_NET_ADMIN: $(grep Cap "/proc/$BV_DPID/status")"
# into a file first: under pipefail, grep -q leaving at its first match
# would fail curl's write of the rest of the page (SIGPIPE)
curl -sf --max-time 5 -o "$BV_TMP/metrics" http://127.0.0.1:9477/metrics &&
	grep -q '^beaconveil_decisions_total' "$BV_TMP/metrics" ||
	bv_fail "no metrics on 127.0.0.1:9477 (the installed config's address)"
MAINPID=$BV_DPID
eval "$(key ExecReload)"
bv_until 10 grep -qs "SIGHUP: configuration .* applied" "$BV_TMP/d1.log" || bv_fail "ExecReload did not reload"
bv_kill9 "$BV_DPID" 2>/dev/null # (bash's "Killed" notice)
start "$BV_TMP/d2.log" "$CAPS"
bv_until 20 grep -qs "ready: pid" "$BV_TMP/d2.log" || { cat "$BV_TMP/d2.log"; bv_fail "the restart did not get ready"; }
grep -q "adopted the program already enforcing on bvi0" "$BV_TMP/d2.log" ||
	bv_fail "the restart after SIGKILL did not adopt the program"
bv_stop "$BV_DPID"
[ "$BV_RC" = 0 ] || bv_fail "SIGTERM: exit $BV_RC, not 0"
grep -q "detached from bvi0" "$BV_TMP/d2.log" || bv_fail "SIGTERM did not detach"
ip -d link show bvi0 | grep -q "prog/xdp" && bv_fail "a program is still attached after SIGTERM"
bv_ok "daemon under the unit's settings ($CAPS): ready, metrics, ExecReload, adopted after SIGKILL, SIGTERM detaches and exits 0"
for c in $CAPS; do
	start "$BV_TMP/less.log" "${CAPS//$c/}"
	bv_reap "$BV_DPID" 20
	[ "$BV_RC" = 1 ] && grep -q "missing privileges\|not permitted" "$BV_TMP/less.log" ||
		{ cat "$BV_TMP/less.log"; bv_fail "without $c: exit $BV_RC, expected 1 and a privilege error"; }
done
bv_ok "each capability of the set is needed: without any one the daemon exits 1"

# ---- the man page --------------------------------------------------------------
manlint() { # FILE -> every warning of man, groff and mandoc
	MANWIDTH=80 man --warnings=w -l "$1" 2>&1 >/dev/null
	groff -man -ww -z "$1" 2>&1
	mandoc -Tlint "$1" 2>&1
}
out=$(manlint "$MAN")
[ -z "$out" ] || bv_fail "the man page has warnings: $out"
grep -q '@[A-Z]*@' "$MAN" && bv_fail "the installed man page has an unreplaced @...@"
MANWIDTH=80 man -l "$MAN" 2>/dev/null | grep -q "^FILES" || bv_fail "man -l did not render"
{ sed -e 's/^\.SH FILES/.XY FILES/' -e 's/^\.TP$/.TP 3q/' "$MAN"; } >"$BV_TMP/broken.8"
out=$(manlint "$BV_TMP/broken.8")
[ -n "$out" ] || bv_fail "the man page checks accepted a broken page"
src=$(sed 's/\\-/-/g; s/\\f[BIRP]//g; s/\\%//g' "$MAN")
for c in $CMDS; do
	grep -q "^\.SS $c$" <<<"$src" || bv_fail "the man page has no section for '$c'"
	for o in $(grep -o -- '--[a-z][a-z-]*' "$BV_TMP/help.$c" | sort -u); do
		[ "$o" = --help ] || grep -q -- "$o" <<<"$src" || bv_fail "the man page lacks $c $o"
	done
done
bv_ok "man page: no warning from man, groff -ww or mandoc -Tlint (a broken copy: $(echo "$out" | wc -l)); every command and option of --help in it"

# ---- a changed config is the operator's: install and uninstall keep it --------
echo "# changed by the operator" >>"$CONF"
cp "$CONF" "$BV_TMP/conf.changed"
mk install >"$BV_TMP/install2.log" 2>&1 || bv_fail "make install (again) failed"
cmp -s "$CONF" "$BV_TMP/conf.changed" || bv_fail "make install overwrote a changed config"
grep -q "keeping the existing" "$BV_TMP/install2.log" || bv_fail "install did not say it kept the config"
mk uninstall >"$BV_TMP/uninstall.log" 2>&1 || bv_fail "make uninstall failed"
have=$(find "$D" -type f)
[ "$have" = "$CONF" ] || bv_fail "uninstall with a changed config left: $have"
cmp -s "$CONF" "$BV_TMP/conf.changed" || bv_fail "uninstall altered a changed config"
bv_ok "a changed config survives install and uninstall, alone"

# ---- an unchanged install goes away whole ---------------------------------------
rm -f "$CONF"
mk install >/dev/null 2>&1 && mk uninstall >/dev/null 2>&1 || bv_fail "install + uninstall failed"
have=$(find "$D" -type f -o -type l -o -type d -name '*beaconveil*')
[ -z "$have" ] || bv_fail "uninstall left: $have"
bv_ok "uninstall leaves no file and no beaconveil directory"
