// The MCP server over stdio with the official SDK client: initialize, every tool, limits,
// cancellation, the bypass and legitimate corpora, the rate limit. Config: argv[2] (JSON).
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { readConfig, listAndCallTools, callRaw, cancelLongQuery, runCorpus } from './common.mjs';

const cfg = readConfig();
const report = {};

async function connect(extraArgs, clientName) {
  const transport = new StdioClientTransport({
    command: cfg.binary,
    args: ['mcp', '--identity', 'e2e-agent', ...extraArgs],
    env: { PGSHIFT_DB_URL: cfg.db_url, PATH: process.env.PATH },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d) => (stderr += d));
  const client = new Client({ name: clientName, version: '7.1.0' });
  await client.connect(transport);
  return { client, transport, stderr: () => stderr };
}

const main = await connect(
  ['--timeout', '60s', '--rate', '100000/min', '--audit-log', cfg.audit_log],
  'pgshift-e2e-stdio',
);
report.server = main.client.getServerVersion();
report.capabilities = main.client.getServerCapabilities();
report.ping = await main.client.ping();
Object.assign(report, await listAndCallTools(main.client));
try {
  await main.client.callTool({ name: 'drop_everything', arguments: {} });
  report.unknownTool = { threw: false };
} catch (e) {
  report.unknownTool = { threw: true, code: e.code };
}
report.overCap = await callRaw(main.client, 'query', { sql: 'SELECT 1', limit: 1000000 });
report.bytesCap = await callRaw(main.client, 'query', {
  sql: "SELECT g, repeat('x', 100000) AS big FROM generate_series(1, 10) g",
});
report.missingArg = await callRaw(main.client, 'describe_table', { schema: 'public' });
report.notFound = await callRaw(main.client, 'describe_table', { schema: 'public', table: 'nope' });
report.explainWrite = await callRaw(main.client, 'explain', { sql: 'DELETE FROM orders' });
// A server error's position, counted in the caller's text (past a comment and a multibyte character).
const badInput = "-- é\nSELECT * FROM orders\nWHERE account_id = 'x'";
report.queryBadInput = await callRaw(main.client, 'query', { sql: badInput });
report.explainBadInput = await callRaw(main.client, 'explain', { sql: badInput });
report.cancel = await cancelLongQuery(main.client, cfg.admin_url);
report.afterCancel = await callRaw(main.client, 'query', { sql: 'SELECT 42 AS answer' });
report.bypass = await runCorpus(main.client, cfg.bypass);
report.legit = await runCorpus(main.client, cfg.legit);
await main.client.close();
report.stderr = main.stderr().slice(-4000);

const limited = await connect(['--rate', '3/min'], 'pgshift-e2e-rate');
report.rate = [];
for (let i = 0; i < 3; i++) report.rate.push(await callRaw(limited.client, 'list_schemas', {}));
await limited.client.close();

process.stdout.write(JSON.stringify(report) + '\n');
