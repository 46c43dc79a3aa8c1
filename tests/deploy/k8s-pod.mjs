// node k8s-pod.mjs OUTDIR POD_IP ENTRYPOINT FILE... — what the kubelet
// would run for the DaemonSet's pod, for tests/deploy_manifests.sh to run
// without a cluster: the ConfigMap, Secret and emptyDir volumes are made as
// directories under OUTDIR and hostPath volumes are the paths themselves;
// each container's command line has $(VAR) expanded from its env (ConfigMap
// keys, status.podIP) and its mount paths replaced by those directories.
// Prints JSON: { init: [container], main: [container], grace }, a container
// being { name, argv, add, drop, noNewPrivs, probe }.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readDocs, find } from "./k8s-docs.mjs";

const [out, podIP, entrypoint, ...files] = process.argv.slice(2);
const docs = readDocs(files);
const ds = docs.find((d) => d.obj.kind === "DaemonSet").obj;
const pod = ds.spec.template.spec;

const volDir = new Map();
for (const v of pod.volumes) {
  if (v.hostPath) {
    volDir.set(v.name, v.hostPath.path);
    continue;
  }
  const dir = join(out, "vol", v.name);
  mkdirSync(dir, { recursive: true });
  volDir.set(v.name, dir);
  let data = {};
  if (v.configMap) {
    const cm = find(docs, "ConfigMap", v.configMap.name);
    const items = v.configMap.items || Object.keys(cm.data).map((k) => ({ key: k, path: k }));
    for (const it of items) data[it.path] = cm.data[it.key];
  } else if (v.secret) {
    const s = find(docs, "Secret", v.secret.secretName);
    for (const [k, b64] of Object.entries(s.data || {})) data[k] = Buffer.from(b64, "base64").toString();
    Object.assign(data, s.stringData || {});
  } else if (!v.emptyDir) {
    throw new Error(`volume ${v.name}: kind not simulated`);
  }
  for (const [path, text] of Object.entries(data)) writeFileSync(join(dir, path), text);
}

function envOf(c) {
  const env = {};
  for (const e of c.env || []) {
    if ("value" in e) env[e.name] = e.value;
    else if (e.valueFrom?.configMapKeyRef) {
      const r = e.valueFrom.configMapKeyRef;
      env[e.name] = find(docs, "ConfigMap", r.name).data[r.key];
    } else if (e.valueFrom?.fieldRef?.fieldPath === "status.podIP") env[e.name] = podIP;
    else throw new Error(`env ${e.name}: source not simulated`);
  }
  return env;
}

function container(c) {
  const env = envOf(c);
  const mounts = (c.volumeMounts || []).map((m) => [m.mountPath, volDir.get(m.name)])
    .sort((a, b) => b[0].length - a[0].length);
  const fix = (s) => {
    s = s.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (all, n) => (n in env ? env[n] : all));
    for (const [from, to] of mounts) if (from !== to) s = s.split(from).join(to);
    return s;
  };
  const argv = [...(c.command || [entrypoint]), ...(c.args || [])].map(fix);
  const sc = c.securityContext || {};
  const p = c.livenessProbe?.httpGet;
  const port = p && (typeof p.port === "number" ? p.port : c.ports.find((x) => x.name === p.port).containerPort);
  return {
    name: c.name, argv,
    add: sc.capabilities?.add || [], drop: sc.capabilities?.drop || [],
    noNewPrivs: sc.allowPrivilegeEscalation === false,
    probe: p ? { path: p.path, port } : null,
  };
}

console.log(JSON.stringify({
  init: (pod.initContainers || []).map(container),
  main: pod.containers.map(container),
  grace: pod.terminationGracePeriodSeconds ?? 30,
}));
