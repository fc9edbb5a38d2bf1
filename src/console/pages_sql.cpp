// render_sql_page: the SQL tab's static markup. Its behaviour (run on Ctrl+Enter / Cmd+Enter,
// results, the gate's caret, exports) lives in assets/app.js, which finds these elements by id.
#include "console/html.hpp"
#include "console/page_parts.hpp"

namespace pgshift::console {

std::string render_sql_page(const PageContext& ctx, std::string_view statement) {
  static constexpr std::string_view kBody = R"html(<section class="sql">
<div class="page-head"><h1>SQL</h1><span class="hint"><kbd>Ctrl</kbd>+<kbd>Enter</kbd> or <kbd>⌘</kbd>+<kbd>Enter</kbd> runs · one statement: SELECT, VALUES, TABLE, WITH, EXPLAIN (without ANALYZE), SHOW · READ ONLY, always rolled back</span></div>
<form id="sql-form" class="sql-form" autocomplete="off">
<textarea id="sql-editor" name="sql" rows="8" spellcheck="false" autocapitalize="off" aria-label="SQL statement" placeholder="SELECT * FROM pg_stat_activity">)html";
  // The rest of the page after the editor's text (a statement opened from the History tab).
  static constexpr std::string_view kAfterEditor = R"html(</textarea>
<div class="sql-actions">
<button type="submit" id="sql-run" class="primary">Run</button>
<label for="sql-limit">Row limit</label> <input type="number" id="sql-limit" name="limit" value="100" min="1" step="1">
<span class="exports">Export
<button type="button" data-export="csv">CSV</button>
<button type="button" data-export="json">JSON</button>
<button type="button" data-export="markdown">Markdown</button>
</span>
</div>
</form>
<noscript><p class="callout sev-warning">The SQL tab needs JavaScript (one small script served by the console itself). The JSON API works without it: POST /api/sql.</p></noscript>
<div id="sql-status" class="sql-status" role="status" aria-live="polite"></div>
<div id="sql-error" class="sql-error" role="alert" hidden></div>
<div id="sql-result" class="table-wrap"></div>
</section>
)html";
  // A newline right after <textarea> is dropped by HTML parsers: one is added, so a statement's
  // own first newline stays.
  std::string text = statement.empty() ? "" : "\n" + html_escape(statement);
  return parts::layout(ctx, "SQL", std::string(kBody) + text + std::string(kAfterEditor));
}

}  // namespace pgshift::console
