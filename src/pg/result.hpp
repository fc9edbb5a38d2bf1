// RAII ownership of a PGresult, with typed accessors. Text format only: a value is a string
// view into the result (valid while the Result lives), NULL is distinct from the empty string.
// Accessors throw RuntimeError on an unknown column name or an out-of-range index.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pgshift::pg {

class Result;

// One row of a Result, addressed by column name or index.
class Row {
 public:
  Row(const Result& result, int row) : result_(&result), row_(row) {}
  bool is_null(std::string_view column) const;
  std::string_view view(std::string_view column) const;                 // "" when NULL
  std::string text(std::string_view column) const { return std::string(view(column)); }
  std::optional<std::string> opt(std::string_view column) const;        // nullopt when NULL
  int64_t int64(std::string_view column) const;                         // 0 when NULL
  std::optional<int64_t> opt_int64(std::string_view column) const;
  double float64(std::string_view column) const;                        // 0 when NULL
  bool boolean(std::string_view column) const;                          // 't' is true

 private:
  const Result* result_;
  int row_;
};

class Result {
 public:
  Result() = default;
  explicit Result(PGresult* res) : res_(res) {}
  Result(Result&& other) noexcept : res_(other.res_) { other.res_ = nullptr; }
  Result& operator=(Result&& other) noexcept;
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;
  ~Result();

  int rows() const;
  int columns() const;
  bool empty() const { return rows() == 0; }
  std::string column_name(int column) const;
  Oid column_type(int column) const;
  int column_index(std::string_view name) const;  // throws when absent

  bool is_null(int row, int column) const;
  std::string_view view(int row, int column) const;  // "" when NULL
  std::optional<std::string> opt(int row, int column) const;
  Row row(int row) const { return Row(*this, row); }

  // Single-value conveniences for "SELECT x" queries (first row, first column).
  std::string scalar() const;
  int64_t scalar_int64() const;

  long long affected_rows() const;  // PQcmdTuples, 0 when not applicable
  PGresult* raw() const { return res_; }

 private:
  void check(int row, int column) const;
  PGresult* res_ = nullptr;
};

}  // namespace pgshift::pg
