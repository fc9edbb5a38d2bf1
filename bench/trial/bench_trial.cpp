// bench/trial: a whole move of a real application's schema, as a new user would try it. Give it a
// schema-only dump nobody here wrote (a project's committed db/structure.sql), and optionally a
// provider's set-up scripts to load first (--before: Supabase's published init scripts); it starts
// a source and a target cluster and PgBouncer on loopback, loads them on the source, copies the
// schema to the target (`pgshift schema copy`, or --copy-with pg_dump), fills every table it can with generated rows (foreign keys
// followed, enums, domains, partitions), then runs the migration under an application workload
// through PgBouncer: `check`, `sync start`, ordinary migrations on the source during the sync (a
// column with a default then written, a table with a foreign key and rows, an index, an enum value
// used at once, a partition with rows, a rename, a view, a transaction of DDL), `sync soak`,
// `verify`, `cutover` through the pooler, migrations on the new writer, `verify` of the way back,
// `rollback` and a last `verify`. Every step's time, exit code and first error line is printed; at
// the end: acknowledged writes lost (must be 0), apply errors, verify verdicts.
//
// It prints what it saw; it does not pass or fail (exit 0 when it ran to the end). The schema file
// is the user's: this program carries no application's code.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <optional>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "demo/workload.hpp"
#include "localpg/cluster.hpp"
#include "localpg/pgbouncer.hpp"
#include "pg/connection.hpp"
#include "pg/error.hpp"
#include "pg/quote.hpp"
#include "sqlgate/split.hpp"
#include "util/process.hpp"

using namespace pgshift;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

struct Args {
  std::string schema_file;
  long long rows = 200;               // generated rows per table
  double rate = 100;                  // workload transactions per second (ledger) through PgBouncer
  double soak_s = 3;                  // `sync soak --for`
  std::vector<std::string> excludes;
  std::string out_dir = "trial-out";  // the servers' logs, each command's output, the schema change log
  std::vector<std::string> before;    // SQL files loaded on the source first (a provider's set-up scripts)
  std::string copy_with = "pgshift";  // how the target gets the schema: "pgshift" (schema copy) or "pg_dump"
};

// Exits on --help or a bad option (CLI11's message and exit code).
Args parse(int argc, char** argv) {
  Args a;
  CLI::App app{"A whole move of a real application's schema under a workload through PgBouncer"};
  app.add_option("--schema", a.schema_file, "A schema-only SQL dump (e.g. a project's db/structure.sql)")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--before", a.before, "SQL loaded on the source first (a provider's set-up scripts); repeatable")
      ->check(CLI::ExistingFile);
  app.add_option("--rows", a.rows, "Generated rows per table")->capture_default_str();
  app.add_option("--rate", a.rate, "Workload transactions per second")->capture_default_str();
  app.add_option("--soak", a.soak_s, "Seconds of sync soak")->capture_default_str();
  app.add_option("--exclude", a.excludes, "Passed to check and sync start; repeatable");
  app.add_option("--out", a.out_dir, "Where the logs and outputs go")->capture_default_str();
  app.add_option("--copy-with", a.copy_with, "How the target gets the schema")
      ->check(CLI::IsMember({"pgshift", "pg_dump"}))
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::exit(app.exit(e));
  }
  return a;
}

std::string first_line(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find("ERROR") != std::string::npos || line.find("error") != std::string::npos) return line;
  }
  in.clear();
  in.str(text);
  std::getline(in, line);
  return line;
}

// One step of the trial and what it showed.
struct Step {
  std::string name;
  double seconds = 0;
  int exit_code = 0;
  std::string detail;
};

class Trial {
 public:
  explicit Trial(Args a) : a_(std::move(a)) {}
  int run();

 private:
  // -- the clusters and the tool --
  util::RunResult pgshift(std::vector<std::string> args);
  util::RunResult psql_file(const localpg::LocalCluster& c, const std::string& file);
  void load_file(const std::string& name, const localpg::LocalCluster& c, const std::string& file);
  static void count_errors(const util::RunResult& r, Step& s);
  Step& step(const std::string& name, const std::function<void(Step&)>& body);
  Step& pgshift_step(const std::string& name, std::vector<std::string> args);

