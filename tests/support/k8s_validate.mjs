// Validates Kubernetes manifests against Kubernetes' own OpenAPI schemas (the npm package
// kubernetes-models, generated from the API server's OpenAPI) and the prometheus-operator's CRDs
// (@kubernetes-models/prometheus-operator, generated from its CRDs), independently of pgshift.
// Prints one JSON line per document: {"file", "index", "kind", "name", "valid", "errors"}.
// These schemas type every known field and require the required ones; like the API server's
// default (non-strict) field validation they do not refuse unknown fields.
// Usage: node k8s_validate.mjs MANIFEST...
import fs from 'node:fs';
import YAML from 'yaml';

function modulePath(apiVersion, kind) {
  if (apiVersion.startsWith('monitoring.coreos.com/')) {
    return `@kubernetes-models/prometheus-operator/${apiVersion}/${kind}`;
  }
  return `kubernetes-models/${apiVersion}/${kind}`;  // "v1" (core) and "group/version" alike
}

for (const file of process.argv.slice(2)) {
  const docs = YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'));
  for (const [index, doc] of docs.entries()) {
    const m = doc.toJS();
    if (!m) continue;
    const line = { file, index, kind: m.kind, name: m.metadata && m.metadata.name, valid: false, errors: [] };
    let Model;
    try {
      Model = (await import(modulePath(String(m.apiVersion), String(m.kind))))[m.kind];
    } catch (e) {
      line.errors.push(`no schema for ${m.apiVersion}/${m.kind}: ${e.message}`);
    }
    if (Model) {
      try {
        new Model(m).validate();
        line.valid = true;
      } catch (e) {
        line.errors.push(e.message);
      }
    }
    console.log(JSON.stringify(line));
  }
}
