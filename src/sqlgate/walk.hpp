// The parse-tree walk behind sqlgate::check(): visits every node of one statement's JSON parse
// tree (libpg_query's pg_query_parse output) and reports the constructs a read-only statement
// may not contain, wherever they are: calls to denied functions (FuncCall nodes, and names in
// attribute notation, which call a function without one), views that read
// server files, data-modifying CTEs, SELECT INTO and locking clauses; and collects what the
// statement references for the catalog check (sqlgate::Reference).
//
// The walk is iterative (an explicit stack), so a deeply nested tree cannot overflow the C++
// stack; the parser itself bounds the depth.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sqlgate/sqlgate.hpp"
#include "sqlgate/tokens.hpp"

namespace pgshift::sqlgate {

struct Finding {
  Rule rule = Rule::none;
  std::string reason;
  size_t offset = 0;  // byte offset of the offending text in the whole SQL text
};

struct LocatedReference {
  Reference reference;  // position not yet set
  size_t offset = 0;    // byte offset in the whole SQL text
};

struct WalkResult {
  std::optional<Finding> violation;  // the finding that comes first in the text; nullopt when clean
  std::vector<LocatedReference> references;  // in no particular order, possibly repeated
};

// Walks one statement's tree. fallback is the offset used when a node carries no location
// (the statement's start).
WalkResult walk(const nlohmann::json& tree, const Tokens& tokens, size_t fallback);

}  // namespace pgshift::sqlgate
