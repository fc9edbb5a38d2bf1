// Row-level differences between the two sides (pure): which keys are missing on the target,
// extra on the target, or present on both with different content (and in which columns). For
// key-less tables a row is identified by its content and counted in copies.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "verify/reads.hpp"
#include "verify/types.hpp"

namespace pgshift::verify {

enum class DiffKind { missing_on_target, extra_on_target, different };
std::string to_string(DiffKind kind);  // "missing_on_target", ...

struct Difference {
  DiffKind kind = DiffKind::different;
  Key key;                           // empty for key-less tables
  std::vector<std::string> columns;  // for `different` with a key: the columns that differ
  std::string row;                   // key-less tables: the row as text
  int64_t source_copies = 0;         // copies of the row (key-less) or of the key on each side;
  int64_t target_copies = 0;         // a key on one side more often than on the other is a
                                     // missing/extra row even when the other side has it once
  std::string row_hash;              // key-less tables: the row's hash, to read it again
};

// By key and row hash. A key with more copies on one side is missing_on_target or
// extra_on_target with its copies; equal copies that differ in content are `different`.
// Sorted by key.
std::vector<Difference> diff_rows(const RowHashes& source, const RowHashes& target);

// By key and per-column hash; `different` names the columns (column_names[i] for term i).
// compare_content false (counts mode): only presence counts.
std::vector<Difference> diff_terms(const RowTerms& source, const RowTerms& target,
                                   const std::vector<std::string>& column_names, bool compare_content);

// By row hash and copies: the surplus copies on either side. Sorted by row text.
std::vector<Difference> diff_keyless(const KeylessRows& source, const KeylessRows& target);

// Rows a difference stands for: 1 for `different`, else the surplus copies (1 for a key
// missing or extra once).
int64_t rows_of(const Difference& d);

}  // namespace pgshift::verify
