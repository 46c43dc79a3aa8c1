// node grafana-check.mjs DASHBOARD.json RULES-OUT.yaml — checks a Grafana
// dashboard without a Grafana:
//  1. against Grafana's dashboard schema as @grafana/schema publishes it
//     (TypeScript types generated from Grafana's CUE kinds), through tsc,
//     each panel also against its plugin's options (timeseries, stat);
//     unknown fields and wrong enum values are errors;
//  2. every PromQL expression (panel targets, variable queries) parsed with
//     Prometheus' own lezer grammar; every metric name must be a metric of
//     docs/METRICS.md and be written by user/metrics.c; every label matched
//     or grouped by must be a label of such a metric (or one Prometheus
//     adds: instance, job, and node from podmonitor.yaml), and a matcher's
//     value must match one of the values METRICS.md lists for it;
//  3. writes every expression as a recording rule to RULES-OUT for
//     `promtool check rules` (the caller runs it).
// Prints one line per problem; exit 1 if any.
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { parser } from "@prometheus-io/lezer-promql";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "../..");
const [dashFile, rulesOut] = process.argv.slice(2);
const problems = [];
const dash = JSON.parse(readFileSync(dashFile, "utf8"));

// ---- 1. the schema, through tsc ---------------------------------------------
// The declaration files themselves (the package maps its export names to
// them, which the path mapping below does not follow).
const S = "@grafana/schema/dist/types/raw";
const PLUGINS = {
  timeseries: `Plugin<TimeSeries.Options, TimeSeries.FieldConfig>`,
  stat: `Plugin<Stat.Options, Record<string, never>>`,
  row: `Lit<RowPanel>`,
};
const panels = dash.panels || [];
const lines = [
  `import type { Dashboard, Panel, RowPanel, FieldConfig, FieldConfigSource } from "${S}/dashboard/x/types.gen";`,
  `import type * as TimeSeries from "${S}/composable/timeseries/panelcfg/x/types.gen";`,
  `import type * as Stat from "${S}/composable/stat/panelcfg/x/types.gen";`,
  // JSON has the strings, the types have TypeScript enums: compare by value.
  "type Lit<T> = T extends string ? `${T}` : T extends readonly (infer U)[] ? Lit<U>[] : T extends object ? { [K in keyof T]: Lit<T[K]> } : T;",
  `type Plugin<O, C> = Omit<Lit<Panel>, "options" | "fieldConfig"> & { options: Lit<O>; fieldConfig: { defaults: Omit<Lit<FieldConfig>, "custom"> & { custom?: Lit<C> }; overrides: Lit<FieldConfigSource["overrides"]> } };`,
];
const where = lines.map(() => "dashboard");
const emit = (what, type, obj) => {
  for (const l of `export const ${what.replace(/\W/g, "_")}: ${type} = ${JSON.stringify(obj, null, 2)};`.split("\n")) {
    lines.push(l);
    where.push(what);
  }
};
const { panels: _, ...top } = dash;
emit("dashboard", `Omit<Lit<Dashboard>, "panels"> & { panels: unknown[] }`, { ...top, panels: [] });
panels.forEach((p, i) => {
  const type = PLUGINS[p.type];
  if (!type) problems.push(`panel ${i} (${p.title}): type ${p.type} has no schema here (only ${Object.keys(PLUGINS)})`);
  else emit(`panel ${i} (${p.title})`, type, p);
});
const dir = mkdtempSync(join(tmpdir(), "grafana-schema."));
writeFileSync(join(dir, "dash.ts"), lines.join("\n") + "\n");
writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({
  compilerOptions: { strict: true, noEmit: true, module: "nodenext", moduleResolution: "nodenext",
    skipLibCheck: true, types: [], baseUrl: ".", paths: { "*": [join(here, "node_modules/*")] } },
  files: ["dash.ts"],
}));
const tsc = createRequire(join(here, "package.json")).resolve("typescript/bin/tsc");
try {
  execFileSync(process.execPath, [tsc, "-p", dir, "--pretty", "false"], { encoding: "utf8" });
} catch (e) {
  const out = (e.stdout || "") + (e.stderr || "");
  for (const m of out.matchAll(/dash\.ts\((\d+),\d+\): error TS\d+: (.*)/g))
    problems.push(`schema: ${where[m[1] - 1]}: ${m[2]} (at: ${(lines[m[1] - 1] || "").trim()})`);
  if (!/dash\.ts\(/.test(out)) problems.push(`tsc failed: ${out.trim()}`);
}
rmSync(dir, { recursive: true, force: true });

// ---- 2. metric names, labels and values ---------------------------------------
// METRICS.md rows: | `name` | type | `label`, `label` | meaning with `value`s |
const metrics = new Map();
for (const line of readFileSync(join(root, "docs/METRICS.md"), "utf8").split("\n")) {
  const m = line.match(/^\| `(beaconveil_[a-z_]+)` \| (\w+) \|([^|]*)\|(.*)\|\s*$/);
  if (!m) continue;
  const ticks = (s) => [...s.matchAll(/`([^`]+)`/g)].map((x) => x[1]);
  metrics.set(m[1], { labels: ticks(m[3]), values: ticks(m[4]) });
}
const exporter = readFileSync(join(root, "user/metrics.c"), "utf8");
const TARGET_LABELS = ["instance", "job", "node"];
const GRAFANA_VARS = { __rate_interval: "5m", __interval: "1m", __range: "1h" };
const unvar = (s) => s.replace(/\$\{?(\w+)\}?/g, (all, v) => GRAFANA_VARS[v] ?? ".*");

const exprs = [];
panels.forEach((p, i) => (p.targets || []).forEach((t) => exprs.push({ where: `panel ${i} (${p.title}) ${t.refId}`, expr: t.expr })));
for (const v of dash.templating?.list || []) {
  if (v.type !== "query") continue;
  const q = typeof v.query === "string" ? v.query : v.query?.query;
  const m = q && q.match(/^label_values\((.*),\s*(\w+)\)$/);
  if (!m) {
    problems.push(`variable ${v.name}: not a label_values(SELECTOR, LABEL) query: ${q}`);
    continue;
  }
  exprs.push({ where: `variable ${v.name}`, expr: m[1], label: m[2] });
}

function checkExpr({ where, expr, label }) {
  if (typeof expr !== "string" || !expr.trim()) return problems.push(`${where}: no expression`);
  const q = unvar(expr);
  const tree = parser.parse(q);
  const text = (n) => q.slice(n.from, n.to);
  const names = new Set();
  const matchers = [];
  const grouping = [];
  let syntax = false;
  tree.iterate({
    enter(n) {
      if (n.type.isError) syntax = true;
      if (n.name === "VectorSelector") {
        const id = n.node.getChild("Identifier");
        if (id) names.add(text(id));
      }
      if (n.name === "UnquotedLabelMatcher") {
        const ln = n.node.getChild("LabelName"), op = n.node.getChild("MatchOp"), v = n.node.getChild("StringLiteral");
        matchers.push({ label: text(ln), op: text(op), value: JSON.parse(text(v)) });
      }
      if (n.name === "GroupingLabels") for (const c of n.node.getChildren("LabelName")) grouping.push(text(c));
    },
  });
  if (syntax) problems.push(`${where}: PromQL syntax error in: ${expr}`);
  if (!names.size) problems.push(`${where}: no metric name in: ${expr}`);
  const known = [...names].filter((n) => metrics.has(n));
  for (const n of names) {
    if (!metrics.has(n)) problems.push(`${where}: metric ${n} is not in docs/METRICS.md`);
    if (!exporter.includes(`"${n}`)) problems.push(`${where}: metric ${n} is not written by user/metrics.c`);
  }
  const labelsOf = new Set([...TARGET_LABELS, ...known.flatMap((n) => metrics.get(n).labels)]);
  for (const l of [...grouping, ...(label ? [label] : [])])
    if (!labelsOf.has(l)) problems.push(`${where}: label ${l} belongs to none of ${[...names]}`);
  for (const m of matchers) {
    if (!labelsOf.has(m.label)) {
      problems.push(`${where}: label ${m.label} belongs to none of ${[...names]}`);
      continue;
    }
    if (TARGET_LABELS.includes(m.label) || m.value === ".*") continue;
    const values = known.flatMap((n) => metrics.get(n).values);
    const re = new RegExp(`^(?:${m.value})$`);
    const ok = m.op === "=~" ? values.some((v) => re.test(v)) : m.op === "=" ? values.includes(m.value) : true;
    if (!ok) problems.push(`${where}: ${m.label}${m.op}"${m.value}" matches no value METRICS.md lists for ${known}`);
  }
}
exprs.forEach(checkExpr);

// ---- 3. every expression as a recording rule, for promtool ----------------------
const rules = exprs.map((e, i) => `      - record: beaconveil:dashboard_expr_${i}\n        expr: ${JSON.stringify(unvar(e.expr))}`);
writeFileSync(rulesOut, `# generated by tests/deploy/grafana-check.mjs from ${dashFile}\ngroups:\n  - name: dashboard\n    rules:\n${rules.join("\n")}\n`);

for (const p of problems) console.log(p);
if (problems.length) process.exit(1);
console.log(`grafana-check: ${panels.length} panels match the schema; ${exprs.length} expressions use ${metrics.size ? "only" : "NO"} metrics and labels of docs/METRICS.md`);
