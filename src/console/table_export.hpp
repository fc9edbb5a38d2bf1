// The table browser's URL as a query, shared by its page and its export:
//   GET /api/tables/{schema}/{name}/export?format=csv|json|markdown&sort=..&dir=..&f=..&fc=..
// exports the rows the page shows (the same filters and order, every page of them: no page=,
// no after=), up to --export-row-limit rows and the statement's byte budget, as a download
// (console/export_stream.hpp).
#pragma once

#include <exception>
#include <string>

#include "console/export_stream.hpp"
#include "console/table_browser.hpp"
#include "http/server.hpp"

namespace pgshift::console {

// sort, dir, page, after, f (repeatable) and fc/fo/fv from the request, unchecked (build_query
// checks them against the table).
BrowseRequest browse_request(const http::Request& req);

// A server error on the browser's statement that is the URL's fault (a filter value or after=
// key the column's type does not accept, an operator the type lacks) as BadParameter naming f or
// after; other errors unchanged.
std::exception_ptr blame_parameter(std::exception_ptr error, const BrowseQuery& query);

struct TableExport {
  ExportJob job;
  BrowseQuery query;  // for blame_parameter()
};

// The export of a table of this shape: the browser's SELECT for the request's filters and order,
// without paging; format from ?format= (csv when absent); limit = row_limit; the caller's audit
// extra gets table, filters and format. Throws BadParameter naming the parameter (page= and
// after= are refused: an export has no pages).
TableExport table_export(const TableShape& shape, const http::Request& req, query::Caller caller,
                         const query::Options& base, long long row_limit);

}  // namespace pgshift::console