  // -- data --
  struct Column {
    std::string name, type, category;
    bool not_null = false, has_default = false;
    std::string fk_table, fk_column;  // a one-column foreign key
  };
  struct Table {
    std::string schema, name;
    std::vector<Column> columns;
    std::vector<std::string> key;  // primary key columns
    bool partitioned = false;
    long long rows = 0;
    std::string left_empty_because;
  };
  void read_tables(pg::Connection& conn);
  std::optional<std::string> value_expr(const Column& c, const std::string& table_qualified);
  bool fill(pg::Connection& conn, Table& t, long long from, long long count, std::string* error);
  void fill_all(pg::Connection& conn);
  Table* pick_table(const std::function<bool(const Table&)>& want);

  // -- migrations --
  void migrate(const std::string& label, const std::vector<std::string>& statements, const std::string& through);
  void wait_ddl_settled(const std::string& label);
  void source_migrations();
  void target_migrations();

  // The application's own writes: one generated row at a time into each filled table in turn,
  // through PgBouncer, until stopped (rows written around every migration and both switches).
  void app_writer_loop();
  std::atomic<bool> stop_writer_{false};
  std::atomic<long long> app_rows_{0}, app_errors_{0};
  std::string first_app_error_;

  Args a_;
  std::unique_ptr<localpg::LocalCluster> source_, target_;
  std::unique_ptr<localpg::LocalPgBouncer> bouncer_;
  std::vector<Table> tables_;
  std::vector<Step> steps_;
  std::vector<std::string> verdicts_;
};

util::RunResult Trial::pgshift(std::vector<std::string> args) {
  util::ProcessSpec spec;
  spec.argv = {PGSHIFT_BINARY, "-q"};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.env = {{"PGSHIFT_SOURCE_URL", source_->url("app")},
              {"PGSHIFT_TARGET_URL", target_->url("app")},
              {"PGSHIFT_POOLER_ADMIN_URL", bouncer_ ? bouncer_->admin_url() : ""}};
  return util::run(spec);
}

// psql's "ERROR:" lines: how many, and the first.
void Trial::count_errors(const util::RunResult& r, Step& s) {
  long errors = 0;
  std::istringstream in(r.err);
  for (std::string line; std::getline(in, line);) {
    if (line.find("ERROR:") != std::string::npos && errors++ == 0) s.detail = line;
  }
  if (errors > 0) s.exit_code = 1, s.detail = std::to_string(errors) + " errors, first: " + s.detail;
}

void Trial::load_file(const std::string& name, const localpg::LocalCluster& c, const std::string& file) {
  step(name, [&](Step& s) { count_errors(psql_file(c, file), s); });
}

util::RunResult Trial::psql_file(const localpg::LocalCluster& c, const std::string& file) {
  util::ProcessSpec spec;
  spec.argv = {localpg::postgres_bindir() + "/psql", "-X", "-q", "-v", "ON_ERROR_STOP=0", "-d", c.url("app"), "-f", file};
  return util::run(spec);
}

Step& Trial::step(const std::string& name, const std::function<void(Step&)>& body) {
  Step s;
  s.name = name;
  std::fprintf(stderr, "trial: %s ...\n", name.c_str());
  auto t0 = std::chrono::steady_clock::now();
  try {
    body(s);
  } catch (const std::exception& e) {
    s.exit_code = s.exit_code == 0 ? -1 : s.exit_code;
    s.detail = e.what();
  }
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::fprintf(stderr, "trial: %s: %.1f s, %s%s\n", name.c_str(), s.seconds, s.exit_code == 0 ? "ok" : "FAILED ",
               s.exit_code == 0 ? "" : s.detail.c_str());
  steps_.push_back(std::move(s));
  return steps_.back();
}

Step& Trial::pgshift_step(const std::string& name, std::vector<std::string> args) {
  return step(name, [&](Step& s) {
    util::RunResult r = pgshift(args);
    s.exit_code = r.exit_code;
    fs::create_directories(a_.out_dir);
    std::string file = name;
    std::replace_if(file.begin(), file.end(), [](char ch) { return !std::isalnum(static_cast<unsigned char>(ch)); }, '-');
    std::ofstream(fmt::format("{}/{:02}-{}.out", a_.out_dir, steps_.size(), file)) << r.out << "\n--- stderr\n" << r.err;
    if (r.exit_code != 0) s.detail = first_line(r.err + r.out);
    auto doc = json::parse(r.out, nullptr, false);
    if (!doc.is_discarded() && doc.is_object()) {
      for (const char* key : {"verdict", "summary", "result", "status"}) {
        if (!doc.contains(key)) continue;
        std::string v = doc[key].is_string() ? doc[key].get<std::string>() : doc[key].dump();
        s.detail = v + (s.detail.empty() ? "" : "; " + s.detail);
        break;
      }
    }
    if (name.rfind("verify", 0) == 0) verdicts_.push_back(name + ": exit " + std::to_string(r.exit_code) + " " + s.detail);
  });
}

