// pg_amcheck on the restored server: both passes, their findings mapped to the compared tables.
#include "backup/drill_integrity.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <numeric>
#include <regex>
#include <set>
#include <sstream>

#include "backup/drill_steps.hpp"
#include "backup/tools.hpp"
#include "pg/connection.hpp"
#include "util/duration.hpp"
#include "util/interrupt.hpp"

namespace pgshift::backup {
namespace {

constexpr std::string_view kChecksums = "SELECT current_setting('data_checksums') AS on";
// One row per permanent heap table of the drilled database and each of its indexes (a table
// without any: one row, index NULL). Catalogs are left to pass 1, which checks them too.
constexpr std::string_view kHeaps = R"(
SELECT n.nspname AS schema, c.relname AS name, pg_relation_size(c.oid) AS heap_bytes,
       coalesce(t.relname, '') AS toast, i.relname AS index, coalesce(am.amname, '') AS am,
       coalesce(pg_relation_size(i.oid), 0) AS index_bytes
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class t ON t.oid = c.reltoastrelid
LEFT JOIN pg_index x ON x.indrelid = c.oid
LEFT JOIN pg_class i ON i.oid = x.indexrelid
LEFT JOIN pg_am am ON am.oid = i.relam
WHERE c.relkind IN ('r', 'm') AND c.relpersistence = 'p'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
ORDER BY 1, 2, 5)";

struct Restored {
  std::vector<HeapPlan> plans;
  std::map<std::string, size_t> owner;           // "schema.rel" of a heap, its TOAST or an index -> plan
  std::map<size_t, int> other_indexes;           // plan -> indexes pg_amcheck does not check (GIN, GiST, ...)
};

Restored read_restored(pg::Connection& su) {
  Restored r;
  pg::Result rows = su.exec(kHeaps);
  for (int i = 0; i < rows.rows(); ++i) {
    auto row = rows.row(i);
    std::string schema = row.text("schema"), name = row.text("name");
    if (r.plans.empty() || r.plans.back().schema != schema || r.plans.back().name != name) {
      r.plans.push_back({schema, name, row.int64("heap_bytes"), {}, 0});
      r.owner[schema + "." + name] = r.plans.size() - 1;
      if (!row.text("toast").empty()) r.owner["pg_toast." + row.text("toast")] = r.plans.size() - 1;
    }
    if (row.is_null("index")) continue;
    HeapPlan& p = r.plans.back();
    r.owner[schema + "." + row.text("index")] = r.plans.size() - 1;
    if (row.text("am") == "btree") {
      p.btree_indexes.push_back(row.text("index"));
      p.btree_bytes += row.int64("index_bytes");
    } else {
      ++r.other_indexes[r.plans.size() - 1];
    }
  }
  return r;
}

// A file for pg_amcheck's standard output, closed on every path.
struct OutFile {
  std::string path;
  int fd = -1;
  explicit OutFile(std::string p) : path(std::move(p)) {
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) throw RuntimeError(fmt::format("cannot create {}: {}", path, std::strerror(errno)));
  }
  ~OutFile() { ::close(fd); }
};

struct AmcheckRun {
  int exit_code = 0;
  bool stopped = false;  // stopped at its own limit (not the drill's deadline)
  std::string out, log;
};

// pg_amcheck with extra arguments, line-buffered (stdbuf) so that findings printed before a stop
// at `limit` are kept.
AmcheckRun run_amcheck(const IntegrityOptions& o, const std::vector<std::string>& extra, const std::string& label,
                       Clock::time_point limit) {
  std::vector<std::string> argv = {"stdbuf", "-oL", o.bindir + "/pg_amcheck", "-h", o.superuser.host(), "-p",
                                   o.superuser.port(), "-U", o.superuser.user(), "--no-password", "--install-missing"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(o.superuser.dbname());
  OutFile out(o.log_dir + "/amcheck-" + label + ".out");
  std::string log = o.log_dir + "/amcheck-" + label + ".log";
  util::ProcessSpec spec = tool_spec(argv, false);
  spec.stdout_fd = out.fd;
  AmcheckRun run;
  bool own_limit = limit < o.deadline;
  try {
    run.exit_code = run_watched(spec, "pg_amcheck (" + label + ")", log, std::min(limit, o.deadline), true);
  } catch (const RuntimeError&) {
    if (!own_limit || util::interrupted() || Clock::now() >= o.deadline) throw;
    run.stopped = true;
  }
  run.out = read_log(out.path);
  run.log = read_log(log);
  return run;
}

// The indexes pass 2 finished: with -j 1 and -v, each "checking btree index" line starts one, so
// every one but the last started has finished, and the last too when the run ended by itself.
std::vector<std::string> finished_indexes(const AmcheckRun& run, const std::string& dbname) {
  std::vector<std::string> started;
  std::istringstream in(run.log);
  const std::string mark = "checking btree index \"" + dbname + ".";
  for (std::string line; std::getline(in, line);) {
    size_t at = line.find(mark);
    if (at == std::string::npos) continue;
    std::string rel = line.substr(at + mark.size());
    if (!rel.empty() && rel.back() == '"') rel.pop_back();
    started.push_back(rel);
  }
  if (run.stopped && !started.empty()) started.pop_back();
  return started;
}

std::string seconds_text(double s) { return util::format_duration(util::Millis(static_cast<int64_t>(s * 1000))); }

}  // namespace

