#include "query_corpus.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>

#include "localpg/cluster.hpp"
#include "pg/quote.hpp"
#include "support.hpp"

namespace pgshift::testing {
namespace {

void finish(std::vector<CorpusEntry>& out, CorpusEntry& e, std::vector<std::string>& sql_lines) {
  while (!sql_lines.empty() && sql_lines.back().find_first_not_of(" \t") == std::string::npos) sql_lines.pop_back();
  if (!sql_lines.empty()) {
    for (size_t i = 0; i < sql_lines.size(); ++i) e.sql += (i ? "\n" : "") + sql_lines[i];
    out.push_back(e);
  } else if (!e.cls.empty()) {
    throw std::runtime_error(e.where() + ": entry without SQL");
  }
  CorpusEntry next;
  next.file = e.file;
  e = next;
  sql_lines.clear();
}

}  // namespace

std::vector<CorpusEntry> load_corpus(const std::string& name) {
  std::string path = std::string(PGSHIFT_SOURCE_DIR) + "/tests/integration/query_corpus/" + name;
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::vector<CorpusEntry> out;
  CorpusEntry e;
  e.file = name;
  std::vector<std::string> sql_lines;
  bool in_sql = false;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line == "====") {
      finish(out, e, sql_lines);
      in_sql = false;
      continue;
    }
    if (e.line == 0) e.line = number;
    if (!in_sql && (line.starts_with("#") || line.empty())) continue;
    if (!in_sql && line.starts_with("@")) {
      std::istringstream words(line.substr(1));
      std::string key, value;
      words >> key;
      std::getline(words >> std::ws, value);
      if (key == "class") e.cls = value;
      else if (key == "rule") e.rule = value;
      else if (key == "barrier") e.barrier = value;
      else if (key == "sqlstate") e.sqlstate = value;
      else if (key == "as") e.as = value;
      else if (key == "why") e.why = value;
      else if (key == "min_rows") e.min_rows = std::stoll(value);
      else throw std::runtime_error(name + ":" + std::to_string(number) + ": unknown header @" + key);
      continue;
    }
    in_sql = true;
    sql_lines.push_back(line);
  }
  finish(out, e, sql_lines);
  return out;
}

void create_reader_role(pg::Connection& admin, const std::string& name) {
  admin.exec(fmt::format("CREATE ROLE {} LOGIN PASSWORD {}", pg::quote_ident(name),
                         pg::quote_literal(localpg::kLocalPassword)));
  admin.exec(fmt::format("GRANT pg_read_all_data, pg_read_all_stats, pg_read_all_settings TO {}",
                         pg::quote_ident(name)));
}

ReaderCluster::ReaderCluster(const std::string& name, const std::map<std::string, std::string>& settings,
                             std::string db, std::string_view schema)
    : cluster_(start_cluster(name, settings)), db_(std::move(db)) {
  cluster_->create_database(db_);
  pg::Connection admin = connect(*cluster_, db_);
  run_sql(admin, schema);
  create_reader_role(admin);
}

pg::Connection ReaderCluster::open(const std::string& user) const {
  pg::ConnectOptions options;
  options.application_name = "pgshift-test-" + user;
  options.role = user;
  return pg::Connection::open(cluster_->conninfo(db_, user == "superuser" ? "postgres" : user), options);
}

}  // namespace pgshift::testing
