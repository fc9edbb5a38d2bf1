// The SQL tab shows a plan as a tree (assets/app.js, pgshiftPlan), which needs EXPLAIN's JSON: a statement
// the gate accepts as EXPLAIN without a FORMAT option is run as EXPLAIN (FORMAT JSON) with the
// user's other options, through the same gate and engine as any statement (the rewritten text is
// gated again, audited as sent). An EXPLAIN that asks for FORMAT JSON is already that; one that
// asks for TEXT, YAML or XML is shown as asked.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pgshift::console {

struct ExplainAsJson {
  std::string sql;        // the text to run
  bool rewritten = false; // sql differs from the user's
  int shift = 0;          // characters the user's query moved by (a server error's position)
  int query_start = 0;    // 1-based character where the explained query starts in sql

  // A server error's position in sql as a position in the user's text (0: in our options).
  int user_position(int position) const {
    if (!rewritten || position <= 0) return position;
    return position >= query_start ? position - shift : 0;
  }
};

// nullopt unless sql is an EXPLAIN the gate accepts whose output can be JSON.
std::optional<ExplainAsJson> explain_as_json(std::string_view sql);

}  // namespace pgshift::console