// Ordinary tables and partitioned roots of the application: not the catalogs, not pgshift's, not
// an extension's, not a partition (rows go through the root).
constexpr std::string_view kTablesSql = R"sql(
SELECT n.nspname AS schema, c.relname AS name, c.relkind = 'p' AS partitioned,
       a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type,
       coalesce(nullif(bt.typcategory, ''), t.typcategory)::text AS category,
       a.attnotnull AS not_null,
       (a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '') AS has_default,
       (SELECT fn.nspname || '.' || fc.relname || '.' || fa.attname
          FROM pg_constraint f
          JOIN pg_class fc ON fc.oid = f.confrelid JOIN pg_namespace fn ON fn.oid = fc.relnamespace
          JOIN pg_attribute fa ON fa.attrelid = f.confrelid AND fa.attnum = f.confkey[1]
         WHERE f.conrelid = c.oid AND f.contype = 'f' AND cardinality(f.conkey) = 1 AND f.conkey[1] = a.attnum
         LIMIT 1) AS fk,
       a.attnum = ANY (coalesce((SELECT conkey FROM pg_constraint WHERE conrelid = c.oid AND contype = 'p'), '{}')) AS in_key
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  JOIN pg_type t ON t.oid = a.atttypid
  LEFT JOIN pg_type bt ON bt.oid = t.typbasetype AND t.typtype = 'd'
 WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
   AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgshift') AND n.nspname NOT LIKE 'pg_toast%'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
 ORDER BY 1, 2, a.attnum
)sql";

void Trial::read_tables(pg::Connection& conn) {
  tables_.clear();
  pg::Result r = conn.exec(kTablesSql);
  for (int i = 0; i < r.rows(); ++i) {
    pg::Row row = r.row(i);
    if (tables_.empty() || tables_.back().schema != row.text("schema") || tables_.back().name != row.text("name")) {
      tables_.push_back({row.text("schema"), row.text("name"), {}, {}, row.boolean("partitioned"), 0, {}});
    }
    Column c{row.text("column"), row.text("type"), row.text("category"), row.boolean("not_null"),
             row.boolean("has_default"), {}, {}};
    if (auto fk = row.opt("fk")) {
      size_t last = fk->rfind('.');
      c.fk_table = fk->substr(0, last);
      c.fk_column = fk->substr(last + 1);
    }
    if (row.boolean("in_key")) tables_.back().key.push_back(c.name);
    tables_.back().columns.push_back(std::move(c));
  }
}

// An SQL expression giving row g's value for the column, or nullopt to leave it to its default or
// NULL. Throws when a NOT NULL column cannot be given a value (the table is left empty).
std::optional<std::string> Trial::value_expr(const Column& c, const std::string& table_qualified) {
  if (c.has_default) return std::nullopt;
  std::string cast = "::" + c.type;
  if (!c.fk_table.empty()) {
    size_t dot = c.fk_table.find('.');
    std::string ref = pg::qualified_name(c.fk_table.substr(0, dot), c.fk_table.substr(dot + 1));
    if (ref == table_qualified) {  // a self-reference: the first rows have no parent
      if (c.not_null) throw std::runtime_error("NOT NULL self-reference " + c.name);
      return std::nullopt;
    }
    std::string col = pg::quote_ident(c.fk_column);
    return fmt::format("(SELECT {0} FROM {1} ORDER BY {0} OFFSET (g % greatest((SELECT count(*) FROM {1}), 1)) LIMIT 1)",
                       col, ref);
  }
  const std::string& k = c.category;
  if (k == "N") {
    if (c.type == "smallint") return "(g % 30000)" + cast;
    if (c.type.rfind("numeric(", 0) == 0) return "(g % 10)" + cast;
    return "g" + cast;
  }
  if (k == "S") return "md5(g::text || " + pg::quote_literal(c.name) + ")" + cast;
  if (k == "B") return std::string("(g % 2 = 0)");
  if (k == "D") return "(now() - g * interval '1 minute')" + cast;
  if (k == "T") return "(g * interval '1 second')" + cast;
  if (k == "E") return fmt::format("(enum_range(NULL{0}))[1 + g % cardinality(enum_range(NULL{0}))]", cast);
  if (k == "A") return "'{}'" + cast;
  if (k == "I") return "('10.0.' || (g % 250) || '.1')" + cast;
  if (k == "U") {
    if (c.type == "uuid") return std::string("gen_random_uuid()");
    if (c.type == "json" || c.type == "jsonb") return "'{}'" + cast;
    if (c.type == "bytea") return std::string("decode(md5(g::text), 'hex')");
    if (c.type == "tsvector") return std::string("to_tsvector('simple', 'w' || g)");
  }
  if (c.not_null) throw std::runtime_error("no generated value for NOT NULL " + c.name + " " + c.type);
  return std::nullopt;
}

