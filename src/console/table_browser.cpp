// The table browser's checked, quoted, bound SELECT; see console/table_browser.hpp.
#include "console/table_browser.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "pg/quote.hpp"

namespace pgshift::console {
namespace {

constexpr long long kMaxPage = 1'000'000;
constexpr size_t kMaxFilters = 20;

// Tables, views, materialized views, foreign and partitioned tables the role can read, outside the
// system schemas.
constexpr std::string_view kShape = R"sql(
SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type,
       coalesce((SELECT k.n FROM unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) WHERE k.attnum = a.attnum), 0)
         AS pk_position,
       c.relkind
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND has_table_privilege(c.oid, 'SELECT')
  -- the system catalogs are not browsable (pg_authid holds password hashes, readable by
  -- pg_read_all_data)
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%'
  AND n.nspname NOT LIKE 'pg\_temp\_%'
ORDER BY a.attnum
)sql";

const std::vector<std::string> kOps = {"=", "<>", "<", ">", "contains", "is null", "is not null"};

const BrowserColumn* find_column(const TableShape& shape, const std::string& name) {
  for (const auto& c : shape.columns) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

std::string shown(std::string_view text) {
  std::string s(text.substr(0, 80));
  return s + (text.size() > 80 ? "…" : "");
}

Filter parse_filter(const TableShape& shape, const std::string& raw) {
  size_t first = raw.find(':');
  size_t second = first == std::string::npos ? std::string::npos : raw.find(':', first + 1);
  if (second == std::string::npos) {
    throw BadParameter("f", fmt::format("'{}' is not COLUMN:OP:VALUE", shown(raw)));
  }
  Filter f{raw.substr(0, first), raw.substr(first + 1, second - first - 1), raw.substr(second + 1)};
  if (!find_column(shape, f.column)) {
    throw BadParameter("f", fmt::format("'{}' is not a column of {}", shown(f.column),
                                        pg::display_name(shape.schema, shape.table)));
  }
  if (std::find(kOps.begin(), kOps.end(), f.op) == kOps.end()) {
    throw BadParameter("f", fmt::format("'{}' is not an operator (=, <>, <, >, contains, is null, is not null)",
                                        shown(f.op)));
  }
  return f;
}

long long parse_page(const std::string& text) {
  long long page = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), page);
  if (ec != std::errc() || end != text.data() + text.size() || page < 1 || page > kMaxPage) {
    throw BadParameter("page", fmt::format("'{}' is not a page number (1-{})", shown(text), kMaxPage));
  }
  return page;
}

}  // namespace

TableShape read_shape(pg::Connection& conn, const std::string& schema, const std::string& table) {
  pg::Result r = conn.exec(kShape, {schema, table});
  TableShape shape{schema, table, {}, {}, {}};
  std::vector<std::pair<long long, std::string>> key;
  for (int i = 0; i < r.rows(); ++i) {
    long long pos = std::stoll(std::string(r.view(i, 2)));
    shape.columns.push_back({std::string(r.view(i, 0)), std::string(r.view(i, 1)), pos > 0});
    if (pos > 0) key.emplace_back(pos, std::string(r.view(i, 0)));
  }
  if (r.rows() > 0) {
    // Rows of a table without a key still have a stable place: page them in that order.
    const std::string_view kind = r.view(0, 3);
    if (kind == "p") shape.physical_order = {"tableoid", "ctid"};
    if (kind == "r" || kind == "m") shape.physical_order = {"ctid"};
  }
  if (shape.columns.empty()) {
    throw UnknownTable(fmt::format("no table {} that this role can read", pg::display_name(schema, table)));
  }
  std::sort(key.begin(), key.end());
  for (auto& k : key) shape.primary_key.push_back(k.second);
  return shape;
}

