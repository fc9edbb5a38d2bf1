// Drives Debian's chromium (playwright-core) through pgshift's console, as a person would, and
// writes what it saw as JSON for tests/e2e/console_browser_test.cpp to judge. It asserts
// nothing itself: the C++ test compares with the database and `pgshift query`.
//   node console_browser.cjs CONFIG.json
// CONFIG: {base, artifacts, downloads, userDataDir, output, limit, sqlExport, sqlRejected,
//          sqlError, sqlCast, sqlSlow, table: {schema, name}, filterId}
'use strict';

const fs = require('fs');
const path = require('path');
const { waitForConsole, openConsolePage, runMain } = require('./common.cjs');

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const TABS = ['overview', 'tables', 'indexes', 'queries', 'activity', 'replication', 'backups', 'settings', 'sql',
              'migration'];
const TAB_PATH = { overview: '/' };

async function cellTexts(page, selector) {
  return page.$$eval(selector, (rows) => rows.map((tr) => Array.from(tr.cells).map((td) => td.textContent)));
}

async function main() {
  await waitForConsole(config.base);
  const out = { tabs: [], console: [], pageErrors: [], cspViolations: [] };
  const { page, collectCsp, shot, finish } = await openConsolePage(config, out);

  // ---- every tab ----
  for (const tab of TABS) {
    const response = await page.goto(config.base + (TAB_PATH[tab] || '/' + tab), { waitUntil: 'load' });
    out.tabs.push({
      tab,
      status: response.status(),
      csp: response.headers()['content-security-policy'] || '',
      title: await page.title(),
      h1: (await page.textContent('main h1')) || '',
      active: await page.getAttribute('nav.tabs a[aria-current=page]', 'data-tab'),
      tables: await page.locator('main table').count(),
      callouts: await page.locator('main .callout').count(),
      screenshot: await shot(tab),
    });
    await collectCsp();
  }

  // ---- SQL: Ctrl+Enter runs; results; exports ----
  await page.goto(config.base + '/sql');
  await page.fill('#sql-editor', config.sqlExport);
  await page.fill('#sql-limit', String(config.limit));
  await page.focus('#sql-editor');
  await page.keyboard.press('Control+Enter');
  await page.waitForSelector('#sql-status.ok');
  out.sql = {
    status: await page.textContent('#sql-status'),
    columns: await page.$$eval('#sql-result thead th', (ths) => ths.map((th) => ({
      name: th.querySelector('.name').textContent, type: th.querySelector('.type').textContent }))),
    rows: await cellTexts(page, '#sql-result tbody tr'),
    screenshot: await shot('sql-result'),
  };
  out.exports = {};
  for (const format of ['csv', 'json', 'markdown']) {
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.click('button[data-export=' + format + ']'),
    ]);
    const file = path.join(config.downloads, format);
    await download.saveAs(file);
    out.exports[format] = { file, suggested: download.suggestedFilename() };
  }
  out.exportStatus = await page.textContent('#sql-status');

  // ---- SQL: the gate's rejection with its caret; an SQL error ----
  await page.fill('#sql-editor', config.sqlRejected);
  await page.focus('#sql-editor');
  await page.keyboard.press('Control+Enter');
  await page.waitForSelector('#sql-error:not([hidden]) .rule');
  out.rejected = {
    rule: await page.textContent('#sql-error .rule'),
    message: await page.textContent('#sql-error .message'),
    caret: await page.textContent('#sql-error pre.caret'),
    status: await page.textContent('#sql-status'),
    selection: await page.$eval('#sql-editor', (t) => [t.selectionStart, t.selectionEnd]),
    screenshot: await shot('sql-rejected'),
  };
  await page.fill('#sql-editor', config.sqlError);
  await page.click('#sql-run');
  await page.waitForSelector('#sql-error:not([hidden]) .sqlstate');
  out.sqlError = {
    sqlstate: await page.textContent('#sql-error .sqlstate'),
    message: await page.textContent('#sql-error .message'),
  };
  // A server error with a position (22P02): the caret under it, the offending text selected.
  await page.fill('#sql-editor', config.sqlCast);
  await page.click('#sql-run');
  await page.waitForSelector('#sql-error:not([hidden]) .sqlstate');
  out.sqlCast = {
    sqlstate: await page.textContent('#sql-error .sqlstate'),
    caret: (await page.locator('#sql-error pre.caret').count()) ? await page.textContent('#sql-error pre.caret') : '',
    selection: await page.$eval('#sql-editor', (t) => [t.selectionStart, t.selectionEnd]),
    screenshot: await shot('sql-error-caret'),
  };
  // Cmd+Enter runs too; a statement past the console's --timeout is reported as a timeout. One
  // keypress, one execution: the C++ side counts the audit lines (a 408 would make chromium
  // resend the POST by itself, and the statement would run twice).
  await page.fill('#sql-editor', config.sqlSlow);
  await page.focus('#sql-editor');
  const pressedAt = Date.now();
  await page.keyboard.press('Meta+Enter');
  await page.waitForSelector('#sql-status.failed', { timeout: 60000 });
  const elapsedMs = Date.now() - pressedAt;
  out.timeout = {
    head: await page.textContent('#sql-error .error-head'),
    status: await page.textContent('#sql-status'),
    rowsLeft: await page.locator('#sql-result tbody tr').count(),
    elapsedMs,
  };
  await collectCsp();

  // ---- Table browser: from the Tables tab; sort, page, filter ----
  await page.goto(config.base + '/tables');
  await Promise.all([page.waitForURL(/\/tables\/[^/]+\/[^/?]+/),
                     page.click('a.table-link:text-is("' + config.table.name + '")')]);
  await page.waitForSelector('table.browser-rows');
  const headers = await page.$$eval('table.browser-rows thead a.sort', (as) => as.map((a) => a.textContent.replace(/[ ▲▼]+$/, '')));
  const browser = { url: page.url(), headers, first: await cellTexts(page, 'table.browser-rows tbody tr') };
  // The id header sorts ascending first (or descending when the page is already by id ascending).
  const idHeader = page.locator('table.browser-rows thead a.sort').filter({ hasText: /^id( [▲▼])?$/ });
  await Promise.all([page.waitForURL(/sort=id/), idHeader.click()]);
  browser.firstSortUrl = page.url();
  if (!/dir=desc/.test(page.url())) await Promise.all([page.waitForURL(/dir=desc/), idHeader.click()]);
  browser.descUrl = page.url();
  browser.desc = await cellTexts(page, 'table.browser-rows tbody tr');
  await Promise.all([page.waitForURL(/page=2/), page.locator('nav.pager a.next').first().click()]);
  browser.page2Url = page.url();
  browser.page2 = await cellTexts(page, 'table.browser-rows tbody tr');
  browser.page2Status = await page.textContent('main .status');
  browser.screenshot = await shot('table-browser');

  await page.selectOption('form.filter-form select[name=fc]', 'note');
  await page.selectOption('form.filter-form select[name=fo]', 'is null');
  browser.valueHiddenForIsNull = await page.isHidden('form.filter-form input[name=fv]');
  await Promise.all([page.waitForURL(/f=note/), page.click('form.filter-form button[type=submit]')]);
  browser.nullUrl = page.url();
  browser.nullRows = await cellTexts(page, 'table.browser-rows tbody tr');
  browser.nullChips = await page.locator('ul.chips li.chip:not(.clear)').count();

  await page.selectOption('form.filter-form select[name=fc]', 'id');
  await page.selectOption('form.filter-form select[name=fo]', '=');
  await page.fill('form.filter-form input[name=fv]', String(config.filterId));
  await Promise.all([page.waitForURL(/f=id/), page.click('form.filter-form button[type=submit]')]);
  browser.bothUrl = page.url();
  browser.bothRows = await cellTexts(page, 'table.browser-rows tbody tr');
  browser.bothChips = await page.locator('ul.chips li.chip:not(.clear)').count();
  browser.filteredScreenshot = await shot('table-browser-filtered');
  // Remove the "is null" chip: only id = N stays.
  await Promise.all([page.waitForURL((u) => !u.toString().includes('f=note')),
                     page.click('ul.chips li.chip:has(code:text-is("note")) a.remove')]);
  browser.removedUrl = page.url();
  browser.removedRows = await cellTexts(page, 'table.browser-rows tbody tr');
  out.browser = browser;
  await collectCsp();

  // ---- Tables tab: find a table as one types; an exact count on request ----
  await page.goto(config.base + '/tables');
  await page.fill('#table-find', 'vent');
  await page.waitForSelector('#table-find-results:not([hidden]) tbody tr');
  const finder = {
    visible: await page.isVisible('#table-finder'),
    matches: await page.$$eval('#table-find-results tbody tr td:first-child a.table-link', (as) => as.map((a) => a.textContent)),
    status: await page.textContent('#table-find-status'),
  };
  await page.click('#table-find-results tbody tr:has(a.table-link:text-is("public.events")) button.count-rows');
  await page.waitForFunction(() => {
    const row = Array.from(document.querySelectorAll('#table-find-results tbody tr'))
      .find((tr) => tr.querySelector('a.table-link').textContent === 'public.events');
    return row && !row.querySelector('button.count-rows');
  });
  finder.count = await page.$eval('#table-find-results tbody tr:has(a.table-link:text-is("public.events")) td:last-child',
                                  (td) => td.textContent);
  finder.screenshot = await shot('table-finder', false);
  await page.fill('#table-find', 'no such table anywhere');
  finder.noneStatus = await page.textContent('#table-find-status');
  finder.noneHidden = await page.isHidden('#table-find-results');
  out.finder = finder;
  await collectCsp();

  // ---- the table's structure: from the rows page, to a referencing table's structure, back to rows ----
  await page.goto(config.base + '/tables/' + encodeURIComponent(config.table.schema) + '/' +
                  encodeURIComponent(config.table.name));
  await Promise.all([page.waitForURL(/\/structure$/), page.click('nav.views a:text-is("Structure")')]);
  const structure = {
    url: page.url(),
    h2: await page.$$eval('main h2', (hs) => hs.map((h) => h.firstChild.textContent.trim())),
    columns: await page.$$eval('#structure-columns tbody tr td:first-child code', (cs) => cs.map((c) => c.textContent)),
    screenshot: await shot('table-structure'),
  };
  await Promise.all([page.waitForURL(/\/structure$/), page.click('#structure-referenced_by a.table-link')]);
  structure.referencingUrl = page.url();
  structure.referencingH1 = await page.textContent('main h1');
  await Promise.all([page.waitForURL((u) => !u.toString().endsWith('/structure')), page.click('nav.views a:text-is("Rows")')]);
  structure.rowsUrl = page.url();
  structure.rowsTable = await page.locator('table.browser-rows').count();
  out.structure = structure;
  await collectCsp();

  // ---- Queries: a header sorts; again reverses ----
  await page.goto(config.base + '/queries');
  const calls = page.locator('#section-queries thead a.sort-link[data-sort=calls]');
  await Promise.all([page.waitForURL(/sort=calls&dir=desc/), calls.click()]);
  const queries = { descUrl: page.url(), desc: await cellTexts(page, '#section-queries tbody tr') };
  await Promise.all([page.waitForURL(/sort=calls&dir=asc/),
                     page.locator('#section-queries thead a.sort-link[data-sort=calls]').click()]);
  queries.ascUrl = page.url();
  queries.asc = await cellTexts(page, '#section-queries tbody tr');
  queries.headers = await page.$$eval('#section-queries thead th', (ths) => ths.map((th) => th.textContent));
  queries.screenshot = await shot('queries-sorted', false);  // the first screen: the list is long
  out.queries = queries;
  await collectCsp();

  // ---- an error page in the layout ----
  const bad = await page.goto(config.base + '/tables/' + encodeURIComponent(config.table.schema) + '/' +
                              encodeURIComponent(config.table.name) + '?sort=no_such_column');
  out.badSort = { status: bad.status(), text: await page.textContent('main'), screenshot: await shot('error-page') };
  await collectCsp();

  await finish();
}

runMain(main);