bool Trial::fill(pg::Connection& conn, Table& t, long long from, long long count, std::string* error) {
  std::string qualified = pg::qualified_name(t.schema, t.name);
  std::vector<std::string> names, values;
  try {
    for (const auto& c : t.columns) {
      if (!c.fk_table.empty() && c.not_null) {
        size_t dot = c.fk_table.find('.');
        std::string ref = pg::qualified_name(c.fk_table.substr(0, dot), c.fk_table.substr(dot + 1));
        if (ref != qualified && conn.exec("SELECT count(*) FROM " + ref).scalar_int64() == 0) {
          *error = "waits for rows in " + c.fk_table;
          return false;
        }
      }
      if (auto v = value_expr(c, qualified)) {
        names.push_back(pg::quote_ident(c.name));
        values.push_back(*v);
      }
    }
  } catch (const std::exception& e) {
    *error = e.what();
    return false;
  }
  std::string sql = names.empty()
                        ? fmt::format("INSERT INTO {} SELECT FROM generate_series($1::bigint, $2::bigint) g", qualified)
                        : fmt::format("INSERT INTO {} ({}) SELECT {} FROM generate_series($1::bigint, $2::bigint) g",
                                      qualified, fmt::join(names, ", "), fmt::join(values, ", "));
  try {
    conn.exec("SAVEPOINT fill");
    pg::Result r = conn.exec(sql, {std::to_string(from), std::to_string(from + count - 1)});
    conn.exec("RELEASE SAVEPOINT fill");
    t.rows += r.affected_rows();
    return true;
  } catch (const pg::SqlError& e) {
    conn.exec("ROLLBACK TO SAVEPOINT fill");
    *error = first_line(e.what());
    return false;
  }
}

// Passes over every table until no more can be filled: a table waits for the tables its NOT NULL
// foreign keys point to.
void Trial::fill_all(pg::Connection& conn) {
  conn.exec("BEGIN");
  std::set<size_t> pending;
  for (size_t i = 0; i < tables_.size(); ++i) {
    // The workload's own tables are seeded by it.
    if (tables_[i].schema == "public" && (tables_[i].name == "ledger" || tables_[i].name == "counters")) continue;
    pending.insert(i);
  }
  for (bool progress = true; progress && !pending.empty();) {
    progress = false;
    for (auto it = pending.begin(); it != pending.end();) {
      Table& t = tables_[*it];
      std::string error;
      if (fill(conn, t, 1, a_.rows, &error)) {
        it = pending.erase(it);
        progress = true;
      } else {
        t.left_empty_because = error;
        ++it;
      }
    }
  }
  conn.exec("COMMIT");
  conn.exec("ANALYZE");
}

Trial::Table* Trial::pick_table(const std::function<bool(const Table&)>& want) {
  Table* best = nullptr;
  for (auto& t : tables_) {
    if (t.rows > 0 && want(t) && (!best || t.columns.size() > best->columns.size())) best = &t;
  }
  return best;
}

