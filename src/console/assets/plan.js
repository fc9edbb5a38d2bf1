// pgshift console: a plan as a tree. The SQL tab runs EXPLAIN as EXPLAIN (FORMAT JSON)
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
'use strict';

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
