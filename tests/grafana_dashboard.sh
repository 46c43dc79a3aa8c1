#!/usr/bin/env bash
# deploy/grafana/ without a Grafana (none installs here: docs/DEPLOY.md):
# the dashboard against Grafana's published dashboard schema and its panel
# plugins' options, every PromQL expression parsed by Prometheus' grammar
# and by promtool, every metric and label checked against docs/METRICS.md
# and user/metrics.c (tests/deploy/grafana-check.mjs); broken copies must
# each be rejected for their fault; the provisioning file points Grafana at
# a dashboard directory. Needs no root.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
T=tests/deploy
G=deploy/grafana
DASH=$G/beaconveil.json
tmp=$(mktemp -d /tmp/grafana_dashboard.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() {
	echo "grafana_dashboard: FAIL: $*" >&2
	exit 1
}
ok() { echo "grafana_dashboard: ok: $*"; }
command -v node >/dev/null || fail "node missing: run tools/deps.sh (tools/deps/deploy.list)"
command -v promtool >/dev/null || fail "promtool missing: run tools/deps.sh (prometheus)"
[ -d $T/node_modules/@grafana/schema ] && [ -d $T/node_modules/@prometheus-io/lezer-promql ] ||
	fail "npm packages missing in $T/node_modules: run tools/deps.sh"

# check DASHBOARD: grafana-check.mjs, then promtool on its rules file.
check() {
	node $T/grafana-check.mjs "$1" "$tmp/rules.yaml" 2>&1 &&
		promtool check rules "$tmp/rules.yaml" 2>&1
}
out=$(check "$DASH") || fail "the dashboard does not pass: $out"
ok "$(head -1 <<<"$out")"
ok "promtool check rules: $(grep -o 'SUCCESS: [0-9]* rules found' <<<"$out")"

# broken SED-EXPR EXPECTED: the dashboard changed by SED-EXPR must fail,
# with a message matching EXPECTED.
n=0
broken() {
	sed -e "$1" "$DASH" >"$tmp/broken.json"
	cmp -s "$DASH" "$tmp/broken.json" && fail "broken: '$1' changed nothing"
	if out=$(check "$tmp/broken.json"); then
		fail "a broken dashboard ($1) was accepted"
	fi
	grep -q -- "$2" <<<"$out" || fail "a broken dashboard ($1) was rejected, but not for '$2': $out"
	n=$((n + 1))
}
broken '0,/beaconveil_visitors_unique_estimate/s//beaconveil_visitors_unique/' 'metric beaconveil_visitors_unique is not in docs/METRICS.md'
broken '0,/sum by (reason)/s//sum by (reasn)/' 'label reasn belongs to none of beaconveil_decisions_total'
broken '0,/reason=\\"anonymized\\"/s//reason=\\"anonymised\\"/' 'reason="anonymised" matches no value'
broken '0,/{location}/s//{location}/; 0,/sum by (location)/s//sum by (locaton)/' 'label locaton belongs to none'
broken '0,/sum(rate(beaconveil_events_lost_total/s//sum(rate(beaconveil_events_lost_total[/' 'PromQL syntax error'
broken '0,/"title": "Decisions by reason"/s//"titel": "Decisions by reason"/' "'\"titel\"' does not exist"
broken '0,/"placement": "right"/s//"placement": "botom"/' "Type '\"botom\"' is not assignable"
broken '0,/"h": 9,/s//"h": "9",/' "Type 'string' is not assignable to type 'number'"
broken '0,/"type": "timeseries"/s//"type": "graph"/' 'type graph has no schema here'
broken 's/label_values(beaconveil_app_decisions_total, app)/label_values(beaconveil_app_decisions_total, application)/' 'label application belongs to none'
ok "$n broken copies of the dashboard rejected, each for its fault"

# promtool alone, on an expression lezer's grammar would also refuse: the
# rules file is really read.
printf 'groups:\n  - name: x\n    rules:\n      - record: x:y\n        expr: "sum(rate(beaconveil_packets_total[5m]) by"\n' >"$tmp/bad-rules.yaml"
promtool check rules "$tmp/bad-rules.yaml" >/dev/null 2>&1 && fail "promtool accepted a broken expression"
ok "promtool rejects a broken expression"

# The provisioning file: a file provider whose directory holds the
# dashboard by its file name, and the dashboard has a fixed uid.
top=$PWD
out=$(cd $T && node --input-type=module -e '
import { readFileSync } from "node:fs";
import { parse } from "yaml";
const p = parse(readFileSync(process.argv[1], "utf8"));
const d = JSON.parse(readFileSync(process.argv[2], "utf8"));
const bad = [];
if (p.apiVersion !== 1) bad.push("apiVersion is not 1");
const prov = (p.providers || []).filter((x) => x.type === "file" && x.options && x.options.path);
if (prov.length !== 1) bad.push("expected one file provider with options.path");
if (!/^[a-z0-9-]+$/.test(d.uid || "")) bad.push("the dashboard has no fixed uid");
if (d.id !== undefined && d.id !== null) bad.push("a provisioned dashboard must not carry an id");
console.log(bad.length ? bad.join("; ") : prov[0].options.path);
process.exit(bad.length ? 1 : 0);
' "$top/$G/provisioning/dashboards/beaconveil.yaml" "$top/$DASH") || fail "provisioning: $out"
ok "provisioning: one file provider reading $out (dashboard uid $(sed -n 's/^  "uid": "\(.*\)",$/\1/p' "$DASH"))"