void Trial::migrate(const std::string& label, const std::vector<std::string>& statements, const std::string& through) {
  step("migration on the " + through + ": " + label, [&](Step& s) {
    // The application's URL: PgBouncer, which points at whichever side writes.
    // (Named as an application: pgshift's own sessions are not followed.)
    pg::ConnectOptions as_app;
    as_app.application_name = "trial-migration";
    pg::Connection conn = pg::Connection::open(pg::ConnInfo::parse(bouncer_->url("app"), "the application's URL"), as_app);
    for (const auto& sql : statements) {
      try {
        conn.exec(sql);
      } catch (const pg::SqlError& e) {
        s.exit_code = 1;
        s.detail = sql.substr(0, 80) + ": " + first_line(e.what());
        return;
      }
    }
  });
  wait_ddl_settled(label);
}

// Every recorded schema change has an outcome on the other side, within 60 s.
void Trial::wait_ddl_settled(const std::string& label) {
  step("  followed: " + label, [&](Step& s) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (true) {
      util::RunResult r = pgshift({"sync", "ddl", "list", "--json"});
      auto doc = json::parse(r.out, nullptr, false);
      std::string waiting;
      if (!doc.is_discarded() && doc.contains("entries")) {
        for (const auto& e : doc["entries"]) {
          if (e["outcome"].is_null()) waiting = e.value("command_tag", "?");
          else if (e["outcome"] != "applied" && e["outcome"] != "covered") {
            s.detail = e.value("command_tag", "?") + " " + e["outcome"].dump();
          }
        }
      } else {
        waiting = "ddl list: " + first_line(r.err);
      }
      if (waiting.empty()) return;
      if (std::chrono::steady_clock::now() > deadline) {
        s.exit_code = 1;
        s.detail = "still waiting: " + waiting;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
  });
}

void Trial::source_migrations() {
  Table* t = pick_table([](const Table& x) {
    return x.key.size() == 1 && !x.partitioned &&
           std::any_of(x.columns.begin(), x.columns.end(), [](const Column& c) { return c.category == "D"; });
  });
  if (!t) t = pick_table([](const Table& x) { return x.key.size() == 1 && !x.partitioned; });
  if (!t) {
    step("migrations on the source", [](Step& s) { s.exit_code = 1, s.detail = "no filled table with a one-column key"; });
    return;
  }
  std::string q = pg::qualified_name(t->schema, t->name);
  std::string key = pg::quote_ident(t->key[0]);
  std::string key_type;
  for (const auto& c : t->columns) {
    if (c.name == t->key[0]) key_type = c.type;
  }
  std::fprintf(stderr, "trial: migrations change %s (key %s %s)\n", q.c_str(), key.c_str(), key_type.c_str());
  migrate("add a column with a default, then write it",
          {"ALTER TABLE " + q + " ADD COLUMN trial_note text NOT NULL DEFAULT 'n/a'",
           "UPDATE " + q + " SET trial_note = 'written after the migration' WHERE " + key + " IN (SELECT " + key +
               " FROM " + q + " ORDER BY " + key + " LIMIT 10)"},
          "source");
  migrate("a new table with a foreign key and rows",
          {"CREATE TABLE public.trial_children (id bigserial PRIMARY KEY, parent_id " + key_type + " NOT NULL REFERENCES " +
               q + " (" + key + "), label text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())",
           "CREATE INDEX trial_children_parent ON public.trial_children (parent_id)",
           "INSERT INTO public.trial_children (parent_id, label) SELECT " + key + ", 'child' FROM " + q + " LIMIT 50"},
          "source");
  std::string indexed;
  for (const auto& c : t->columns) {
    if (c.category == "D" || (c.category == "S" && indexed.empty())) indexed = c.name;
  }
  if (!indexed.empty()) {
    migrate("an index", {"CREATE INDEX trial_index ON " + q + " (" + pg::quote_ident(indexed) + ")"}, "source");
  }
  // An enum value used at once, on a filled table with an enum column.
  for (auto& e : tables_) {
    if (e.rows == 0 || e.key.size() != 1) continue;
    auto col = std::find_if(e.columns.begin(), e.columns.end(), [](const Column& c) { return c.category == "E"; });
    if (col == e.columns.end()) continue;
    std::string eq = pg::qualified_name(e.schema, e.name);
    migrate("an enum value used at once (" + col->type + ")",
            {"ALTER TYPE " + col->type + " ADD VALUE IF NOT EXISTS 'trial_value'",
             "UPDATE " + eq + " SET " + pg::quote_ident(col->name) + " = 'trial_value' WHERE " +
                 pg::quote_ident(e.key[0]) + " IN (SELECT " + pg::quote_ident(e.key[0]) + " FROM " + eq + " LIMIT 3)"},
            "source");
    break;
  }
  migrate("a rename, then a write of the renamed column",
          {"ALTER TABLE " + q + " RENAME COLUMN trial_note TO trial_remark",
           "UPDATE " + q + " SET trial_remark = 'after rename' WHERE " + key + " IN (SELECT " + key + " FROM " + q +
               " ORDER BY " + key + " DESC LIMIT 5)"},
          "source");
  migrate("a view and a function",
          {"CREATE VIEW public.trial_view AS SELECT " + key + ", trial_remark FROM " + q,
           "CREATE FUNCTION public.trial_remarks() RETURNS bigint LANGUAGE sql STABLE AS "
           "'SELECT count(*) FROM public.trial_view'"},
          "source");
  migrate("DDL in one transaction (as Rails runs a migration)",
          {"BEGIN", "CREATE TABLE public.trial_audit (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), what text)",
           "CREATE INDEX trial_audit_at ON public.trial_audit (at)", "INSERT INTO public.trial_audit (what) VALUES ('one'), ('two')",
           "COMMIT"},
          "source");
  // A partition with rows, where the schema has a range-partitioned root keyed by a time.
  pg::Connection src = pg::Connection::open(source_->conninfo("app"));
  pg::Result roots = src.exec(R"sql(
    SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod) AS type
      FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = p.partattrs[0]
     WHERE p.partstrat = 'r' AND p.partnatts = 1 AND a.atttypid IN ('timestamptz'::regtype, 'timestamp'::regtype, 'date'::regtype)
     LIMIT 1)sql");
  if (roots.rows() == 1) {
    std::string root = pg::qualified_name(roots.row(0).text("nspname"), roots.row(0).text("relname"));
    std::string part = pg::qualified_name(roots.row(0).text("nspname"), roots.row(0).text("relname") + "_trial_2099");
    Table* rt = nullptr;
    for (auto& x : tables_) {
      if (pg::qualified_name(x.schema, x.name) == root) rt = &x;
    }
    std::vector<std::string> names, values;
    for (const auto& c : rt->columns) {
      if (c.name == roots.row(0).text("attname")) {
        names.push_back(pg::quote_ident(c.name));
        values.push_back("'2099-01-15'::" + c.type);
      } else if (auto v = value_expr(c, root)) {
        names.push_back(pg::quote_ident(c.name));
        values.push_back(*v);
      }
    }
    migrate("a partition with rows (" + root + ")",
            {"CREATE TABLE " + part + " PARTITION OF " + root + " FOR VALUES FROM ('2099-01-01') TO ('2099-02-01')",
             fmt::format("INSERT INTO {} ({}) SELECT {} FROM generate_series(900001, 900020) g", root,
                         fmt::join(names, ", "), fmt::join(values, ", "))},
            "source");
  }
}