std::vector<AmcheckFinding> parse_amcheck_output(const std::string& out, const std::string& dbname) {
  static const std::regex header(R"re(^(heap table|btree index|toast table) "([^"]*)"(.*):\s*$)re");
  std::vector<AmcheckFinding> found;
  std::istringstream in(out);
  bool in_finding = false;
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_match(line, m, header)) {
      std::string rel = m[2];
      if (rel.rfind(dbname + ".", 0) == 0) rel = rel.substr(dbname.size() + 1);
      found.push_back({m[1], rel, m[3], ""});
      in_finding = true;
    } else if (in_finding && !line.empty() && (line[0] == ' ' || line[0] == '\t')) {
      std::string text = line.substr(line.find_first_not_of(" \t"));
      if (text.rfind("LOCATION:", 0) == 0 || text.rfind("DETAIL:", 0) == 0 || text.rfind("HINT:", 0) == 0) continue;
      // "ERROR:  text": one space is enough.
      for (size_t at; (at = text.find("  ")) != std::string::npos;) text.erase(at, 1);
      auto& f = found.back().message;
      f += (f.empty() ? "" : " ") + text;
    } else {
      in_finding = false;  // "query was: ..." and its continuation lines, or anything else
    }
  }
  return found;
}

std::vector<size_t> choose_heapallindexed(const std::vector<HeapPlan>& plans, double bytes_per_s, double budget_s) {
  std::vector<size_t> order;
  for (size_t i = 0; i < plans.size(); ++i) {
    if (!plans[i].btree_indexes.empty()) order.push_back(i);
  }
  auto cost = [&plans](size_t i) {
    const HeapPlan& p = plans[i];
    return static_cast<double>(p.heap_bytes) * static_cast<double>(p.btree_indexes.size()) + static_cast<double>(p.btree_bytes);
  };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return cost(a) < cost(b); });
  std::vector<size_t> chosen;
  double allowed = bytes_per_s * budget_s, used = 0;
  for (size_t i : order) {
    if (used + cost(i) > allowed) break;
    used += cost(i);
    chosen.push_back(i);
  }
  return chosen;
}

std::string exact_pattern(const std::string& schema, const std::string& name) {
  auto quoted = [](const std::string& s) {
    std::string out = "\"";
    for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
  };
  return quoted(schema) + "." + quoted(name);
}

