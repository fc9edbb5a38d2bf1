// Shared by the MCP e2e scripts: the official SDK client, JSON Schema 2020-12 validation of
// structuredContent against each tool's outputSchema (ajv), and the checks every transport runs.
// Scripts print one JSON report on stdout; the gtest driver (tests/e2e/mcp_sdk_test.cpp) asserts.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';

export function readConfig() {
  return JSON.parse(readFileSync(process.argv[2], 'utf8'));
}

export function psql(url, sql) {
  return execFileSync('psql', [url, '-XAtc', sql], { encoding: 'utf8' }).trim();
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Every tool with arguments that must succeed on the canary database.
export const TOOL_CALLS = {
  list_schemas: {},
  list_tables: { schema: 'public' },
  describe_table: { schema: 'public', table: 'orders' },
  query: { sql: 'SELECT id, amount, status FROM orders ORDER BY id', limit: 5 },
  explain: { sql: 'SELECT * FROM orders WHERE account_id = 3' },
  health: {},
  top_queries: { order: 'calls', limit: 5 },
  migration_status: {},
};

function textOf(result) {
  return (result.content || []).filter((c) => c.type === 'text').map((c) => c.text).join('\n');
}

// The JSON inside the untrusted-data fence of a text content block, or null.
function fenced(text) {
  const m = /^(.*)\n<<<UNTRUSTED-DATA ([0-9a-f]+)>>>\n([\s\S]*)\n<<<END UNTRUSTED-DATA \2>>>$/.exec(text);
  if (!m) return null;
  return { warning: m[1], boundary: m[2], body: JSON.parse(m[3]) };
}

export async function listAndCallTools(client) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  const listed = await client.listTools();
  const report = { tools: [], calls: {} };
  const validators = {};
  for (const tool of listed.tools) {
    report.tools.push({
      name: tool.name,
      readOnlyHint: tool.annotations?.readOnlyHint === true,
      hasInputSchema: typeof tool.inputSchema === 'object',
      hasOutputSchema: typeof tool.outputSchema === 'object',
    });
    validators[tool.name] = ajv.compile(tool.outputSchema);
  }
  for (const [name, args] of Object.entries(TOOL_CALLS)) {
    const entry = { called: false };
    try {
      const result = await client.callTool({ name, arguments: args });
      entry.called = true;
      entry.isError = result.isError === true;
      entry.text = textOf(result).slice(0, 2000);
      const validate = validators[name];
      entry.valid = validate ? validate(result.structuredContent) : false;
      entry.validationErrors = validate?.errors ? ajv.errorsText(validate.errors) : '';
      const f = fenced(textOf(result));
      entry.fenced = f !== null;
      entry.textMatchesStructured = f !== null && JSON.stringify(f.body) === JSON.stringify(result.structuredContent);
      entry.structured = result.structuredContent;
    } catch (e) {
      entry.exception = String(e && e.message ? e.message : e);
    }
    report.calls[name] = entry;
  }
  return report;
}

export async function callRaw(client, name, args, options) {
  try {
    const r = await client.callTool({ name, arguments: args }, undefined, options);
    let error = null;
    if (r.isError) {
      try {
        error = JSON.parse(textOf(r)).error;
      } catch {
        error = { message: textOf(r) };
      }
    }
    return { isError: r.isError === true, error, structured: r.structuredContent ?? null };
  } catch (e) {
    return { exception: String(e.message || e), code: e.code ?? null };
  }
}

// Starts a long query, waits until its backend is active (seen with psql as the superuser: the
// only active session whose application_name is an MCP correlation id; its query text is the
// engine's FETCH from the cursor, not the statement),
// cancels the request through the SDK (notifications/cancelled), then measures how long the
// backend keeps running it.
export async function cancelLongQuery(client, adminUrl) {
  const sql = 'SELECT count(*) FROM generate_series(1, 2000000000) AS g';
  const running = "FROM pg_stat_activity WHERE state = 'active' AND application_name LIKE 'pgshift/mcp/%'";
  const active = () => Number(psql(adminUrl, `SELECT count(*) ${running}`));
  const ac = new AbortController();
  const call = client.callTool({ name: 'query', arguments: { sql } }, undefined, { signal: ac.signal, timeout: 120000 });
  call.catch(() => {});
  const out = { sawRunning: false, stoppedAfterMs: null, applicationName: null };
  for (let i = 0; i < 200 && !out.sawRunning; i++) {
    if (active() > 0) out.sawRunning = true;
    else await sleep(50);
  }
  if (!out.sawRunning) return out;
  out.applicationName = psql(adminUrl, `SELECT application_name ${running} LIMIT 1`);
  const t0 = Date.now();
  ac.abort('e2e test cancels the long query');
  while (Date.now() - t0 < 10000) {
    if (active() === 0) {
      out.stoppedAfterMs = Date.now() - t0;
      break;
    }
    await sleep(20);
  }
  try {
    await call;
    out.callResult = 'resolved';
  } catch (e) {
    out.callResult = 'rejected: ' + String(e.message || e);
  }
  return out;
}

export async function runCorpus(client, entries) {
  const results = [];
  for (const sql of entries) results.push(await callRaw(client, 'query', { sql }));
  return results;
}
