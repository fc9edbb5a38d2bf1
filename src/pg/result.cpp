#include "pg/result.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cstdlib>

#include "util/error.hpp"

namespace pgshift::pg {

Result& Result::operator=(Result&& other) noexcept {
  if (this != &other) {
    if (res_) PQclear(res_);
    res_ = other.res_;
    other.res_ = nullptr;
  }
  return *this;
}

Result::~Result() {
  if (res_) PQclear(res_);
}

int Result::rows() const { return res_ ? PQntuples(res_) : 0; }
int Result::columns() const { return res_ ? PQnfields(res_) : 0; }

std::string Result::column_name(int column) const {
  check(-1, column);
  return PQfname(res_, column);
}

Oid Result::column_type(int column) const {
  check(-1, column);
  return PQftype(res_, column);
}

int Result::column_index(std::string_view name) const {
  for (int i = 0; i < columns(); ++i) {
    if (name == PQfname(res_, i)) return i;
  }
  throw RuntimeError(fmt::format("internal: result has no column '{}'", name));
}

void Result::check(int row, int column) const {
  // row -1 checks the column only (column metadata needs no row).
  if (!res_ || column < 0 || column >= columns() || row < -1 || row >= rows()) {
    throw RuntimeError(fmt::format("internal: result index ({}, {}) out of range", row, column));
  }
}

bool Result::is_null(int row, int column) const {
  check(row, column);
  return PQgetisnull(res_, row, column) != 0;
}

std::string_view Result::view(int row, int column) const {
  check(row, column);
  return {PQgetvalue(res_, row, column), static_cast<size_t>(PQgetlength(res_, row, column))};
}

std::optional<std::string> Result::opt(int row, int column) const {
  if (is_null(row, column)) return std::nullopt;
  return std::string(view(row, column));
}

std::string Result::scalar() const {
  if (rows() == 0 || columns() == 0) throw RuntimeError("internal: expected one value, got no rows");
  return std::string(view(0, 0));
}

int64_t Result::scalar_int64() const { return row(0).int64(column_name(0)); }

long long Result::affected_rows() const {
  if (!res_) return 0;
  const char* n = PQcmdTuples(res_);
  return (n && *n) ? std::atoll(n) : 0;
}

bool Row::is_null(std::string_view column) const {
  return result_->is_null(row_, result_->column_index(column));
}

std::string_view Row::view(std::string_view column) const {
  return result_->view(row_, result_->column_index(column));
}

std::optional<std::string> Row::opt(std::string_view column) const {
  return result_->opt(row_, result_->column_index(column));
}

std::optional<int64_t> Row::opt_int64(std::string_view column) const {
  int c = result_->column_index(column);
  if (result_->is_null(row_, c)) return std::nullopt;
  std::string_view v = result_->view(row_, c);
  int64_t out = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || ptr != v.data() + v.size()) {
    // numeric values such as "12.0" or values beyond int64: fall back to the double reading
    return static_cast<int64_t>(std::strtod(std::string(v).c_str(), nullptr));
  }
  return out;
}

int64_t Row::int64(std::string_view column) const { return opt_int64(column).value_or(0); }

double Row::float64(std::string_view column) const {
  int c = result_->column_index(column);
  if (result_->is_null(row_, c)) return 0;
  return std::strtod(std::string(result_->view(row_, c)).c_str(), nullptr);
}

bool Row::boolean(std::string_view column) const {
  int c = result_->column_index(column);
  return !result_->is_null(row_, c) && result_->view(row_, c) == "t";
}

}  // namespace pgshift::pg
