// Plain values the verify room passes around: key ranges, per-range aggregates, keys.
//
// A key value is the text form of each key column, read with the pinned session settings
// (see session.hpp), so equal keys have equal text on both sides. A Range is half-open:
// lo inclusive, hi exclusive, either side open when absent. Bounds are always produced by a
// server in key order (sampling, splitting), never compared on the client.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pgshift::verify {

enum class Mode { counts, full };
std::string to_string(Mode mode);

using Key = std::vector<std::string>;  // one text value per key column

// Orders keys for reports: column by column, integers by value ("9" < "10"), the rest byte-wise.
// Maps of rows use it so both sides' rows merge in the same order.
struct KeyLess {
  bool operator()(const Key& a, const Key& b) const;
};

struct Range {
  std::optional<Key> lo;  // inclusive
  std::optional<Key> hi;  // exclusive
  bool whole() const { return !lo && !hi; }
  bool operator==(const Range&) const = default;
};

// Splits parent at bounds (sorted, each inside parent) into bounds.size() + 1 ranges.
std::vector<Range> split_range(const Range& parent, const std::vector<Key>& bounds);

// "id >= 100 AND id < 200", "(a, b) >= (1, 'x')", "whole table": for reports and logs.
std::string describe(const Range& range, const std::vector<std::string>& key_columns);

// Row count and checksum of a set of rows on one side. sum is the exact decimal sum of the
// 64-bit row hashes ("0" for no rows; in counts mode "0", or the sum of key hashes where a
// side may hold a key twice, see table_plan.hpp).
struct Agg {
  int64_t rows = 0;
  std::string sum = "0";
  bool operator==(const Agg&) const = default;
};

}  // namespace pgshift::verify
