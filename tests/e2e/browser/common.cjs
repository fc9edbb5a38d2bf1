// What the console's browser scripts share: waiting for the console, and a chromium page
// (Debian's /usr/bin/chromium through playwright-core) that records what went wrong in it.
'use strict';

const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

// /healthz under the base path or at the root (a probe's path need not know the prefix).
async function waitForConsole(base) {
  const deadline = Date.now() + 30000;
  for (;;) {
    for (const url of [base + '/healthz', new URL('/healthz', base).toString()]) {
      try {
        const r = await fetch(url);
        if (r.status === 200) return;
      } catch (e) { /* not listening yet */ }
    }
    if (Date.now() > deadline) throw new Error('console did not answer on ' + base + '/healthz within 30 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// A persistent chromium context in config.userDataDir and its page. Console errors and warnings
// go to out.console, uncaught exceptions to out.pageErrors; collectCsp() appends the CSP
// violations the page has seen so far (recorded from inside the page: the init script is not
// subject to CSP) to out.cspViolations; shot(name) saves a screenshot as
// config.artifacts/NAME.png and returns its path; finish() closes the browser and writes out to
// config.output as JSON.
async function openConsolePage(config, out) {
  const context = await chromium.launchPersistentContext(config.userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    acceptDownloads: true,
    viewport: { width: 1366, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  await context.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__csp.push(e.violatedDirective + ' ' + e.blockedURI);
    });
  });
  const page = context.pages()[0] || await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') {
      out.console.push({ type: m.type(), text: m.text(), url: (m.location() || {}).url || '' });
    }
  });
  page.on('pageerror', (e) => out.pageErrors.push(String(e)));
  const collectCsp = async () => out.cspViolations.push(...await page.evaluate(() => window.__csp || []));
  const shot = async (name, fullPage = true) => {
    const file = path.join(config.artifacts, name + '.png');
    await page.screenshot({ path: file, fullPage });
    return file;
  };
  const finish = async () => {
    await context.close();
    fs.writeFileSync(config.output, JSON.stringify(out, null, 2));
  };
  return { context, page, collectCsp, shot, finish };
}

// Runs a script's async main; a failure prints its stack and exits 1 (the C++ test shows it).
function runMain(main) {
  main().catch((e) => {
    console.error(e && e.stack ? e.stack : String(e));
    process.exit(1);
  });
}

module.exports = { waitForConsole, openConsolePage, runMain };
