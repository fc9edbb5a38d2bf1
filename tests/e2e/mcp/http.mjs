// The MCP server over Streamable HTTP with the official SDK client: initialize, every tool with
// output-schema validation, cancellation of a long query, ending the session (DELETE) and the
// 404 that follows. Config: argv[2] (JSON: url, admin_url, headers).
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { readConfig, listAndCallTools, callRaw, cancelLongQuery } from './common.mjs';

const cfg = readConfig();
const report = {};
const transport = new StreamableHTTPClientTransport(new URL(cfg.url), { requestInit: { headers: cfg.headers || {} } });
const client = new Client({ name: 'pgshift-e2e-http', version: '3.2.1' });
await client.connect(transport);
report.sessionId = transport.sessionId;
report.protocolVersion = transport.protocolVersion;
report.server = client.getServerVersion();
report.ping = await client.ping();
Object.assign(report, await listAndCallTools(client));
report.rejected = await callRaw(client, 'query', { sql: "SELECT pg_read_file('/etc/passwd')" });
report.cancel = await cancelLongQuery(client, cfg.admin_url);
report.afterCancel = await callRaw(client, 'query', { sql: 'SELECT 42 AS answer' });
await transport.terminateSession();
const after = await fetch(cfg.url, {
  method: 'POST',
  headers: {
    ...(cfg.headers || {}),
    'Content-Type': 'application/json',
    Accept: 'application/json, text/event-stream',
    'MCP-Session-Id': report.sessionId,
    'MCP-Protocol-Version': report.protocolVersion,
  },
  body: JSON.stringify({ jsonrpc: '2.0', id: 99, method: 'tools/list' }),
});
report.afterDelete = { status: after.status, body: await after.text() };
await client.close();
process.stdout.write(JSON.stringify(report) + '\n');
