// pgshift console: the little behaviour the server-rendered pages need.
//   SQL tab: Ctrl+Enter / Cmd+Enter (or Run) POSTs {sql, limit} to {base}/api/sql with the
//     header X-Pgshift-Request: 1 (same-origin fetch); shows columns with types, rows, the
//     truncated flag, row count and time; a statement the gate rejects shows its rule, reason and
//     a caret under the position; SQL errors (422), timeouts (422 with timed_out), a busy console (503) and
//     refusals are shown as such. Export buttons POST to {base}/api/sql?format=... and save the
//     file (fetch, blob, a[download], so the custom header is sent). An EXPLAIN answered with
//     plan_format "json" is drawn as a tree (pgshiftPlan, at the end of this file).
//   Tables tab: the finder filters every table's schema.name as one types (the list loaded once
//     from {base}/api/table-list); "count" asks {base}/api/tables/{schema}/{name}/count.
//   Table browser: the filter form becomes one f=column:op:value parameter.
//   History tab: "Clear my history" POSTs {base}/api/history/clear.
// The base path comes from <body data-base-path>; nothing is inserted as HTML (textContent only).
'use strict';

(function () {
  const base = document.body.dataset.basePath || '';
  const BYTEA_SHOWN = 32;  // bytes of a long bytea value shown (query::kByteaShown)
  const TEXT_SHOWN = 80;  // characters of a long value shown in a result cell (as the table browser)

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // ---- SQL tab --------------------------------------------------------------------------------

  const form = document.getElementById('sql-form');
  if (form) setUpSql(form);

  function setUpSql(sqlForm) {
    const editor = document.getElementById('sql-editor');
    const limitInput = document.getElementById('sql-limit');
    const runButton = document.getElementById('sql-run');
    const status = document.getElementById('sql-status');
    const errorBox = document.getElementById('sql-error');
    const result = document.getElementById('sql-result');
    let busy = false;

    const saved = sessionStorage.getItem('pgshift.sql');
    if (saved && !editor.value) editor.value = saved;
    editor.focus();

    sqlForm.addEventListener('submit', function (event) {
      event.preventDefault();
      run();
    });
    editor.addEventListener('keydown', function (event) {
      if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        run();
      }
    });
    for (const button of sqlForm.querySelectorAll('button[data-export]')) {
      button.addEventListener('click', function () { exportAs(button.dataset.export); });
    }

    function request(format) {
      const limit = parseInt(limitInput.value, 10);
      const body = { sql: editor.value };
      if (Number.isFinite(limit) && limit > 0) body.limit = limit;
      sessionStorage.setItem('pgshift.sql', editor.value);
      const url = base + '/api/sql' + (format ? '?format=' + encodeURIComponent(format) : '');
      return fetch(url, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-Pgshift-Request': '1' },
        body: JSON.stringify(body),
      });
    }

    function begin(what) {
      busy = true;
      runButton.disabled = true;
      errorBox.hidden = true;
      errorBox.replaceChildren();
      status.className = 'sql-status running';
      status.textContent = what;
    }

    function end() {
      busy = false;
      runButton.disabled = false;
    }

    async function run() {
      if (busy) return;
      const sql = editor.value;
      begin('Running…');
      try {
        const response = await request(null);
        const doc = await readJson(response);
        if (response.ok) {
          showResult(doc);
        } else {
          result.replaceChildren();
          showError(response, doc, sql);
        }
      } catch (err) {
        result.replaceChildren();
        showFailure('Cannot reach the console: ' + err.message);
      } finally {
        end();
      }
    }

    async function exportAs(format) {
      if (busy) return;
      const sql = editor.value;
      begin('Exporting ' + format + '…');
      try {
        const response = await request(format);
        if (!response.ok) {
          showError(response, await readJson(response), sql);
          return;
        }
        const blob = await response.blob();
        const name = fileName(response.headers.get('Content-Disposition'), format);
        const link = document.createElement('a');
        link.href = URL.createObjectURL(blob);
        link.download = name;
        document.body.appendChild(link);
        link.click();
        link.remove();
        setTimeout(function () { URL.revokeObjectURL(link.href); }, 10000);
        status.className = 'sql-status ok';
        const cut = response.headers.get('X-Pgshift-Cut-Values');
        status.textContent = 'Exported ' + name + ' (' + blob.size.toLocaleString('en-US') + ' bytes)' + (cut ? '; ' + cut : '');
      } catch (err) {
        showFailure('Cannot reach the console: ' + err.message);
      } finally {
        end();
      }
    }

    function showResult(doc) {
      const columns = Array.isArray(doc.columns) ? doc.columns : [];
      const rows = Array.isArray(doc.rows) ? doc.rows : [];
      if (doc.kind === 'explain' && columns.length === 1) {
        showPlan(doc, rows);
        return;
      }
      const keys = uniqueNames(columns.map(function (c) { return String(c.name); }));
      const table = el('table', 'data sql-rows');
      const head = table.createTHead().insertRow();
      columns.forEach(function (c) {
        const th = el('th', numericType(c.type) ? 'num' : '');
        th.append(el('span', 'name', String(c.name)), el('span', 'type', String(c.type || '')));
        head.appendChild(th);
      });
      const tbody = table.createTBody();
      for (const row of rows) {
        const tr = tbody.insertRow();
        columns.forEach(function (c, i) {
          const value = Array.isArray(row) ? row[i] : (row ? row[keys[i]] : null);
          const td = tr.insertCell();
          if (numericType(c.type)) td.className = 'num';
          fillCell(td, value, c.type);
        });
      }
      result.replaceChildren(table);
      const count = Number(doc.row_count !== undefined ? doc.row_count : rows.length);
      let text = count.toLocaleString('en-US') + (count === 1 ? ' row' : ' rows');
      if (doc.truncated) {
        text += doc.truncated_by === 'bytes'
          ? ' (truncated: the values passed the size budget; there are more)'
          : ' (truncated at the limit' + (doc.limit ? ' of ' + doc.limit : '') + '; there are more)';
      }
      if (doc.elapsed_ms !== undefined) text += ' in ' + formatMs(doc.elapsed_ms);
      const cuts = Array.isArray(doc.cut_values) ? doc.cut_values : [];
      if (cuts.length) {
        text += '; ' + cuts.length + (cuts.length === 1 ? ' value' : ' values') + ' cut to fit the page (' +
          cuts.map(function (c) {
            return String(c.column) + ' in row ' + (Number(c.row) + 1) + ': ' + Number(c.kept).toLocaleString('en-US') +
              ' of ' + Number(c.bytes).toLocaleString('en-US') + ' bytes';
          }).slice(0, 3).join(', ') + ')';
      }
      status.className = 'sql-status ok' + (doc.truncated ? ' truncated' : '');
      status.replaceChildren(el('span', 'summary', text));
      if (cuts.length) status.appendChild(el('span', 'badge sev-warning', 'values cut'));
      if (doc.truncated) status.appendChild(el('span', 'badge sev-warning', 'truncated'));
      if (doc.correlation_id) status.appendChild(el('span', 'correlation', 'id ' + doc.correlation_id));
    }

    // A plan as a plan: the whole text, preformatted (FORMAT JSON/YAML/XML arrive as one value,
    // FORMAT TEXT as one line per row), never cut into table cells.
    function showPlan(doc, rows) {
      const lines = rows.map(function (row) {
        const value = Array.isArray(row) ? row[0] : null;
        return value === null || value === undefined ? '' : (typeof value === 'object' ? JSON.stringify(value, null, 2) : String(value));
      });
      let text = lines.join('\n');
      // EXPLAIN ran as FORMAT JSON (console/explain_json.hpp): a tree (pgshiftPlan, below).
      if (doc.plan_format === 'json' && lines.length === 1 && window.pgshiftPlan &&
          window.pgshiftPlan.render(result, text, 'pgshift-plan-' + (doc.correlation_id || 'explain') + '.json')) {
        status.className = 'sql-status ok';
        status.replaceChildren(el('span', 'summary', 'Plan' + (doc.elapsed_ms !== undefined ? ' in ' + formatMs(doc.elapsed_ms) : '')));
        if (doc.correlation_id) status.appendChild(el('span', 'correlation', 'id ' + doc.correlation_id));
        return;
      }
      if (lines.length === 1 && /^\s*[\[{]/.test(text)) {
        try { text = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { /* shown as sent */ }
      }
      const pre = el('pre', 'plan', text);
      result.replaceChildren(pre);
      status.className = 'sql-status ok';
      status.replaceChildren(el('span', 'summary', 'Plan' + (doc.elapsed_ms !== undefined ? ' in ' + formatMs(doc.elapsed_ms) : '')));
      if (doc.correlation_id) status.appendChild(el('span', 'correlation', 'id ' + doc.correlation_id));
    }

    function showError(response, doc, sql) {
      const error = doc && doc.error ? doc.error : {};
      const message = error.message || (typeof doc.error === 'string' ? doc.error : '') || response.statusText;
      errorBox.hidden = false;
      errorBox.replaceChildren();
      status.className = 'sql-status failed';
      const head = el('div', 'error-head');
      let title;
      if (response.status === 400 && error.rule) {
        title = 'Rejected by the gate';
        head.append(el('strong', '', title), el('code', 'rule', error.rule));
      } else if (response.status === 422 && (error.timed_out || error.cancelled)) {
        title = error.timed_out ? 'Timed out' : 'Cancelled';
        head.append(el('strong', '', title + ': the statement was cancelled'));
      } else if (response.status === 422) {
        title = 'SQL error';
        head.append(el('strong', '', title));
        if (error.sqlstate) head.append(el('code', 'sqlstate', 'SQLSTATE ' + error.sqlstate));
      } else if (response.status === 503) {
        title = 'Console busy';
        const retry = response.headers.get('Retry-After');
        head.append(el('strong', '', title + ': every connection is in use' + (retry ? '; retry in ' + retry + ' s' : '')));
      } else if (response.status === 401 || response.status === 403) {
        title = response.status === 401 ? 'Not signed in' : 'Refused';
        head.append(el('strong', '', title));
      } else {
        title = 'Error ' + response.status;
        head.append(el('strong', '', title));
      }
      errorBox.className = 'sql-error callout ' + (response.status === 400 || response.status >= 500 ? 'sev-critical' : 'sev-warning');
      errorBox.appendChild(head);
      if (message) errorBox.appendChild(el('p', 'message', message));
      for (const key of ['detail', 'hint']) {
        if (error[key]) errorBox.appendChild(el('p', key, key + ': ' + error[key]));
      }
      const position = Number(error.position || 0);
      if (position > 0) {
        errorBox.appendChild(el('pre', 'caret', caretExcerpt(sql, position)));
        markPosition(position);
      }
      status.textContent = title + ' (HTTP ' + response.status + ')';
    }

    function showFailure(message) {
      errorBox.hidden = false;
      errorBox.className = 'sql-error callout sev-critical';
      errorBox.replaceChildren(el('p', 'message', message));
      status.className = 'sql-status failed';
      status.textContent = 'Failed';
    }

    // Selects the character at a 1-based position (in characters, as the gate counts them).
    function markPosition(position) {
      const chars = Array.from(editor.value);
      const start = chars.slice(0, position - 1).join('').length;
      const end = start + (chars[position - 1] || '').length;
      editor.focus();
      editor.setSelectionRange(start, end);
    }
  }

  async function readJson(response) {
    const text = await response.text();
    try {
      return JSON.parse(text);
    } catch (e) {
      return { error: { message: text.trim() } };
    }
  }

  // The line holding a 1-based character position, psql style, with a caret under it
  // (the same picture as `pgshift query` prints).
  function caretExcerpt(sql, position) {
    const chars = Array.from(sql);
    const at = Math.min(position - 1, chars.length);
    let start = at;
    while (start > 0 && chars[start - 1] !== '\n') start--;
    let end = at;
    while (end < chars.length && chars[end] !== '\n') end++;
    let line = 1;
    for (let i = 0; i < start; i++) if (chars[i] === '\n') line++;
    let from = start;
    let prefix = '';
    const WINDOW = 60;
    if (at - start > WINDOW) {
      from = at - WINDOW;
      prefix = '...';
    }
    const to = Math.min(end, from + 2 * WINDOW);
    const shown = prefix + chars.slice(from, to).join('').replace(/[\t\r]/g, ' ') + (to < end ? '...' : '');
    const headText = 'LINE ' + line + ': ';
    return headText + shown + '\n' + ' '.repeat(headText.length + prefix.length + (at - from)) + '^';
  }

  // Keys of the JSON rows: a repeated column name gets _2, _3 ... (as `pgshift query --format json`).
  function uniqueNames(names) {
    const taken = new Set(names);
    const used = new Set();
    return names.map(function (name) {
      let key = name;
      if (used.has(key)) {
        for (let k = 2; ; k++) {
          const candidate = name + '_' + k;
          if (!used.has(candidate) && !taken.has(candidate)) { key = candidate; break; }
        }
      }
      used.add(key);
      return key;
    });
  }

  function numericType(type) {
    return /^(smallint|integer|bigint|numeric|real|double precision|money|oid|int[248]|float[48])/.test(String(type || ''));
  }

  function fillCell(td, value, type) {
    if (value === null || value === undefined) {
      td.appendChild(el('span', 'null', 'NULL'));
      return;
    }
    const text = visible(typeof value === 'object' ? JSON.stringify(value) : String(value));
    if (text === '') {
      td.appendChild(el('span', 'empty', "''"));
      return;
    }
    // bytea as the table browser shows it: \x and the first BYTEA_SHOWN bytes, the length in bytes.
    if (type === 'bytea' && /^\\x[0-9a-fA-F]*$/.test(text) && text.length > 2 + 2 * BYTEA_SHOWN) {
      const bytes = (text.length - 2) / 2;
      const cutBytes = el('span', 'bytea cut', text.slice(0, 2 + 2 * BYTEA_SHOWN));
      cutBytes.title = 'bytea, ' + bytes.toLocaleString('en-US') + ' bytes';
      cutBytes.appendChild(el('span', 'more', '… (' + bytes.toLocaleString('en-US') + ' bytes)'));
      td.appendChild(cutBytes);
      return;
    }
    const chars = Array.from(text);
    if (chars.length <= TEXT_SHOWN) {
      td.textContent = text;
      return;
    }
    const cut = el('span', 'cut', chars.slice(0, TEXT_SHOWN).join(''));
    cut.title = chars.slice(0, 2000).join('');
    cut.appendChild(el('span', 'more', '… (' + chars.length.toLocaleString('en-US') + ' chars)'));
    td.appendChild(cut);
  }

  // Control and bidi characters as escapes (\n, \t, \x1b, \u202e), as the table browser and
  // `pgshift query`'s display formats show them: a value cannot hide text or reorder it.
  function visible(text) {
    return text.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, function (c) {
      if (c === '\n') return '\\n';
      if (c === '\t') return '\\t';
      if (c === '\r') return '\\r';
      const code = c.charCodeAt(0);
      return code < 0x80 ? '\\x' + code.toString(16).padStart(2, '0') : '\\u' + code.toString(16).padStart(4, '0');
    });
  }

  function formatMs(ms) {
    const n = Number(ms);
    if (!Number.isFinite(n)) return String(ms);
    return n < 1000 ? n.toFixed(n < 10 ? 1 : 0) + ' ms' : (n / 1000).toFixed(2) + ' s';
  }

  function fileName(disposition, format) {
    const match = /filename="?([^";]+)"?/i.exec(disposition || '');
    if (match) return match[1];
    return 'result.' + ({ csv: 'csv', json: 'json', markdown: 'md' }[format] || 'txt');
  }

  // ---- History tab: "Clear my history" ---------------------------------------------------------
  // POSTs {base}/api/history/clear (same-origin, X-Pgshift-Request: 1), then reloads the page.

  const clearButton = document.getElementById('history-clear');
  if (clearButton) {
    clearButton.addEventListener('click', async function () {
      const status = document.getElementById('history-status');
      clearButton.disabled = true;
      try {
        const response = await fetch(base + '/api/history/clear', {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'X-Pgshift-Request': '1' },
        });
        if (!response.ok) throw new Error('HTTP ' + response.status);
        window.location.reload();
      } catch (e) {
        status.textContent = 'Could not clear the history: ' + e.message;
        clearButton.disabled = false;
      }
    });
  }

  // ---- Tables tab: find a table ---------------------------------------------------------------
  // Loads {base}/api/table-list once (on the first focus or keystroke), then filters it in the
  // page on every keystroke: every word typed must occur in schema.name (case-insensitive);
  // names starting with the text come first; at most FINDER_SHOWN rows. "count" asks the server
  // for an exact count (through the gate, with the statement timeout).

  const FINDER_SHOWN = 100;
  const finder = document.getElementById('table-finder');
  if (finder) setUpFinder(finder);

  function setUpFinder(section) {
    const input = document.getElementById('table-find');
    const status = document.getElementById('table-find-status');
    const results = document.getElementById('table-find-results');
    const body = results.querySelector('tbody');
    let tables = null;
    let loading = null;
    section.hidden = false;

    function load() {
      if (!loading) {
        status.textContent = 'loading the table list…';
        loading = fetchJson(section.dataset.source)
          .then(function (r) {
            if (!r.ok || !r.doc || !Array.isArray(r.doc.tables)) throw new Error('HTTP ' + r.status);
            tables = r.doc.tables.map(function (t) {
              const full = String(t.schema) + '.' + String(t.name);
              return { t: t, key: full.toLowerCase(), name: String(t.name).toLowerCase() };
            });
            if (r.doc.truncated) status.dataset.truncated = String(r.doc.limit);
            show();
          })
          .catch(function (e) { status.textContent = 'cannot load the table list: ' + e.message; loading = null; });
      }
      return loading;
    }

    function show() {
      if (!tables) return;
      const text = input.value.trim().toLowerCase();
      const words = text.split(/\s+/).filter(Boolean);
      body.textContent = '';
      if (!words.length) {
        results.hidden = true;
        status.textContent = tables.length + ' tables' + (status.dataset.truncated ? ' (the first ' + status.dataset.truncated + ')' : '');
        return;
      }
      const hits = tables.filter(function (e) { return words.every(function (w) { return e.key.includes(w); }); });
      hits.sort(function (a, b) { return (b.name.startsWith(text) ? 1 : 0) - (a.name.startsWith(text) ? 1 : 0); });
      for (const hit of hits.slice(0, FINDER_SHOWN)) body.appendChild(finderRow(hit.t));
      results.hidden = hits.length === 0;
      status.textContent = hits.length + ' of ' + tables.length + ' tables match' +
        (hits.length > FINDER_SHOWN ? ' (the first ' + FINDER_SHOWN + ' shown)' : '');
    }

    input.addEventListener('focus', load);
    input.addEventListener('input', function () { load(); show(); });
  }

  function tablePath(t) {
    return base + '/tables/' + encodeURIComponent(t.schema) + '/' + encodeURIComponent(t.name);
  }

  function finderRow(t) {
    const tr = el('tr');
    const name = el('td');
    const rows = el('a', 'table-link', String(t.schema) + '.' + String(t.name));
    rows.href = tablePath(t);
    const structure = el('a', 'structure-link', 'structure');
    structure.href = tablePath(t) + '/structure';
    name.append(rows, ' ', structure);
    tr.appendChild(name);
    tr.appendChild(el('td', '', String(t.kind) + (t.partition_of ? ' of ' + t.partition_of : '')));
    tr.appendChild(el('td', 'num', t.row_estimate === null || t.row_estimate === undefined ? '—' : Number(t.row_estimate).toLocaleString('en-US')));
    tr.appendChild(el('td', 'num', t.size_bytes === null || t.size_bytes === undefined ? '—' : humanBytes(Number(t.size_bytes))));
    const exact = el('td', 'num');
    const button = el('button', 'count-rows', 'count');
    button.type = 'button';
    button.addEventListener('click', async function () {
      button.disabled = true;
      button.textContent = 'counting…';
      try {
        const r = await fetchJson(base + '/api/tables/' + encodeURIComponent(t.schema) + '/' +
                                  encodeURIComponent(t.name) + '/count');
        if (r.ok && r.doc) {
          exact.textContent = Number(r.doc.count).toLocaleString('en-US');
          exact.title = 'counted in ' + formatMs(r.doc.elapsed_ms);
        } else {
          const err = (r.doc && r.doc.error) || {};
          exact.textContent = err.timed_out ? 'timed out' : 'HTTP ' + r.status;
          exact.title = err.message || '';
        }
      } catch (e) {
        exact.textContent = 'failed';
        exact.title = String(e);
      }
    });
    exact.appendChild(button);
    tr.appendChild(exact);
    return tr;
  }

  async function fetchJson(url) {
    const response = await fetch(url, { headers: { Accept: 'application/json' } });
    return { ok: response.ok, status: response.status, doc: await readJson(response) };
  }

  function humanBytes(n) {
    const units = ['bytes', 'kB', 'MB', 'GB', 'TB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? String(n) : n.toFixed(1)) + ' ' + units[i];
  }

  // ---- Table browser: the filter form ---------------------------------------------------------

  for (const filterForm of document.querySelectorAll('form.filter-form')) {
    const op = filterForm.elements.fo;
    const value = filterForm.elements.fv;
    const sync = function () { value.hidden = op.value === 'is null' || op.value === 'is not null'; };
    op.addEventListener('change', sync);
    sync();
    filterForm.addEventListener('submit', function (event) {
      event.preventDefault();
      // Spaces as %20, as the server's own links write them (not URLSearchParams' '+').
      const params = [];
      const add = function (name, v) { params.push(encodeURIComponent(name) + '=' + encodeURIComponent(v)); };
      for (const input of filterForm.querySelectorAll('input[type=hidden]')) add(input.name, input.value);
      const unary = op.value === 'is null' || op.value === 'is not null';
      add('f', filterForm.elements.fc.value + ':' + op.value + ':' + (unary ? '' : value.value));
      window.location.assign(filterForm.getAttribute('action') + '?' + params.join('&'));
    });
  }
})();

