// bench/mcp, stdio part: the same statements through `pgshift mcp` (stdio) and through the
// reference server `@modelcontextprotocol/server-postgres` (test-only npm package), both driven
// by the official MCP TypeScript SDK client over stdio, against the same database as the same
// role. Calls are interleaved (statement i goes to both servers, the order alternating), so
// load from elsewhere on the machine falls on both alike. Prints p50/p90/p99/max per server and
// the ratios pgshift / reference. Warm-up calls (connections opened, plans prepared) are not
// counted. Started by bench_mcp (which builds the database); config JSON in argv[2]:
//   { "binary": "...", "db_url": "postgresql://reader:...@127.0.0.1:port/postgres",
//     "audit_log": "/tmp/.../audit.jsonl", "statements": ["SELECT ...", ...], "warmup": 50,
//     "before": "/path/to/another/pgshift" }   (optional: a third server, for a before/after)
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const require = createRequire(import.meta.url);
const referencePackage = require.resolve('@modelcontextprotocol/server-postgres/package.json');
const referenceVersion = JSON.parse(readFileSync(referencePackage, 'utf8')).version;

async function connect(name, command, args) {
  const transport = new StdioClientTransport({ command, args, env: { PATH: process.env.PATH }, stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const client = new Client({ name: 'pgshift-bench', version: '1.0.0' });
  await client.connect(transport);
  return { name, client, samples: [], errors: 0, firstError: '', stderr: () => stderr };
}

async function call(server, sql, record) {
  const t0 = performance.now();
  let error = '';
  try {
    const result = await server.client.callTool({ name: 'query', arguments: { sql } });
    if (result.isError) error = JSON.stringify(result.content).slice(0, 300);
  } catch (e) {
    error = String(e).slice(0, 300);
  }
  const ms = performance.now() - t0;
  if (!record) return;
  if (error) {
    server.errors++;
    server.firstError ||= error;
  } else {
    server.samples.push(ms);
  }
}

function percentile(values, p) {
  if (!values.length) return 0;
  const v = [...values].sort((a, b) => a - b);
  return v[Math.min(v.length - 1, Math.floor(p * v.length))];
}

const pgshiftArgs = (audit) => [
  'mcp', '--db', cfg.db_url, '--identity', 'bench', '--rate', '1000000/min', '--audit-log', audit,
];
const pgshift = await connect('pgshift', cfg.binary, pgshiftArgs(cfg.audit_log));
const reference = await connect(`server-postgres ${referenceVersion}`, 'node', [
  join(dirname(referencePackage), 'dist/index.js'), cfg.db_url,
]);
const before = cfg.before ? await connect('pgshift (before)', cfg.before, pgshiftArgs(`${cfg.audit_log}.before`)) : null;
const servers = before ? [pgshift, reference, before] : [pgshift, reference];

const warmup = cfg.warmup ?? 50;
for (let i = 0; i < warmup; i++) {
  for (const s of servers) await call(s, cfg.statements[i % cfg.statements.length], false);
}
const started = performance.now();
for (let i = 0; i < cfg.statements.length; i++) {
  // Each server goes first as often as the others.
  const order = servers.map((_, k) => servers[(i + k) % servers.length]);
  for (const s of order) await call(s, cfg.statements[i], true);
}
const seconds = (performance.now() - started) / 1000;

const fmt = (x) => x.toFixed(2).padStart(7);
console.log(`stdio, one client per server, ${cfg.statements.length} statements each, interleaved ` +
            `(${warmup} warm-up calls each not counted; ${seconds.toFixed(1)} s)`);
for (const s of servers) {
  const m = s.samples;
  console.log(`${s.name.padEnd(24)} ${String(m.length).padStart(5)} ok  p50 ${fmt(percentile(m, 0.5))} ms  ` +
              `p90 ${fmt(percentile(m, 0.9))} ms  p99 ${fmt(percentile(m, 0.99))} ms  max ${fmt(percentile(m, 1))} ms  ` +
              `errors ${s.errors}${s.firstError ? ` (first: ${s.firstError})` : ''}`);
}
for (const s of before ? [pgshift, before] : [pgshift]) {
  const ratio = (p) => percentile(s.samples, p) / percentile(reference.samples, p);
  console.log(`${s.name} / reference: p50 ${ratio(0.5).toFixed(2)}x  p90 ${ratio(0.9).toFixed(2)}x  ` +
              `p99 ${ratio(0.99).toFixed(2)}x (goal: p99 within 1.5x)`);
}

for (const s of servers) await s.client.close();
if (servers.some((s) => s.errors)) {
  for (const s of servers) if (s.errors) console.error(`${s.name} stderr:\n${s.stderr()}`);
  process.exit(1);
}
