#!/usr/bin/env bash
# deploy/kubernetes/ and deploy/container/ without a cluster or a container
# engine (docs/DEPLOY.md says what that leaves unverified):
#  - every manifest against Kubernetes' and prometheus-operator's schemas,
#    strict about unknown fields, plus the API server's cross-field rules
#    and the references between the objects (tests/deploy/k8s-validate.mjs);
#    broken copies of the manifests must each be rejected;
#  - kustomization.yaml lists every manifest;
#  - the pod as the kubelet would start it (tests/deploy/k8s-pod.mjs): the
#    init container joins ConfigMap and Secret into a config, and refuses a
#    node without bpffs; the daemon runs with the container's exact
#    capabilities on an interface named as in the ConfigMap, answers the
#    liveness probe on the pod's (the node's) address, stops on SIGTERM
#    within the grace period; without either capability it exits 1;
#  - the Containerfile: linted by dockerfile-utils (a broken copy must
#    fail), its build stage's COPY set builds the binary, and the runtime
#    stage installs the package of every library the binary links.
# Needs root (the pod runs in this test's own namespaces, tests/lib/netns.sh).
set -uo pipefail
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/caps.sh"
bv_isolate "$@"

K=$BV_ROOT/deploy/kubernetes
CF=$BV_ROOT/deploy/container/Containerfile
T=$BV_ROOT/tests/deploy
command -v node >/dev/null || bv_fail "node missing: run tools/deps.sh (tools/deps/deploy.list)"
[ -d "$T/node_modules/kubernetes-models" ] && [ -d "$T/node_modules/dockerfile-utils" ] ||
	bv_fail "npm packages missing in tests/deploy/node_modules: run tools/deps.sh"
MANIFESTS=("$K/namespace.yaml" "$K/configmap.yaml" "$K/secret.yaml" "$K/daemonset.yaml" "$K/podmonitor.yaml")

# ---- schemas, strict fields, API rules, references ---------------------------
node "$T/k8s-validate.mjs" "${MANIFESTS[@]}" >"$BV_TMP/valid.out" 2>&1 ||
	bv_fail "the manifests do not validate: $(cat "$BV_TMP/valid.out")"
bv_ok "$(cat "$BV_TMP/valid.out")"

# broken FILE SED-EXPR EXPECTED: the manifests with FILE changed by
# SED-EXPR must be rejected with a message matching EXPECTED.
broken() {
	local f=$1 expr=$2 want=$3 set=() m out
	sed -e "$expr" "$K/$f" >"$BV_TMP/$f"
	cmp -s "$K/$f" "$BV_TMP/$f" && bv_fail "broken $f: '$expr' changed nothing"
	for m in "${MANIFESTS[@]}"; do
		[ "${m##*/}" = "$f" ] && set+=("$BV_TMP/$f") || set+=("$m")
	done
	if out=$(node "$T/k8s-validate.mjs" "${set[@]}" 2>&1); then
		bv_fail "a broken $f ($expr) was accepted"
	fi
	grep -q -- "$want" <<<"$out" || bv_fail "a broken $f ($expr) was rejected, but not for '$want': $out"
	nbroken=$((nbroken + 1))
}
nbroken=0
broken daemonset.yaml 's/hostNetwork: true/hostNetwrok: true/' "'\"hostNetwrok\"' does not exist in type 'IPodSpec'"
broken daemonset.yaml 's/hostNetwork: true/hostNetwork: "yes"/' 'hostNetwork must be boolean'
broken daemonset.yaml 's/mountPropagation: HostToContainer/mountPropagation: HostToContainr/' 'mountPropagation must be equal to one of the allowed values'
broken daemonset.yaml 's/^        - name: beaconveil$/        - nam: beaconveil/' 'must have required property name'
broken daemonset.yaml 's/^            privileged: false/            allowPrivilegeEscalation: false/' 'refuses allowPrivilegeEscalation: false'
broken daemonset.yaml 's/mountPropagation: HostToContainer/mountPropagation: Bidirectional/' 'Bidirectional needs a privileged container'
broken daemonset.yaml 's/key: interface$/key: interfaces/' 'has no key interfaces'
broken daemonset.yaml 's/secretName: beaconveil-keys/secretName: beaconveil-key/' 'no Secret beaconveil-key'
broken configmap.yaml 's/^  interface: eth0/  interface: [eth0]/' 'data/interface must be string'
broken podmonitor.yaml 's/- port: metrics/- port: 9477/' 'port must be string'
broken podmonitor.yaml 's/^      path: \/metrics/      pth: \/metrics/' "'\"pth\"' does not exist"
broken secret.yaml 's/^  namespace: beaconveil/  namespace: default/' "namespace default is not the DaemonSet's"
bv_ok "$nbroken broken copies of the manifests rejected, each for its fault"

