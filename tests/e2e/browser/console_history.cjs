// Drives Debian's chromium (playwright-core) through the console's History tab as a person
// would: runs statements in the SQL tab (one ok, one the gate refuses, one the server rejects),
// opens the History tab, opens an entry in the SQL editor with one click, runs it, then clears
// the history. Writes what it saw as JSON for tests/e2e/console_history_browser_test.cpp; it
// asserts nothing itself.
//   node console_history.cjs CONFIG.json
// CONFIG: {base, artifacts, userDataDir, output, sqlOk, sqlRejected, sqlError}
'use strict';

const fs = require('fs');
const { waitForConsole, openConsolePage, runMain } = require('./common.cjs');

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));

async function main() {
  await waitForConsole(config.base);
  const out = { console: [], pageErrors: [], cspViolations: [], apiSqlRequests: 0 };
  const { page, collectCsp, shot, finish } = await openConsolePage(config, out);
  page.on('request', (r) => { if (r.url().includes('/api/sql')) out.apiSqlRequests += 1; });
  const runInEditor = async (sql) => {
    if (sql !== null) await page.fill('#sql-editor', sql);
    await page.focus('#sql-editor');
    await Promise.all([
      page.waitForResponse((r) => r.url().includes('/api/sql')),
      page.keyboard.press('Control+Enter'),
    ]);
    await page.waitForSelector('#sql-run:not([disabled])');
    await page.waitForSelector('#sql-status:not(.running)');
  };
  const historyRows = async () => page.$$eval('#history-table tbody tr', (rows) => rows.map((tr) => ({
    id: tr.dataset.id,
    outcome: tr.dataset.outcome,
    statement: tr.querySelector('.history-statement').textContent,
    outcomeText: tr.cells[2].textContent,
    rows: tr.cells[4].textContent,
    rerun: tr.querySelector('a.rerun') ? tr.querySelector('a.rerun').getAttribute('href') : null,
  })));

  await page.goto(config.base + '/sql');
  await runInEditor(config.sqlOk);
  await runInEditor(config.sqlRejected);
  await runInEditor(config.sqlError);
  await collectCsp();

  // ---- the History tab ----
  const response = await page.goto(config.base + '/history');
  out.history = {
    status: response.status(),
    active: await page.getAttribute('nav.tabs a[aria-current=page]', 'data-tab'),
    h1: await page.textContent('main h1'),
    rows: await historyRows(),
    screenshot: await shot('history'),
  };
  await collectCsp();

  // ---- one click: the ok statement back in the SQL editor, not run until the person runs it ----
  const requestsBefore = out.apiSqlRequests;
  await Promise.all([page.waitForURL(/\/sql\?from=/), page.click('#history-table tbody tr[data-outcome=ok] a.rerun')]);
  out.rerun = {
    url: page.url(),
    editor: await page.inputValue('#sql-editor'),
    requestsOnOpen: out.apiSqlRequests - requestsBefore,
    resultBeforeRun: await page.textContent('#sql-result'),
    screenshot: await shot('history-rerun'),
  };
  await runInEditor(null);
  out.rerun.status = await page.textContent('#sql-status');
  out.rerun.cells = await page.$$eval('#sql-result tbody td', (tds) => tds.map((td) => td.textContent));
  await page.goto(config.base + '/history');
  out.rerun.historyAfter = await historyRows();

  // ---- Clear my history ----
  await Promise.all([page.waitForEvent('load'), page.click('#history-clear')]);
  out.cleared = {
    empty: await page.isVisible('#history-empty'),
    rows: await page.locator('#history-table tbody tr').count(),
    screenshot: await shot('history-cleared'),
  };
  await collectCsp();

  await finish();
}

runMain(main);
