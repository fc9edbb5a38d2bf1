// Drives Debian's chromium (playwright-core) through two views of pgshift's console and writes
// what it saw as JSON for tests/e2e/console_export_plan_test.cpp to judge (it asserts nothing):
//   - a table page with a filter and a sort: its export links, and the CSV download one click gives;
//   - the SQL tab after an EXPLAIN: the plan tree (nodes, depth, the highlighted node), and the
//     EXPLAIN (FORMAT JSON) download.
//   node console_export_plan.cjs CONFIG.json
// CONFIG: {base, artifacts, downloads, userDataDir, output, tablePath, explain}
'use strict';

const fs = require('fs');
const path = require('path');
const { waitForConsole, openConsolePage, runMain } = require('./common.cjs');

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));

async function main() {
  await waitForConsole(config.base);
  const out = { console: [], pageErrors: [], cspViolations: [] };
  const { page, collectCsp, shot, finish } = await openConsolePage(config, out);

  // ---- the table page: its export links carry the filters and sort; CSV downloads ----
  const response = await page.goto(config.base + config.tablePath, { waitUntil: 'load' });
  out.table = {
    status: response.status(),
    exportsText: await page.textContent('p.exports'),
    links: await page.$$eval('p.exports a.export', (as) => as.map((a) => ({ format: a.dataset.format, href: a.href }))),
    rowsShown: await page.locator('table.browser-rows tbody tr').count(),
    screenshot: await shot('table-export', false),
  };
  out.table.downloads = {};
  for (const format of ['csv', 'markdown']) {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('p.exports a[data-format=' + format + ']')]);
    const file = path.join(config.downloads, 'table.' + format);
    await download.saveAs(file);
    out.table.downloads[format] = { file, suggested: download.suggestedFilename() };
  }
  await collectCsp();

  // ---- the SQL tab: EXPLAIN drawn as a tree; its JSON downloads ----
  await page.goto(config.base + '/sql');
  await page.fill('#sql-editor', config.explain);
  await page.click('#sql-run');
  await page.waitForSelector('.plan-tree');
  out.plan = {
    status: await page.textContent('#sql-status'),
    nodes: await page.$$eval('.plan-node', (ns) => ns.map((n) => ({
      op: n.querySelector('.op').textContent,
      target: n.querySelector('.target') ? n.querySelector('.target').textContent : '',
      share: n.querySelector('.share').textContent,
      hot: n.classList.contains('hot'),
      depth: (function () { let d = 0; for (let p = n.parentElement; p; p = p.parentElement) if (p.matches('ul.plan-nodes')) d++; return d; })(),
      left: Math.round(n.getBoundingClientRect().left),
    }))),
    cells: await page.locator('#sql-result td').count(),
    legend: await page.textContent('.plan-legend'),
    screenshot: await shot('sql-plan'),
  };
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('button.download-plan')]);
  const file = path.join(config.downloads, 'plan.json');
  await download.saveAs(file);
  out.plan.download = { file, suggested: download.suggestedFilename() };
  await collectCsp();

  await finish();
}

runMain(main);
