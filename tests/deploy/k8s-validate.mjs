// node k8s-validate.mjs FILE... — validates Kubernetes manifests with no
// cluster, against the schemas of kubernetes-models (generated from
// Kubernetes' OpenAPI spec and prometheus-operator's CRDs):
//  1. its validators: types, required fields, enums, formats;
//  2. its TypeScript types through tsc: unknown fields, which those
//     validators let pass (as kubeconform -strict would not);
//  3. rules the API server enforces that no schema states, and the
//     references between the objects (volumes, ConfigMap keys, Secrets).
// Prints one line per problem; exit 1 if any.
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { readDocs, find } from "./k8s-docs.mjs";

const MODELS = {
  "v1/Namespace": "kubernetes-models/v1/Namespace",
  "v1/ConfigMap": "kubernetes-models/v1/ConfigMap",
  "v1/Secret": "kubernetes-models/v1/Secret",
  "apps/v1/DaemonSet": "kubernetes-models/apps/v1/DaemonSet",
  "monitoring.coreos.com/v1/PodMonitor": "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor",
};
const problems = [];
const say = (d, msg) => problems.push(`${d.file} (document ${d.index + 1}, ${d.obj?.kind}): ${msg}`);

let docs;
try {
  docs = readDocs(process.argv.slice(2));
} catch (e) {
  console.log(e.message);
  process.exit(1);
}

// 1. the schema validators
for (const d of docs) {
  const mod = MODELS[`${d.obj.apiVersion}/${d.obj.kind}`];
  if (!mod) {
    say(d, `no schema for apiVersion ${d.obj.apiVersion} kind ${d.obj.kind}`);
    continue;
  }
  d.module = mod;
  const Model = (await import(mod))[d.obj.kind];
  try {
    new Model(d.obj).validate();
  } catch (e) {
    say(d, `schema: ${e.message}`);
  }
}

// 2. unknown fields: each document as a typed object literal, whose excess
// properties tsc reports at any depth.
const here = dirname(fileURLToPath(import.meta.url));
const npmDir = here;
const tsc = createRequire(join(npmDir, "package.json")).resolve("typescript/bin/tsc");
const typed = docs.filter((d) => d.module);
if (typed.length) {
  const dir = mkdtempSync(join(tmpdir(), "k8s-strict."));
  const lines = [];
  const owner = []; // generated line -> document
  typed.forEach((d, i) => {
    lines.push(`import type { I${d.obj.kind} as T${i} } from "${d.module}";`);
    owner.push(d);
  });
  typed.forEach((d, i) => {
    const body = `export const doc${i}: T${i} = ${JSON.stringify(d.obj, null, 2)};`.split("\n");
    for (const l of body) {
      lines.push(l);
      owner.push(d);
    }
  });
  writeFileSync(join(dir, "docs.ts"), lines.join("\n") + "\n");
  writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, module: "nodenext", moduleResolution: "nodenext",
      skipLibCheck: true, typeRoots: [], types: [], baseUrl: ".", paths: { "*": [join(npmDir, "node_modules/*")] } },
    files: ["docs.ts"],
  }));
  try {
    execFileSync(process.execPath, [tsc, "-p", dir, "--pretty", "false"], { encoding: "utf8" });
  } catch (e) {
    const out = (e.stdout || "") + (e.stderr || "");
    for (const m of out.matchAll(/docs\.ts\((\d+),\d+\): error TS\d+: (.*)/g)) {
      const n = Number(m[1]) - 1;
      say(owner[n] || typed[0], `strict: ${m[2]} (at: ${(lines[n] || "").trim()})`);
    }
    if (!/docs\.ts\(/.test(out)) problems.push(`tsc failed: ${out.trim()}`);
  }
  rmSync(dir, { recursive: true, force: true });
}

// 3. API server rules and references
for (const d of docs.filter((x) => x.obj.kind === "DaemonSet")) {
  const spec = d.obj.spec || {};
  const tmpl = spec.template || {};
  const pod = tmpl.spec || {};
  const labels = tmpl.metadata?.labels || {};
  for (const [k, v] of Object.entries(spec.selector?.matchLabels || {}))
    if (labels[k] !== v) say(d, `selector ${k}=${v} does not match the template's labels`);
  const ns = d.obj.metadata?.namespace;
  const volumes = new Map((pod.volumes || []).map((v) => [v.name, v]));
  const used = new Set();
  for (const c of [...(pod.initContainers || []), ...(pod.containers || [])]) {
    const sc = c.securityContext || {};
    const add = sc.capabilities?.add || [];
    if (sc.allowPrivilegeEscalation === false && (sc.privileged || add.includes("SYS_ADMIN") || add.includes("CAP_SYS_ADMIN")))
      say(d, `container ${c.name}: the API server refuses allowPrivilegeEscalation: false with privileged or SYS_ADMIN`);
    for (const m of c.volumeMounts || []) {
      used.add(m.name);
      if (!volumes.has(m.name)) say(d, `container ${c.name}: volumeMount ${m.name} names no volume`);
      if (m.mountPropagation === "Bidirectional" && !sc.privileged)
        say(d, `container ${c.name}: mountPropagation Bidirectional needs a privileged container`);
    }
    for (const e of c.env || []) {
      const ref = e.valueFrom?.configMapKeyRef;
      if (!ref) continue;
      const cm = find(docs, "ConfigMap", ref.name);
      if (!cm) say(d, `env ${e.name}: no ConfigMap ${ref.name} among the manifests`);
      else if (!(ref.key in (cm.data || {}))) say(d, `env ${e.name}: ConfigMap ${ref.name} has no key ${ref.key}`);
    }
  }
  for (const [name, v] of volumes) {
    if (!used.has(name)) say(d, `volume ${name} is mounted by no container`);
    if (v.configMap) {
      const cm = find(docs, "ConfigMap", v.configMap.name);
      if (!cm) say(d, `volume ${name}: no ConfigMap ${v.configMap.name}`);
      for (const it of v.configMap.items || [])
        if (cm && !(it.key in (cm.data || {}))) say(d, `volume ${name}: ConfigMap has no key ${it.key}`);
    }
    if (v.secret && !find(docs, "Secret", v.secret.secretName)) say(d, `volume ${name}: no Secret ${v.secret.secretName}`);
  }
  for (const o of docs)
    if (o.obj.kind !== "Namespace" && o.obj.metadata?.namespace !== ns)
      say(o, `namespace ${o.obj.metadata?.namespace} is not the DaemonSet's (${ns})`);
}

for (const p of problems) console.log(p);
if (problems.length) process.exit(1);
console.log(`k8s-validate: ${docs.length} documents valid (schema, strict fields, API rules, references)`);
