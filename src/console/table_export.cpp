// The table browser's request and its export; see console/table_export.hpp.
#include "console/table_export.hpp"

#include <fmt/format.h>

#include "pg/error.hpp"
#include "util/redact.hpp"

namespace pgshift::console {
namespace {

// A file name from the table's name: [A-Za-z0-9._-] kept, anything else '_'.
std::string file_name(const TableShape& shape) {
  std::string out = shape.schema + "." + shape.table;
  for (char& c : out) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok) c = '_';
  }
  return out.substr(0, 120);
}

}  // namespace

BrowseRequest browse_request(const http::Request& req) {
  BrowseRequest br;
  if (req.has_param("sort") && !req.param("sort").empty()) br.sort = req.param("sort");
  if (req.has_param("dir")) br.dir = req.param("dir");
  if (req.has_param("page") && !req.param("page").empty()) br.page = req.param("page");
  if (req.has_param("after") && !req.param("after").empty()) br.after = req.param("after");
  br.filters = req.params("f");
  if (req.has_param("fc") && !req.param("fc").empty()) br.form_filter = Filter{req.param("fc"), req.param("fo"), req.param("fv")};
  return br;
}

std::exception_ptr blame_parameter(std::exception_ptr error, const BrowseQuery& q) {
  try {
    std::rethrow_exception(error);
  } catch (const pg::SqlError& e) {
    const std::string& s = e.sqlstate();
    if ((!q.filters.empty() || q.after) && (s.starts_with("22") || s == "42883" || s == "42804" || s == "42725")) {
      return std::make_exception_ptr(BadParameter(q.filters.empty() ? "after" : "f", util::redact(e.server_message())));
    }
  } catch (...) {
  }
  return error;
}

TableExport table_export(const TableShape& shape, const http::Request& req, query::Caller caller,
                         const query::Options& base, long long row_limit) {
  BrowseRequest br = browse_request(req);
  if (req.has_param("page")) throw BadParameter("page", "an export has every page: drop page=");
  if (br.after) throw BadParameter("after", "an export has every page: drop after=");
  std::optional<query::Format> format = export_format(req);
  TableExport out;
  out.query = build_query(shape, br, 1);
  ExportJob& job = out.job;
  job.sql = out.query.sql;
  job.params = out.query.params;
  job.options = base;
  job.options.limit = row_limit;
  job.format = format.value_or(query::Format::csv);
  job.file_name = file_name(shape);
  nlohmann::json filters = nlohmann::json::array();
  for (const auto& f : out.query.filters) filters.push_back({{"column", f.column}, {"op", f.op}, {"value", f.value}});
  caller.extra["table"] = shape.schema + "." + shape.table;
  caller.extra["filters"] = std::move(filters);
  caller.extra["format"] = req.has_param("format") ? req.param("format") : "csv";
  job.caller = std::move(caller);
  return out;
}

}  // namespace pgshift::console
