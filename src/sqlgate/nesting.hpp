// How deep a statement's parse tree can be, bounded from its tokens before anything parses it.
// libpg_query's parser builds trees without a depth limit (a left-associative chain such as
// 1+1+...+1 nests one level per operator, with no parenthesis), and turning a tree into JSON,
// fingerprinting it and freeing it recurse once per level: 70,000 terms overflow an 8 MB stack
// (issue #23). The gate refuses a text whose bound exceeds kMaxNesting before it parses
// (rule nesting-limit), and parses long texts on a thread with a large stack
// (deep_stack.hpp), so that a construct this bound undercounts still cannot crash the process.
//
// The bound: tokens that may add a level are counted per bracket level ('(', '[' and
// CASE open one, ')', ']' and END close it); a list separator (',', AND and OR, which the
// parser flattens into one list, WHEN/THEN/ELSE inside CASE) starts a sibling and resets its
// level's count, except the AND of BETWEEN; UNION, INTERSECT and EXCEPT nest their operands
// and are counted without reset. The depth at a token is the sum of the counts of the levels
// open around it, plus one per level. Comments count nothing. Linear in the tokens.
#pragma once

#include <cstddef>
#include <string_view>

#include "sqlgate/tokens.hpp"

namespace pgshift::sqlgate {

// The largest bound the gate parses. Ordinary statements stay far below (a WHERE with 1,000
// ANDed comparisons: 4; a 1,000-element IN list: 2; 100 nested sub-queries: ~400).
inline constexpr size_t kMaxNesting = 10'000;

struct Nesting {
  size_t depth = 0;   // the bound
  size_t offset = 0;  // byte offset of the token where it is reached
};

Nesting nesting_bound(std::string_view text, const Tokens& tokens);

}  // namespace pgshift::sqlgate