void check_integrity(const IntegrityOptions& o, DrillReport& r) {
  IntegrityReport& g = r.integrity;
  g.budget_s = static_cast<double>(o.heapallindexed_budget.count()) / 1000;
  if (o.major < 14) {
    g.notes.push_back(fmt::format("PostgreSQL {}: pg_amcheck needs 14 or later; the restored pages were not checked", o.major));
    return;
  }
  g.tool = o.bindir + "/pg_amcheck";
  pg::Connection su = pg::Connection::open(o.superuser, "restored (superuser)");
  g.data_checksums = su.exec(kChecksums).scalar() == "on";
  Restored restored = read_restored(su);
  for (const auto& p : restored.plans) g.bytes_checked += p.heap_bytes + p.btree_bytes;
  std::map<std::string, TableCheck*> compared;
  for (auto& t : r.tables) compared[t.schema + "." + t.relname] = &t;
  auto record = [&](const std::vector<AmcheckFinding>& findings) {
    for (const auto& f : findings) {
      auto owner = restored.owner.find(f.relation);
      TableCheck* t = nullptr;
      if (owner != restored.owner.end()) {
        const HeapPlan& p = restored.plans[owner->second];
        auto c = compared.find(p.schema + "." + p.name);
        if (c != compared.end()) t = c->second;
      }
      std::string what = f.kind + (f.kind == "heap table" ? "" : " " + f.relation) + f.where + ": " + f.message;
      if (t) t->corruption.push_back(what);
      else g.problems.push_back(fmt::format("pg_amcheck: {} {}{}: {}", f.kind, f.relation, f.where, f.message));
    }
  };
  auto failed_to_run = [&](const AmcheckRun& run, const std::string& pass) {
    if (run.exit_code == 0 || run.exit_code == 2) return false;
    g.problems.push_back(fmt::format("pg_amcheck ({}) could not check the restored data (exit {}): {}", pass, run.exit_code,
                                     first_error_line(run.log)));
    return true;
  };

  // Pass 1: heap and B-tree, everything in the database.
  g.ran = true;
  auto t1 = Clock::now();
  AmcheckRun all = run_amcheck(o, {"-j", "2"}, "heap-btree", o.deadline);
  g.heap_btree_s = seconds_since(t1);
  if (failed_to_run(all, "heap and btree")) return;
  std::vector<AmcheckFinding> findings = parse_amcheck_output(all.out, o.superuser.dbname());
  if (all.exit_code == 2 && findings.empty()) {
    g.problems.push_back("pg_amcheck reported corruption it did not name (exit 2): " + first_error_line(all.out + "\n" + all.log));
  }
  record(findings);
  for (size_t i = 0; i < restored.plans.size(); ++i) {
    const HeapPlan& p = restored.plans[i];
    auto c = compared.find(p.schema + "." + p.name);
    if (c == compared.end()) continue;
    c->second->checked = {"heap"};
    if (!p.btree_indexes.empty()) c->second->checked.push_back("btree");
    if (int n = restored.other_indexes[i]) c->second->not_checked = fmt::format("{} index(es) that are not B-tree", n);
  }

  // Pass 2: heapallindexed on the B-tree indexes of the tables that fit the budget.
  double bytes_per_s = static_cast<double>(g.bytes_checked) / std::max(g.heap_btree_s, 0.001);
  std::vector<size_t> chosen = choose_heapallindexed(restored.plans, bytes_per_s, g.budget_s);
  std::set<size_t> done;
  if (!chosen.empty()) {
    std::vector<std::string> args = {"-j", "1", "-v", "--heapallindexed"};
    for (size_t i : chosen) {
      for (const auto& idx : restored.plans[i].btree_indexes) args.insert(args.end(), {"-i", exact_pattern(restored.plans[i].schema, idx)});
    }
    auto t2 = Clock::now();
    // The choice is a prediction: a pass that runs to twice the budget is stopped.
    AmcheckRun hai = run_amcheck(o, args, "heapallindexed", t2 + 2 * o.heapallindexed_budget);
    g.heapallindexed_s = seconds_since(t2);
    if (!failed_to_run(hai, "heapallindexed")) {
      record(parse_amcheck_output(hai.out, o.superuser.dbname()));
      std::set<std::string> finished;
      for (const auto& rel : finished_indexes(hai, o.superuser.dbname())) finished.insert(rel);
      for (size_t i : chosen) {
        const HeapPlan& p = restored.plans[i];
        bool all_done = std::all_of(p.btree_indexes.begin(), p.btree_indexes.end(),
                                    [&](const std::string& idx) { return finished.count(p.schema + "." + idx) > 0; });
        if (all_done) done.insert(i);
      }
      if (hai.stopped) g.notes.push_back(fmt::format("heapallindexed stopped at twice its {} budget", seconds_text(g.budget_s)));
    }
  }
  for (size_t i = 0; i < restored.plans.size(); ++i) {
    const HeapPlan& p = restored.plans[i];
    auto c = compared.find(p.schema + "." + p.name);
    if (c == compared.end() || p.btree_indexes.empty()) continue;
    TableCheck& t = *c->second;
    if (done.count(i)) {
      t.checked.push_back("heapallindexed");
      continue;
    }
    std::string why = std::find(chosen.begin(), chosen.end(), i) != chosen.end()
                          ? "heapallindexed: not finished within twice the budget"
                          : fmt::format("heapallindexed: over the {} budget", seconds_text(g.budget_s));
    t.not_checked = t.not_checked.empty() ? why : t.not_checked + "; " + why;
  }
}

}  // namespace pgshift::backup
