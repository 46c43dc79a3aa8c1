// Reads Kubernetes manifests as kubectl does: YAML 1.1 (0400 is octal),
// several documents per file, a duplicate key is an error. Shared by
// k8s-validate.mjs and k8s-pod.mjs.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

export function readDocs(files) {
  const docs = [];
  for (const file of files) {
    const text = readFileSync(file, "utf8");
    parseAllDocuments(text, { version: "1.1", uniqueKeys: true }).forEach((d, i) => {
      if (d.errors.length) throw new Error(`${file}: ${d.errors.map((e) => e.message).join("; ")}`);
      const obj = d.toJS();
      if (obj !== null) docs.push({ file, index: i, obj });
    });
  }
  return docs;
}

export const find = (docs, kind, name) =>
  docs.find((d) => d.obj.kind === kind && d.obj.metadata?.name === name)?.obj;