want=$(cd "$K" && ls -- *.yaml | grep -vx kustomization.yaml | sort)
have=$(sed -n 's/^  - \(.*\.yaml\)$/\1/p' "$K/kustomization.yaml" | sort)
[ "$want" = "$have" ] || bv_fail "kustomization.yaml resources differ from the manifests: $(diff <(echo "$want") <(echo "$have"))"
bv_ok "kustomization.yaml lists every manifest"

# ---- the pod, as the kubelet would run it ---------------------------------------
# The node: an interface named as in the ConfigMap, with the pod's address
# (hostNetwork: the pod's IP is the node's). The image's entrypoint is
# /usr/sbin/beaconveil, the binary built here (checked below).
grep -q '^ENTRYPOINT \["/usr/sbin/beaconveil"\]$' "$CF" || bv_fail "the image's entrypoint is not /usr/sbin/beaconveil"
IFACE=$(sed -n 's/^  interface: *//p' "$K/configmap.yaml")
POD_IP=198.18.0.1
ip link add "$IFACE" type veth peer name bvk1 && ip link set "$IFACE" up && ip link set bvk1 up &&
	ip addr add "$POD_IP/24" dev "$IFACE" || bv_fail "cannot make the node's interface $IFACE"
node "$T/k8s-pod.mjs" "$BV_TMP/pod" "$POD_IP" "$BUILD/beaconveil" "${MANIFESTS[@]}" >"$BV_TMP/pod.json" ||
	bv_fail "k8s-pod.mjs failed"
[ "$(jq '.init | length' "$BV_TMP/pod.json")" = 1 ] && [ "$(jq '.main | length' "$BV_TMP/pod.json")" = 1 ] ||
	bv_fail "expected one init container and one container"
caps() { jq -r ".$1[0] | if (.drop | index(\"ALL\")) then .add | join(\" \") else error(\"no drop ALL\") end" "$BV_TMP/pod.json"; }
mapfile -t INIT < <(jq -r '.init[0].argv[]' "$BV_TMP/pod.json")
mapfile -t MAIN < <(jq -r '.main[0].argv[]' "$BV_TMP/pod.json")
ICAPS=$(caps init) && MCAPS=$(caps main) || bv_fail "a container does not drop ALL capabilities"
INNP=$(jq -r '.init[0].noNewPrivs | if . then 1 else 0 end' "$BV_TMP/pod.json")
MNNP=$(jq -r '.main[0].noNewPrivs | if . then 1 else 0 end' "$BV_TMP/pod.json")
PROBE=http://$POD_IP:$(jq -r '.main[0].probe.port' "$BV_TMP/pod.json")$(jq -r '.main[0].probe.path' "$BV_TMP/pod.json")
GRACE=$(jq -r .grace "$BV_TMP/pod.json")
MERGED=$BV_TMP/pod/vol/merged-config/beaconveil.conf

runinit() {
	bv_caps_start "$BV_TMP/init.log" "$ICAPS" "$INNP" "${INIT[@]}"
	bv_reap "$BV_DPID" 10
}
umount /sys/fs/bpf
runinit
[ "$BV_RC" = 1 ] && grep -q "no bpffs at /sys/fs/bpf on this node" "$BV_TMP/init.log" ||
	bv_fail "the init container did not refuse a node without bpffs (exit $BV_RC): $(cat "$BV_TMP/init.log")"
mount -t bpf bpf /sys/fs/bpf || bv_fail "cannot mount bpffs again"
runinit
[ "$BV_RC" = 0 ] || bv_fail "the init container failed (exit $BV_RC): $(cat "$BV_TMP/init.log")"
cat "$BV_TMP/pod/vol/config/beaconveil.conf" "$BV_TMP/pod/vol/keys/anonymize.conf" | cmp -s - "$MERGED" ||
	bv_fail "the merged config is not the ConfigMap's config followed by the Secret's section"
[ "$(stat -c %a "$MERGED")" = 600 ] || bv_fail "the merged config is not 0600"
bv_ok "init container (capabilities: none): refuses a node without bpffs; joins ConfigMap and Secret into a 0600 config"

bv_caps_start "$BV_TMP/d1.log" "$MCAPS" "$MNNP" "${MAIN[@]}"
bv_until 20 grep -qs "ready: pid" "$BV_TMP/d1.log" ||
	{ cat "$BV_TMP/d1.log"; bv_fail "the daemon did not get ready with $MCAPS (${MAIN[*]})"; }