BrowseQuery build_query(const TableShape& shape, const BrowseRequest& request, long long page_size) {
  BrowseQuery q;
  if (request.dir != "asc" && request.dir != "desc") {
    throw BadParameter("dir", fmt::format("'{}' is not asc or desc", shown(request.dir)));
  }
  q.dir = request.dir;
  q.page = parse_page(request.page);
  if (request.sort) {
    if (!find_column(shape, *request.sort)) {
      throw BadParameter("sort", fmt::format("'{}' is not a column of {}", shown(*request.sort),
                                             pg::display_name(shape.schema, shape.table)));
    }
    q.sort_column = *request.sort;
  }
  if (request.filters.size() + (request.form_filter ? 1 : 0) > kMaxFilters) {
    throw BadParameter("f", fmt::format("at most {} filters", kMaxFilters));
  }
  for (const auto& raw : request.filters) q.filters.push_back(parse_filter(shape, raw));
  if (request.form_filter) {
    const Filter& ff = *request.form_filter;
    q.filters.push_back(parse_filter(shape, ff.column + ":" + ff.op + ":" + ff.value));
  }

  std::string columns;
  for (const auto& c : shape.columns) columns += (columns.empty() ? "" : ", ") + pg::quote_ident(c.name);
  const std::string table = pg::qualified_name(shape.schema, shape.table);

  std::vector<std::string> conditions;
  for (const Filter& f : q.filters) {
    const std::string col = pg::quote_ident(f.column);
    if (f.op == "is null" || f.op == "is not null") {
      conditions.push_back(fmt::format("{} {}", col, f.op == "is null" ? "IS NULL" : "IS NOT NULL"));
      continue;
    }
    q.params.push_back(f.value);
    const std::string p = "$" + std::to_string(q.params.size());
    if (f.op == "contains") {
      conditions.push_back(fmt::format("strpos(lower({}::text), lower({}::text)) > 0", col, p));
    } else {
      conditions.push_back(fmt::format("{} {} {}", col, f.op, p));
    }
  }
  auto where = [&](const std::vector<std::string>& conds) {
    std::string w;
    for (const auto& c : conds) w += (w.empty() ? " WHERE " : " AND ") + c;
    return w;
  };
  const std::string dir = q.dir == "desc" ? "DESC" : "ASC";
  const long long offset = (q.page - 1) * page_size;
  const bool single_key = shape.primary_key.size() == 1;
  if (!q.sort_column && !shape.primary_key.empty()) q.sort_column = shape.primary_key.front();
  q.keyset = single_key && q.sort_column == shape.primary_key.front();

  if (request.after && !q.keyset) {
    throw BadParameter("after", shape.primary_key.size() == 1
                                    ? fmt::format("pages by the primary key: only with the order by {} (drop sort=)",
                                                  shown(shape.primary_key.front()))
                                    : fmt::format("pages by a single-column primary key, which {} does not have",
                                                  pg::display_name(shape.schema, shape.table)));
  }
  q.after = request.after.has_value();

  std::string order;
  if (q.sort_column) {
    order = " ORDER BY " + pg::quote_ident(*q.sort_column) + " " + dir;
    for (const auto& k : shape.primary_key) {
      if (k != *q.sort_column) order += ", " + pg::quote_ident(k) + " " + dir;
    }
  }
  // Without a primary key, OFFSET alone would page an unordered result (rows repeat or go
  // missing between pages): the row's physical place breaks ties, or is the order.
  if (shape.primary_key.empty() && !shape.physical_order.empty()) {
    for (const std::string& column : shape.physical_order) {
      order += (order.empty() ? " ORDER BY " : ", ") + column + " " + dir;
    }
  }
  if (q.keyset) {
    const std::string key = pg::quote_ident(shape.primary_key.front());
    std::vector<std::string> conds = conditions;
    if (request.after) {
      q.params.push_back(*request.after);  // compared as the key's type
      conds.push_back(fmt::format("{} {} ${}", key, dir == "ASC" ? ">" : "<", q.params.size()));
    } else if (offset > 0) {
      q.params.push_back(std::to_string(offset));
      conds.push_back(fmt::format("{} {} (SELECT {} FROM {}{} ORDER BY {} {} OFFSET ${}::bigint LIMIT 1)", key,
                                  dir == "ASC" ? ">=" : "<=", key, table, where(conditions), key, dir,
                                  q.params.size()));
    }
    q.sql = fmt::format("SELECT {} FROM {}{}{}", columns, table, where(conds), order);
  } else {
    q.sql = fmt::format("SELECT {} FROM {}{}{}", columns, table, where(conditions), order);
    if (offset > 0) {
      q.params.push_back(std::to_string(offset));
      q.sql += fmt::format(" OFFSET ${}::bigint", q.params.size());
    }
  }
  return q;
}

}  // namespace pgshift::console