// ---- SQL tab: a plan as a tree ----
// The SQL tab runs EXPLAIN as EXPLAIN (FORMAT JSON)
// (console/explain_json.hpp) and hands the JSON text to pgshiftPlan.render(), which draws:
//   - one line per plan node, children indented under their parent (nested lists), each with its
//     operation and target (relation, index, join type, strategy), estimated cost and rows, and
//     its conditions (filter, index, join, sort and group keys) underneath;
//   - each node's share of the plan: its exclusive cost (its total cost minus its children's) over
//     the root's total cost; with EXPLAIN ANALYZE's figures (when present) its exclusive time
//     (actual total time × loops minus its children's) instead, and actual rows beside the
//     estimate, flagged when they differ tenfold;
//   - the costliest node highlighted ("hot"), nodes above a fifth of the plan marked "warm";
//   - a button downloading the EXPLAIN (FORMAT JSON) text, and the raw JSON folded away.
// Nothing is inserted as HTML (textContent only). render() returns false when the text is not a
// plan (the caller then shows it as text).
window.pgshiftPlan = (function () {
  const WARM_SHARE = 0.2;
  const MISESTIMATE = 10;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function parse(text) {
    let doc;
    try { doc = JSON.parse(text); } catch (e) { return null; }
    if (!Array.isArray(doc) || !doc[0] || typeof doc[0].Plan !== 'object') return null;
    return doc[0];
  }

  function children(node) { return Array.isArray(node.Plans) ? node.Plans : []; }

  const analyzed = (node) => typeof node['Actual Total Time'] === 'number';

  // What a node costs by itself: time when measured, else the planner's cost.
  function inclusive(node) {
    if (analyzed(node)) return node['Actual Total Time'] * (node['Actual Loops'] || 1);
    return Number(node['Total Cost']) || 0;
  }
  function exclusive(node) {
    let own = inclusive(node);
    for (const c of children(node)) {
      if (c['Parent Relationship'] === 'InitPlan' || c['Parent Relationship'] === 'SubPlan') {
        if (!analyzed(node)) continue;  // a subplan's cost is not in its parent's total
      }
      own -= inclusive(c);
    }
    return Math.max(0, own);
  }

  function number(n) {
    if (typeof n !== 'number') return String(n);
    return n.toLocaleString('en-US', { maximumFractionDigits: 2 });
  }

  function target(node) {
    const parts = [];
    if (node['Join Type'] && node['Node Type'].indexOf('Join') < 0 && node['Node Type'] !== 'Nested Loop') {
      parts.push(node['Join Type'] + ' join');
    } else if (node['Join Type'] && node['Join Type'] !== 'Inner') {
      parts.push(node['Join Type']);
    }
    if (node.Strategy && node['Node Type'] === 'Aggregate') parts.push(node.Strategy);
    if (node['Scan Direction'] === 'Backward') parts.push('backward');
    if (node['Index Name']) parts.push('using ' + node['Index Name']);
    if (node['Relation Name']) {
      let rel = 'on ' + (node.Schema ? node.Schema + '.' : '') + node['Relation Name'];
      if (node.Alias && node.Alias !== node['Relation Name']) rel += ' ' + node.Alias;
      parts.push(rel);
    } else if (node['CTE Name']) {
      parts.push('on CTE ' + node['CTE Name']);
    } else if (node['Function Name']) {
      parts.push('on ' + node['Function Name'] + '()');
    }
    if (node['Subplan Name']) parts.push('(' + node['Subplan Name'] + ')');
    return parts.join(' ');
  }

  const CONDITIONS = ['Index Cond', 'Recheck Cond', 'Hash Cond', 'Merge Cond', 'Join Filter', 'Filter',
                      'Sort Key', 'Group Key', 'Presorted Key', 'Output'];

  function nodeItem(node, total, hottest) {
    const li = el('li');
    const share = total > 0 ? exclusive(node) / total : 0;
    let cls = 'plan-node';
    if (node === hottest) cls += ' hot';
    else if (share >= WARM_SHARE) cls += ' warm';
    const line = el('div', cls);
    const bar = el('span', 'share', Math.round(share * 100) + '%');
    bar.title = (analyzed(node) ? 'exclusive time ' + number(exclusive(node)) + ' ms' : 'exclusive cost ' + number(exclusive(node))) +
      ' of ' + number(total);
    bar.style.setProperty('--share', Math.min(100, Math.round(share * 100)) + '%');
    line.append(bar, el('span', 'op', node['Node Type']));
    const t = target(node);
    if (t) line.append(el('span', 'target', t));
    line.append(el('span', 'cost', 'cost ' + number(node['Startup Cost']) + '..' + number(node['Total Cost'])));
    const rows = el('span', 'rows', 'rows ' + number(node['Plan Rows']) + ' est.');
    if (typeof node['Actual Rows'] === 'number') {
      const actual = node['Actual Rows'];
      const est = Math.max(1, Number(node['Plan Rows']) || 0);
      rows.textContent += ' / ' + number(actual) + ' actual' + ((node['Actual Loops'] || 1) > 1 ? ' × ' + node['Actual Loops'] + ' loops' : '');
      if (actual / est >= MISESTIMATE || est / Math.max(1, actual) >= MISESTIMATE) rows.classList.add('misestimate');
    }
    line.appendChild(rows);
    if (analyzed(node)) line.append(el('span', 'time', number(node['Actual Total Time']) + ' ms'));
    if (share > 0 && node === hottest) line.append(el('span', 'badge', 'costliest'));
    li.appendChild(line);
    const conds = CONDITIONS.filter((k) => node[k] !== undefined);
    if (conds.length) {
      const dl = el('dl', 'plan-conds');
      for (const k of conds) {
        const v = node[k];
        dl.append(el('dt', '', k), el('dd', '', Array.isArray(v) ? v.join(', ') : String(v)));
      }
      li.appendChild(dl);
    }
    const kids = children(node);
    if (kids.length) {
      const ul = el('ul', 'plan-nodes');
      for (const c of kids) ul.appendChild(nodeItem(c, total, hottest));
      li.appendChild(ul);
    }
    return li;
  }

  function download(text, name) {
    const link = document.createElement('a');
    link.href = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
    link.download = name;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(link.href); }, 10000);
  }

  // Draws the plan in container; false when text is not EXPLAIN (FORMAT JSON) output.
  function render(container, text, fileName) {
    const doc = parse(text);
    if (!doc) return false;
    const root = doc.Plan;
    const total = inclusive(root);
    let hottest = null;
    let best = -1;
    (function visit(node) {
      const own = exclusive(node);
      if (own > best) { best = own; hottest = node; }
      children(node).forEach(visit);
    })(root);

    const wrap = el('div', 'plan-tree');
    const head = el('div', 'plan-head');
    const facts = ['total cost ' + number(root['Total Cost']), 'rows ' + number(root['Plan Rows']) + ' est.'];
    if (analyzed(root)) facts.push('time ' + number(root['Actual Total Time']) + ' ms');
    if (typeof doc['Planning Time'] === 'number') facts.push('planning ' + number(doc['Planning Time']) + ' ms');
    if (typeof doc['Execution Time'] === 'number') facts.push('execution ' + number(doc['Execution Time']) + ' ms');
    head.append(el('strong', '', 'Plan'), el('span', 'facts', facts.join(' · ')));
    const button = el('button', 'download-plan', 'Download EXPLAIN (FORMAT JSON)');
    button.type = 'button';
    button.addEventListener('click', function () { download(text, fileName); });
    head.appendChild(button);
    wrap.appendChild(head);
    wrap.appendChild(el('p', 'plan-legend', analyzed(root)
      ? 'Share: each node\'s own time (minus its children\'s) of the whole; rows: estimated / actual.'
      : 'Share: each node\'s own estimated cost (minus its children\'s) of the whole. EXPLAIN ANALYZE is refused by the gate: costs and rows are the planner\'s estimates.'));
    const ul = el('ul', 'plan-nodes root');
    ul.appendChild(nodeItem(root, total, hottest));
    wrap.appendChild(ul);
    const raw = el('details', 'plan-raw');
    raw.append(el('summary', '', 'EXPLAIN (FORMAT JSON)'), el('pre', 'plan', JSON.stringify(JSON.parse(text), null, 2)));
    wrap.appendChild(raw);
    container.replaceChildren(wrap);
    return true;
  }

  return { render: render };
})();
