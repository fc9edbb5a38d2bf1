// Validates Kubernetes manifests against CRD schemas with ajv, independently of pgshift's own
// validator: reads the CRD YAML itself, makes each openAPIV3Schema strict the way the API server
// would (unknown fields are errors instead of being pruned; int-or-string; nullable), and prints
// one JSON line per document: {"file", "index", "kind", "name", "valid", "errors"}.
// Usage: node ajv_validate.mjs CRD_DIR MANIFEST...
import fs from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import YAML from 'yaml';

function strict(s) {
  if (Array.isArray(s)) return s.map(strict);
  if (s === null || typeof s !== 'object') return s;
  const out = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === 'properties' || k === 'patternProperties') {
      out[k] = Object.fromEntries(Object.entries(v).map(([name, sub]) => [name, strict(sub)]));
    } else if (['items', 'additionalProperties', 'not', 'allOf', 'anyOf', 'oneOf'].includes(k)) {
      out[k] = strict(v);
    } else if (!k.startsWith('x-kubernetes-') && k !== 'nullable' && k !== 'format') {
      out[k] = v;
    }
  }
  if (s['x-kubernetes-int-or-string']) {
    delete out.type;
    out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  }
  if (s.nullable && typeof out.type === 'string') out.type = [out.type, 'null'];
  if (s.type === 'object' && s.properties && !('additionalProperties' in s) && !s['x-kubernetes-preserve-unknown-fields']) {
    out.additionalProperties = false;
  }
  return out;
}

const [crdDir, ...manifests] = process.argv.slice(2);
const ajv = new Ajv({ strict: false, allErrors: true });
const validators = new Map();  // key -> schema, compiled on first use (the Cluster schema is large)
function validator(key) {
  let v = validators.get(key);
  if (v && typeof v !== 'function') validators.set(key, (v = ajv.compile(strict(v))));
  return v;
}
for (const file of fs.readdirSync(crdDir).filter((f) => f.endsWith('.yaml'))) {
  for (const doc of YAML.parseAllDocuments(fs.readFileSync(path.join(crdDir, file), 'utf8'))) {
    const crd = doc.toJS();
    if (!crd || crd.kind !== 'CustomResourceDefinition') continue;
    for (const v of crd.spec.versions) {
      if (!v.schema) continue;
      validators.set(`${crd.spec.group}/${v.name}/${crd.spec.names.kind}`, v.schema.openAPIV3Schema);
    }
  }
}
for (const file of manifests) {
  YAML.parseAllDocuments(fs.readFileSync(file, 'utf8')).forEach((doc, index) => {
    const m = doc.toJS();
    if (!m) return;
    const validate = validator(`${m.apiVersion}/${m.kind}`);
    const valid = validate ? validate(m) : false;
    const errors = validate ? (validate.errors || []).map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`)
                            : [`no CRD for ${m.apiVersion}/${m.kind}`];
    console.log(JSON.stringify({ file, index, kind: m.kind, name: m.metadata && m.metadata.name, valid, errors }));
  });
}
