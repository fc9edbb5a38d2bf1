// The table browser's query (/tables/{schema}/{name}, GET /api/tables/{schema}/{name}): what the
// URL asks for, checked against the catalog, turned into one SELECT whose every identifier is
// quoted and every value bound, run by query::run_audited like any other statement.
//
//   sort=COL        a real column of the table (400 naming `sort` otherwise); default: the
//                   primary key when there is one
//   dir=asc|desc    400 naming `dir` otherwise
//   f=COL:OP:VALUE  repeatable; COL = text before the first ':', OP up to the next ':' (one of
//                   = <> < > contains "is null" "is not null"), VALUE the rest; the value is a
//                   bound parameter compared as the column's type (contains: on its text)
//   fc, fo, fv      one more filter from the page's no-script form
//   page=N          1-based, 1..1,000,000
//   after=KEY       the last primary key of the page before (the Next link carries it); only
//                   with keyset paging (400 naming `after` otherwise); a bound parameter
// Keyset paging: when the order is the single-column primary key, a page reached by its Next link
// starts after the key it carries (`pk > $after`: one index descent, as fast at page 500 as at
// page 1); a page asked for by number alone starts at the key found by an index-only scan
// (`pk >= (SELECT pk ... ORDER BY pk OFFSET k LIMIT 1)`), which skips index entries, not rows.
// Any other order uses OFFSET with the primary key as a tie-breaker so pages are stable; a table
// without a primary key is ordered (or tie-broken) by ctid, its rows' physical place.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "pg/connection.hpp"
#include "util/error.hpp"

namespace pgshift::console {

// A URL parameter that is not acceptable: 400, naming it.
class BadParameter : public UsageError {
 public:
  BadParameter(std::string parameter, const std::string& message)
      : UsageError(parameter + ": " + message), parameter_(std::move(parameter)) {}
  const std::string& parameter() const { return parameter_; }

 private:
  std::string parameter_;
};

// The table is not there (or not visible to the role): 404.
class UnknownTable : public UsageError {
 public:
  using UsageError::UsageError;
};

struct BrowserColumn {
  std::string name;
  std::string type;  // format_type()
  bool primary_key = false;
};

struct TableShape {
  std::string schema, table;
  std::vector<BrowserColumn> columns;
  std::vector<std::string> primary_key;  // in key order
  // System columns that order rows without a key: ctid (tables, materialized views), tableoid
  // and ctid (partitioned tables), none (views, foreign tables: no stable order to offer).
  std::vector<std::string> physical_order;
};

struct Filter {
  std::string column, op, value;
};

struct BrowseRequest {
  std::optional<std::string> sort;
  std::string dir = "asc";
  std::vector<std::string> filters;  // raw f= values
  std::optional<Filter> form_filter; // fc/fo/fv
  std::string page = "1";
  std::optional<std::string> after;  // raw after= value
};

struct BrowseQuery {
  std::string sql;                  // the SELECT, parameters $1..$n
  std::vector<std::string> params;  // their values
  std::vector<Filter> filters;
  std::optional<std::string> sort_column;
  std::string dir;
  long long page = 1;
  bool keyset = false;
  bool after = false;               // the page starts after a given key
};

// Reads the table's columns and primary key (fixed SQL, bound names). Throws UnknownTable, also
// for the system catalogs (pg_catalog, information_schema, pg_toast).
TableShape read_shape(pg::Connection& conn, const std::string& schema, const std::string& table);

// Checks the request against the shape and builds the SELECT. Throws BadParameter.
BrowseQuery build_query(const TableShape& shape, const BrowseRequest& request, long long page_size);

}  // namespace pgshift::console