grep -q "attached to $IFACE" "$BV_TMP/d1.log" || bv_fail "not attached to $IFACE"
[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$PROBE")" = 200 ] ||
	bv_fail "the liveness probe $PROBE did not get 200"
curl -s --max-time 2 http://127.0.0.1:9477/metrics >/dev/null && bv_fail "metrics answer on the loopback too"
T0=$(date +%s)
bv_stop "$BV_DPID" "$GRACE"
[ "$BV_RC" = 0 ] && grep -q "detached from $IFACE" "$BV_TMP/d1.log" ||
	bv_fail "SIGTERM: exit $BV_RC, or no detach within ${GRACE}s"
bv_ok "daemon with ${MCAPS// /+} only: ready on $IFACE, probe $PROBE 200, SIGTERM detached in $(($(date +%s) - T0))s (grace ${GRACE}s)"

for c in $MCAPS; do
	bv_caps_start "$BV_TMP/less.log" "${MCAPS//$c/}" "$MNNP" "${MAIN[@]}"
	bv_reap "$BV_DPID" 20
	[ "$BV_RC" = 1 ] || { cat "$BV_TMP/less.log"; bv_fail "without $c: exit $BV_RC, not 1"; }
done
bv_ok "without either capability the daemon exits 1"

# The Secret's own recipe for a key gives a config the daemon takes.
printf '[anonymize]\nkey = %s\n' "$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')" >"$BV_TMP/pod/vol/keys/anonymize.conf"
runinit
bv_caps_start "$BV_TMP/d2.log" "$MCAPS" "$MNNP" "${MAIN[@]}"
bv_until 20 grep -qs "ready: pid" "$BV_TMP/d2.log" || { cat "$BV_TMP/d2.log"; bv_fail "a Secret with a key: not ready"; }
bv_stop "$BV_DPID"
bv_ok "a Secret holding a key, as secret.yaml shows: the daemon starts with it"

# ---- the Containerfile ------------------------------------------------------------
lint() { "$T/node_modules/.bin/dockerfile-utils" lint --json "$1"; }
out=$(lint "$CF") && [ "$out" = "[]" ] || bv_fail "dockerfile-utils: $out"
sed -e 's/^COPY Makefile .\//COPY Makefile/' -e 's/^FROM debian:12-slim$/FROM debian:12-slim AS/' "$CF" >"$BV_TMP/Containerfile"
out=$(lint "$BV_TMP/Containerfile") && [ "$out" = "[]" ] && bv_fail "dockerfile-utils accepted a broken Containerfile"
bv_ok "dockerfile-utils lint: no message (a broken copy: $(grep -o '"message"' <<<"$out" | wc -l) messages)"

# The build stage, as it would run: only what it COPYs, then its make.
stage=$(awk '/^FROM /{n++} n == 1' "$CF")
mkdir -p "$BV_TMP/ctx"
while read -r src _; do
	cp -r "$BV_ROOT/$src" "$BV_TMP/ctx/" || bv_fail "COPY $src: not in the repository"
done < <(sed -n 's/^COPY \([^ ]*\) .*/\1/p' <<<"$stage")
target=$(sed -n 's/^RUN make //p' <<<"$stage")
make -s -C "$BV_TMP/ctx" "$target" >"$BV_TMP/ctx.log" 2>&1 || { cat "$BV_TMP/ctx.log"; bv_fail "the build stage's files do not build $target"; }
"$BV_TMP/ctx/$target" --help >/dev/null || bv_fail "the binary built from the build stage's files does not run"
# The runtime stage: the package of every library the binary links, with
# libc6 from the base image.
runtime=" $(awk '/^FROM /{n++} n == 2' "$CF" | tr -s ' \\\n' ' ') libc6 "
for lib in $(readelf -d "$BV_TMP/ctx/$target" | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p'); do
	path=$(ldd "$BV_TMP/ctx/$target" | awk -v l="$lib" '$1 == l { print $3 }')
	real=$(readlink -f "$path")
	# dpkg knows a file by the path its package ships (merged /usr: /lib or /usr/lib)
	pkg=$(dpkg -S "$path" "$real" "${real#/usr}" 2>/dev/null | cut -d: -f1 | head -1)
	[ -n "$pkg" ] || bv_fail "$lib: no Debian package owns $path"
	[[ $runtime == *" $pkg "* ]] || bv_fail "$lib is in $pkg, which the runtime stage does not install"
done
bv_ok "build stage: its COPY set builds $target; runtime stage: every linked library's package installed"