void Trial::target_migrations() {
  migrate("after cutover: a column and a table on the new writer",
          {"ALTER TABLE public.trial_children ADD COLUMN weight int NOT NULL DEFAULT 1",
           "UPDATE public.trial_children SET weight = 7 WHERE id IN (SELECT id FROM public.trial_children LIMIT 5)",
           "CREATE TABLE public.trial_after (id bigserial PRIMARY KEY, child_id bigint REFERENCES public.trial_children (id), "
           "note text)",
           "INSERT INTO public.trial_after (child_id, note) SELECT id, 'after cutover' FROM public.trial_children LIMIT 20"},
          "target");
}

void Trial::app_writer_loop() {
  std::vector<Table> tables;
  for (const auto& t : tables_) {
    if (t.rows > 0) tables.push_back(t);
  }
  if (tables.empty()) return;
  pg::ConnectOptions as_app;
  as_app.application_name = "trial-app";
  std::optional<pg::Connection> conn;
  long long g = 1'000'000;
  for (size_t i = 0; !stop_writer_; i = (i + 1) % tables.size()) {
    try {
      if (!conn || !conn->is_ok()) {
        conn.emplace(pg::Connection::open(pg::ConnInfo::parse(bouncer_->url("app"), "the application's URL"), as_app));
      }
      conn->exec("BEGIN");
      std::string error;
      bool ok = fill(*conn, tables[i], ++g, 1, &error);
      conn->exec("COMMIT");
      if (ok) {
        ++app_rows_;
      } else {
        ++app_errors_;
        if (first_app_error_.empty()) first_app_error_ = tables[i].name + ": " + error;
      }
    } catch (const std::exception& e) {
      ++app_errors_;
      if (first_app_error_.empty()) first_app_error_ = e.what();
      conn.reset();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

int Trial::run() {
  source_ = localpg::LocalCluster::start({"trial-src", {}});
  target_ = localpg::LocalCluster::start({"trial-tgt", {}});
  for (auto* c : {source_.get(), target_.get()}) c->create_database("app");

  for (const auto& file : a_.before) load_file("load on the source first: " + file, *source_, file);
  load_file("load the schema on the source (psql -f)", *source_, a_.schema_file);
  if (a_.copy_with == "pgshift") {
    pgshift_step("pgshift schema copy", {"schema", "copy", "--json"});
  } else {
    step("copy the schema to the target as pg_dump --schema-only | psql", [&](Step& s) {
      std::string dir = localpg::make_private_dir("trial");
      util::ProcessSpec dump;
      dump.argv = {localpg::postgres_bindir() + "/pg_dump", "--schema-only", "--no-owner", "--no-publications",
                   "--no-subscriptions", "-f", dir + "/schema.sql", source_->url("app")};
      util::RunResult d = util::run(dump);
      if (d.exit_code != 0) throw std::runtime_error("pg_dump: " + first_line(d.err));
      count_errors(psql_file(*target_, dir + "/schema.sql"), s);
      localpg::remove_tree(dir);
    });
  }
  for (auto* c : {source_.get(), target_.get()}) {
    pg::Connection conn = pg::Connection::open(c->conninfo("app"));
    for (const auto& s : sqlgate::split_statements(demo::kWorkloadTables)) conn.exec(s);
  }
  step("generate rows", [&](Step& s) {
    pg::Connection src = pg::Connection::open(source_->conninfo("app"));
    src.exec(demo::kWorkloadSeed);
    read_tables(src);
    fill_all(src);
    long filled = 0, rows = 0;
    for (const auto& t : tables_) filled += t.rows > 0, rows += t.rows;
    s.detail = fmt::format("{} of {} tables filled, {} rows", filled, tables_.size(), rows);
  });
  for (const auto& t : tables_) {
    if (t.rows == 0) std::fprintf(stderr, "trial:   left empty: %s.%s: %s\n", t.schema.c_str(), t.name.c_str(),
                                  t.left_empty_because.c_str());
  }
  bouncer_ = localpg::LocalPgBouncer::start(*source_, {"app"}, {"transaction", 20, 200, {}});

  std::vector<std::string> excludes;
  for (const auto& e : a_.excludes) excludes.insert(excludes.end(), {"--exclude", e});
  std::vector<std::string> check_args = {"check"};
  check_args.insert(check_args.end(), excludes.begin(), excludes.end());
  pgshift_step("check", check_args);
  demo::Workload load({bouncer_->url("app"), 4, a_.rate});
  load.start();
  std::thread app_writer([this] { app_writer_loop(); });
  std::vector<std::string> start_args = {"sync", "start"};
  start_args.insert(start_args.end(), excludes.begin(), excludes.end());
  pgshift_step("sync start", start_args);
  step("initial copy: every table ready", [&](Step& s) {
    pg::Connection tgt = pg::Connection::open(target_->conninfo("app"));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(10);
    while (tgt.exec("SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'").scalar_int64() > 0 ||
           tgt.exec("SELECT count(*) FROM pg_subscription_rel").scalar_int64() == 0) {
      if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("not ready after 10 minutes");
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    s.detail = std::to_string(tgt.exec("SELECT count(*) FROM pg_subscription_rel").scalar_int64()) + " tables";
  });
  source_migrations();
  std::string soak_for = fmt::format("{}s", a_.soak_s);
  pgshift_step("sync soak", {"sync", "soak", "--for", soak_for, "--deadline", "120s", "--interval", "500ms"});
  pgshift_step("verify (full)", {"verify", "--json"});
  pgshift_step("cutover through the pooler",
               {"cutover", "--json", "--pooler-db", "app", "--pooler-config", bouncer_->config_path()});
  target_migrations();
  pgshift_step("sync soak (the way back)", {"sync", "soak", "--for", soak_for, "--deadline", "120s", "--interval", "500ms"});
  pgshift_step("verify after cutover (full)", {"verify", "--json"});
  pgshift_step("rollback through the pooler",
               {"rollback", "--json", "--pooler-db", "app", "--pooler-config", bouncer_->config_path()});
  std::this_thread::sleep_for(std::chrono::seconds(2));
  load.stop();
  stop_writer_ = true;
  app_writer.join();
  pgshift_step("verify after rollback (full)", {"verify", "--json"});

  demo::WorkloadOutcome outcome = load.outcome();
  pg::Connection src = pg::Connection::open(source_->conninfo("app"));
  long long lost = 0;
  {
    std::set<int64_t> held;
    pg::Result ids = src.exec("SELECT id FROM ledger");
    for (int i = 0; i < ids.rows(); ++i) held.insert(std::stoll(std::string(ids.view(i, 0))));
    for (int64_t id : outcome.acknowledged_ids) lost += held.count(id) == 0;
  }
  util::RunResult st = pgshift({"status", "--json"});
  fs::create_directories(a_.out_dir);
  std::ofstream(a_.out_dir + "/status.json") << st.out << st.err;
  std::ofstream(a_.out_dir + "/ddl.json") << pgshift({"sync", "ddl", "list", "--json"}).out;
  for (auto [side, cluster] : {std::pair{"source", source_.get()}, std::pair{"target", target_.get()}}) {
    pg::Connection conn = pg::Connection::open(cluster->conninfo("app"));
    std::ofstream out(a_.out_dir + "/" + side + "-ddl-tables.txt");
    for (const char* sql : {"SELECT l.seq, l.id, l.command_tag, o.outcome, o.detail FROM pgshift.ddl_log l "
                            "LEFT JOIN pgshift.ddl_outcome o USING (id) ORDER BY l.seq",
                            "SELECT id, outcome, detail FROM pgshift.ddl_outcome"}) {
      try {
        pg::Result r = conn.exec(sql);
        for (int i = 0; i < r.rows(); ++i) {
          for (int j = 0; j < r.columns(); ++j) out << r.view(i, j) << (j + 1 < r.columns() ? " | " : "\n");
        }
      } catch (const pg::SqlError& e) {
        out << e.what() << "\n";
      }
      out << "--\n";
    }
  }
  fs::copy_file(source_->log_file(), a_.out_dir + "/source.log", fs::copy_options::overwrite_existing);
  fs::copy_file(target_->log_file(), a_.out_dir + "/target.log", fs::copy_options::overwrite_existing);

  std::printf("\n=== trial of %s: %zu tables (%ld filled) ===\n", a_.schema_file.c_str(), tables_.size(),
              std::count_if(tables_.begin(), tables_.end(), [](const Table& t) { return t.rows > 0; }));
  std::printf("%-86s %8s %5s  %s\n", "step", "seconds", "exit", "detail");
  int failed = 0;
  for (const auto& s : steps_) {
    failed += s.exit_code != 0;
    std::printf("%-86s %8.1f %5d  %s\n", s.name.c_str(), s.seconds, s.exit_code, s.detail.substr(0, 160).c_str());
  }
  std::printf("\nworkload through PgBouncer: %zu transactions acknowledged, %zu errors; acknowledged writes lost: %lld\n",
              outcome.acknowledged_ids.size(), outcome.errors.size(), lost);
  std::printf("application writes into its own tables through PgBouncer: %lld rows, %lld errors%s%s\n",
              app_rows_.load(), app_errors_.load(), first_app_error_.empty() ? "" : "; first: ",
              first_app_error_.substr(0, 200).c_str());
  for (const auto& v : verdicts_) std::printf("%s\n", v.c_str());
  std::printf("steps failed: %d of %zu\n", failed, steps_.size());
  std::printf("the servers' logs, the schema change log and status: %s/\n", a_.out_dir.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Trial trial(parse(argc, argv));
    return trial.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_trial: %s\n", e.what());
    return 3;
  }
}
