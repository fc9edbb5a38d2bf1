// `pgshift cnpg render` and `pgshift cnpg lint` against CloudNativePG v1.30.0's CRDs (and the
// barman-cloud plugin's ObjectStore), read from ../shared/cnpg-crds beside the checkout or
// $PGSHIFT_CNPG_CRDS. Every rendered document must validate with ajv (an independent JSON Schema
// validator fed the CRD YAML itself) and `lint` must agree with ajv on valid and broken documents;
// each webhook rule has a fixture that the schemas accept and lint refuses. With --source, the
// derived settings come from a real cluster, and the rendered postInitApplicationSQL, run on a
// fresh database, leaves roles that `roles check` passes and `roles plan` has nothing to add to.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cnpg/cel.hpp"
#include "cnpg/cnpg.hpp"
#include "pg/quote.hpp"
#include "support/support.hpp"
#include "util/process.hpp"
#include "util/strict_yaml.hpp"

using namespace pgshift;
using namespace pgshift::testing;
namespace fs = std::filesystem;

namespace {

std::string crds_dir() {
  if (const char* env = std::getenv("PGSHIFT_CNPG_CRDS"); env && *env) return env;
  return (fs::path(PGSHIFT_SOURCE_DIR) / ".." / "shared" / "cnpg-crds").lexically_normal().string();
}

std::string fixture(const std::string& name) { return std::string(PGSHIFT_SOURCE_DIR) + "/tests/integration/cnpg/" + name; }

struct AjvVerdict {
  std::string kind, name;
  bool valid = false;
  std::string errors;
};

// One verdict per document of the files, from tests/support/ajv_validate.mjs.
std::vector<AjvVerdict> ajv(const std::vector<std::string>& files) {
  util::ProcessSpec spec;
  spec.argv = {"node", std::string(PGSHIFT_SOURCE_DIR) + "/tests/support/ajv_validate.mjs", crds_dir()};
  spec.argv.insert(spec.argv.end(), files.begin(), files.end());
  util::RunResult r = util::run(spec, util::Millis(120'000));
  EXPECT_EQ(r.exit_code, 0) << r.err << "\n(run scripts/install-deps for node_modules)";
  std::vector<AjvVerdict> out;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    auto j = nlohmann::json::parse(line);
    out.push_back({j.at("kind"), j.value("name", ""), j.at("valid"), j.at("errors").dump()});
  }
  return out;
}

CliRun lint(const std::vector<std::string>& files) {
  std::vector<std::string> args = {"cnpg", "lint", "--crds", crds_dir(), "--json"};
  args.insert(args.end(), files.begin(), files.end());
  return run_pgshift(args);
}

// Renders into a fresh directory; returns the document files.
std::vector<std::string> render(const std::string& file, const std::string& name, std::vector<std::string> extra = {}) {
  std::string dir = fs::path(write_temp_file(name + ".keep", "")).parent_path() / ("render-" + name);
  fs::remove_all(dir);
  std::vector<std::string> args = {"cnpg", "render", "-f", file, "-o", dir};
  args.insert(args.end(), extra.begin(), extra.end());
  CliRun r = run_pgshift(args);
  EXPECT_EQ(r.exit_code, 0) << r.all();
  expect_no_password(r.all());
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir)) files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

cnpg::Json load(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return cnpg::yaml_documents(s.str(), path).at(0);
}

const cnpg::Json* find_kind(const std::vector<cnpg::Json>& docs, const std::string& kind, const std::string& name_suffix = "") {
  for (const auto& d : docs) {
    if (d["kind"] == kind && d["metadata"]["name"].get<std::string>().ends_with(name_suffix)) return &d;
  }
  return nullptr;
}

class CnpgRenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(crds_dir() + "/postgresql.cnpg.io_clusters.yaml"))
        << "the CloudNativePG CRDs are not at " << crds_dir() << " (set PGSHIFT_CNPG_CRDS)";
  }
};

void expect_valid_everywhere(const std::vector<std::string>& files) {
  for (const auto& v : ajv(files)) EXPECT_TRUE(v.valid) << v.kind << " " << v.name << ": " << v.errors;
  CliRun l = lint(files);
  EXPECT_EQ(l.exit_code, 0) << l.all();
}

TEST_F(CnpgRenderTest, ProductionLikeRendersValidDocuments) {
  std::vector<std::string> files = render(fixture("production.yaml"), "production");
  ASSERT_EQ(files.size(), 4u);
  expect_valid_everywhere(files);
  std::vector<cnpg::Json> docs;
  for (const auto& f : files) docs.push_back(load(f));
  const cnpg::Json* cluster = find_kind(docs, "Cluster");
  ASSERT_TRUE(cluster);
  const auto& spec = (*cluster)["spec"];
  EXPECT_EQ(spec["instances"], 3);
  EXPECT_EQ(spec["postgresql"]["parameters"]["max_connections"], "200");
  EXPECT_EQ(spec["postgresql"]["parameters"]["pgaudit.log"], "ddl, role");
  EXPECT_TRUE(spec["backup"].contains("barmanObjectStore"));
  EXPECT_EQ(spec["backup"]["retentionPolicy"], "30d");
  EXPECT_FALSE(spec.contains("plugins"));
  EXPECT_EQ(spec["replicationSlots"]["highAvailability"]["enabled"], true);
  ASSERT_EQ(spec["managed"]["roles"].size(), 2u);
  EXPECT_EQ(spec["managed"]["roles"][0]["passwordSecret"]["name"], "ops-ro-password");
  std::string sql = spec["bootstrap"]["initdb"]["postInitApplicationSQL"].dump();
  for (const char* s : {"REVOKE TEMPORARY ON DATABASE \\\"app\\\" FROM PUBLIC",
                        "REVOKE EXECUTE ON FUNCTION pg_catalog.lo_from_bytea(oid,bytea) FROM PUBLIC",
                        "ALTER ROLE \\\"ops_ro\\\" SET default_transaction_read_only TO 'on'",
                        "ALTER DEFAULT PRIVILEGES FOR ROLE \\\"app\\\" IN SCHEMA \\\"public\\\" GRANT SELECT ON TABLES TO \\\"ops_ro\\\""}) {
    EXPECT_NE(sql.find(s), std::string::npos) << s << " not in " << sql;
  }
  EXPECT_EQ(sql.find("PASSWORD"), std::string::npos) << "CloudNativePG sets passwords from passwordSecret";
  const cnpg::Json* sb = find_kind(docs, "ScheduledBackup");
  ASSERT_TRUE(sb);
  EXPECT_EQ((*sb)["spec"]["schedule"], "0 0 3 * * *");
  EXPECT_EQ((*sb)["spec"]["method"], "barmanObjectStore");
  for (const char* type : {"rw", "ro"}) {
    const cnpg::Json* pooler = find_kind(docs, "Pooler", std::string("-") + type);
    ASSERT_TRUE(pooler) << type;
    EXPECT_EQ((*pooler)["spec"]["type"], type);
    EXPECT_EQ((*pooler)["spec"]["instances"], 2);
    EXPECT_EQ((*pooler)["spec"]["pgbouncer"]["poolMode"], "transaction");
  }
}

TEST_F(CnpgRenderTest, LintReadsAReleaseManifestWithOtherKinds) {
  // A release's cnpg-X.Y.Z.yaml: the CRDs among a Namespace, a Deployment and the like.
  std::string manifest = "apiVersion: v1\nkind: Namespace\nmetadata: {name: cnpg-system}\n";
  for (const char* f : {"postgresql.cnpg.io_clusters.yaml", "postgresql.cnpg.io_poolers.yaml",
                        "postgresql.cnpg.io_scheduledbackups.yaml"}) {
    std::ifstream in(crds_dir() + "/" + f);
    std::stringstream text;
    text << in.rdbuf();
    manifest += "---\n" + text.str();
  }
  manifest += "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: cnpg-controller-manager}\n";
  std::string release = write_temp_file("cnpg-1.30.0.yaml", manifest);
  std::vector<std::string> files = render(fixture("production.yaml"), "release");
  std::vector<std::string> args = {"cnpg", "lint", "--crds", release};
  args.insert(args.end(), files.begin(), files.end());
  CliRun r = run_pgshift(args);
  EXPECT_EQ(r.exit_code, 0) << r.all();
  EXPECT_NE(r.out.find("valid against 3 CRD schema(s)"), std::string::npos) << r.out;
  // Without the ObjectStore CRD, a plugin-method render cannot be checked: lint says which CRD is missing.
  std::vector<std::string> staging = render(fixture("staging.yaml"), "release-staging");
  args = {"cnpg", "lint", "--crds", release};
  args.insert(args.end(), staging.begin(), staging.end());
  r = run_pgshift(args);
  EXPECT_EQ(r.exit_code, 1) << r.all();
  EXPECT_NE(r.out.find("no CRD schema for barmancloud.cnpg.io/v1/ObjectStore"), std::string::npos) << r.out;
}

TEST_F(CnpgRenderTest, StagingLikeUsesThePluginNeverBoth) {
  std::vector<std::string> files = render(fixture("staging.yaml"), "staging");
  expect_valid_everywhere(files);
  std::vector<cnpg::Json> docs;
  for (const auto& f : files) docs.push_back(load(f));
  const cnpg::Json* cluster = find_kind(docs, "Cluster");
  ASSERT_TRUE(cluster);
  EXPECT_FALSE((*cluster)["spec"].contains("backup"));
  ASSERT_EQ((*cluster)["spec"]["plugins"].size(), 1u);
  EXPECT_EQ((*cluster)["spec"]["plugins"][0]["isWALArchiver"], true);
  const cnpg::Json* store = find_kind(docs, "ObjectStore");
  ASSERT_TRUE(store);
  EXPECT_EQ((*store)["apiVersion"], "barmancloud.cnpg.io/v1");
  EXPECT_EQ((*store)["metadata"]["name"], (*cluster)["spec"]["plugins"][0]["parameters"]["barmanObjectName"]);
  const cnpg::Json* sb = find_kind(docs, "ScheduledBackup");
  ASSERT_TRUE(sb);
  EXPECT_EQ((*sb)["spec"]["method"], "plugin");
  EXPECT_FALSE(find_kind(docs, "Pooler", "-ro"));
  EXPECT_TRUE(find_kind(docs, "Pooler", "-rw"));
}

TEST_F(CnpgRenderTest, LintAgreesWithAjvOnBrokenDocuments) {
  std::vector<std::string> files = render(fixture("production.yaml"), "broken");
  cnpg::Json cluster = load(files[0]);
  ASSERT_EQ(cluster["kind"], "Cluster");
  // Each mutation breaks the schema in a different way; one stays valid (int-or-string).
  std::vector<std::pair<std::string, std::function<void(cnpg::Json&)>>> mutations = {
      {"unknown-field", [](cnpg::Json& d) { d["spec"]["instancez"] = 3; }},
      {"unknown-nested-field", [](cnpg::Json& d) { d["spec"]["storage"]["sise"] = "1Gi"; }},
      {"wrong-type", [](cnpg::Json& d) { d["spec"]["instances"] = "three"; }},
      {"bad-enum", [](cnpg::Json& d) { d["spec"]["managed"]["roles"][0]["ensure"] = "gone"; }},
      {"parameter-not-string", [](cnpg::Json& d) { d["spec"]["postgresql"]["parameters"]["max_connections"] = 200; }},
      {"int-or-string-as-int", [](cnpg::Json& d) { d["spec"]["resources"]["requests"]["cpu"] = 2; }},
  };
  std::vector<std::string> paths;
  for (const auto& [name, mutate] : mutations) {
    cnpg::Json d = cluster;
    mutate(d);
    paths.push_back(write_temp_file(name + ".yaml", cnpg::to_yaml(d)));
  }
  std::vector<AjvVerdict> verdicts = ajv(paths);
  ASSERT_EQ(verdicts.size(), paths.size());
  for (size_t i = 0; i < paths.size(); ++i) {
    SCOPED_TRACE(mutations[i].first);
    CliRun l = lint({paths[i]});
    bool lint_valid = l.exit_code == 0;
    EXPECT_EQ(lint_valid, verdicts[i].valid) << "ajv: " << verdicts[i].errors << "\nlint: " << l.out;
    EXPECT_EQ(verdicts[i].valid, mutations[i].first == "int-or-string-as-int") << verdicts[i].errors;
  }
}

TEST_F(CnpgRenderTest, EachWebhookRuleHasAFailingFixture) {
  const std::map<std::string, std::string> fixtures = {
      {"five_field_cron.yaml", "schedule-six-fields"},
      {"in_tree_and_plugin.yaml", "wal-archiver-exclusive"},
      {"reserved_role.yaml", "reserved-role-name"},
      {"synchronize_logical_decoding.yaml", "synchronize-logical-decoding"},
      {"synchronize_logical_decoding_17.yaml", "synchronize-logical-decoding"},
      {"fixed_parameter.yaml", "fixed-parameter"},
      {"fixed_archive_command.yaml", "fixed-parameter"},
      {"name_not_dns1035.yaml", "name"},
      {"name_too_long.yaml", "name"},
      {"wal_level_minimal.yaml", "wal-level"},
      {"storage_gb.yaml", "quantity"},
      {"image_latest.yaml", "image"},
      {"image_unsupported.yaml", "image"},
      {"synchronous_too_many.yaml", "synchronous"},
      {"pgbouncer_reserved.yaml", "pgbouncer-parameter"},
      {"cel_image_and_catalog.yaml", "cel"},
      {"cel_icu_locale.yaml", "cel"},
      {"cel_data_durability.yaml", "cel"},
  };
  std::vector<std::string> paths;
  for (const auto& [file, rule] : fixtures) paths.push_back(fixture("lint/" + file));
  std::vector<AjvVerdict> verdicts = ajv(paths);
  ASSERT_EQ(verdicts.size(), fixtures.size());
  for (const auto& v : verdicts) EXPECT_TRUE(v.valid) << v.kind << " " << v.name << ": the schema alone must accept it: " << v.errors;
  for (const auto& [file, rule] : fixtures) {
    SCOPED_TRACE(file);
    CliRun l = lint({fixture("lint/" + file)});
    EXPECT_EQ(l.exit_code, 1) << l.all();
    auto doc = nlohmann::json::parse(l.out);
    ASSERT_EQ(doc.at("problems").size(), 1u) << l.out;
    EXPECT_EQ(doc["problems"][0]["rule"], rule);
  }
  CliRun cron = lint({fixture("lint/five_field_cron.yaml")});
  EXPECT_NE(cron.out.find("every hour at minute 3"), std::string::npos) << cron.out;
  EXPECT_NE(cron.out.find("write '0 0 3 * * *'"), std::string::npos) << cron.out;
}

// Every x-kubernetes-validations rule of the CRDs is inside the evaluator's subset (or is a
// transition rule, which does not apply to a new object): none is skipped unseen.
TEST_F(CnpgRenderTest, EveryCelRuleOfTheCrdsIsEvaluated) {
  cnpg::CrdSet crds = cnpg::load_crds({crds_dir()});
  int rules = 0, transitions = 0;
  for (const auto& [kind, list] : crds.rules) {
    for (const auto& rule : list) {
      ++rules;
      if (cnpg::cel::is_transition_rule(rule.rule)) {
        ++transitions;
        continue;
      }
      try {
        cnpg::cel::evaluate(rule.rule, cnpg::Json::object());
      } catch (const cnpg::cel::Unsupported& e) {
        ADD_FAILURE() << kind << ": " << rule.rule << ": " << e.what();
      } catch (const cnpg::cel::EvalError&) {
        // no such key on an empty object: evaluated, not unsupported
      }
    }
  }
  EXPECT_GE(rules, 15);
  EXPECT_GE(transitions, 5);
}

// What lint refuses, render refuses too (it runs the same rules on what it would write), with
// the file and line when the cnpg.yaml itself is wrong.
TEST_F(CnpgRenderTest, RenderRefusesWhatLintRefuses) {
  struct Case {
    std::string yaml, error;
  };
  const std::vector<Case> cases = {
      {"name: app-db\nstorage: {size: 10Gi}\nparameters: {synchronous_standby_names: \"ANY 1 (*)\"}\n",
       "synchronous_standby_names is fixed by CloudNativePG"},
      {"name: app-db\nstorage: {size: 10Gi}\nparameters: {archive_command: /bin/true}\n", "archive_command is fixed"},
      {"name: app-db\ninstances: 3\nstorage: {size: 10Gi}\nparameters: {wal_level: minimal, max_wal_senders: \"0\"}\n",
       "wal_level minimal is refused"},
      {"name: app-db\nstorage: {size: 250GB}\n", "bad.yaml:2: storage size '250GB' is not a Kubernetes quantity"},
      {"name: production-application-database-cluster-eu-west-001\nstorage: {size: 1Gi}\n", "CloudNativePG allows 50"},
      {"name: 1app\nstorage: {size: 1Gi}\n", "must be a DNS-1035 label"},
      {"name: app-db\nimageName: ghcr.io/cloudnative-pg/postgresql:latest\nstorage: {size: 1Gi}\n", "the tag 'latest' is refused"},
      {"name: app-db\nimageName: ghcr.io/cloudnative-pg/postgresql:12\nstorage: {size: 1Gi}\n", "PostgreSQL 12 is not supported"},
      {"name: app-db\nstorage: {size: 1Gi}\npoolers: {rw: {parameters: {listen_port: \"6432\"}}}\n", "listen_port"},
      {"name: app-db\ninstances: 2\nstorage: {size: 1Gi}\nsynchronous: {method: any, number: 2}\n",
       "bad.yaml:4: synchronous number 2 must be 1 to instances - 1 (1)"},
      {"name: app-db\nstorage: {size: 1Gi}\npgaudit: {foo: \"1\"}\n", "pgaudit: unknown setting 'foo'"},
      {"name: app-db\nstorage: {size: 1Gi}\npgaudit: {log: \"ddl, writes\"}\n", "unknown class 'writes'"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.yaml);
    std::string file = write_temp_file("bad.yaml", c.yaml);
    CliRun r = run_pgshift({"cnpg", "render", "-f", file});
    EXPECT_EQ(r.exit_code, 2) << r.all();
    EXPECT_NE(r.err.find(c.error), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
}

// The production plan of the issue: 3 instances, 2 synchronous replicas, Guaranteed QoS, an RPO
// of 5 minutes, the barman-cloud plugin by default, passwords only through Secrets (no password
// variable set), a processor role with per-table writes, default privileges on sequences too.
TEST_F(CnpgRenderTest, TheProductionPlanCanBeExpressed) {
  std::string dir = fs::path(write_temp_file("plan.yaml", "")).parent_path().string();
  write_temp_file("plan-roles.yaml", R"yaml(roles:
  - name: processor
    login: true
    password: ${PROCESSOR_PASSWORD_NOT_SET}
    passwordSecret: {name: processor-password}
    access:
      read: [public]
      write: ["public.jobs", "public.job_*"]
      defaultPrivilegesFor: [app]
  - name: ops_ro
    login: true
    passwordSecret: {name: ops-ro-password}
    access:
      read: [public]
      defaultPrivilegesFor: [app]
      settings: {default_transaction_read_only: "on"}
)yaml");
  std::string file = write_temp_file("plan.yaml", R"yaml(name: app-db
namespace: db
instances: 3
imageName: ghcr.io/cloudnative-pg/postgresql:16
storage: {size: 250Gi}
resources: {cpu: "2", memory: 8Gi}
synchronous: {method: any, number: 2, dataDurability: required}
pgaudit: {log: "ddl, role", log_relation: "on"}
backup:
  destinationPath: s3://bucket/app
  credentialsSecret: creds
  retention: 30d
  schedule: "0 0 3 * * *"
  rpo: 5m
roles: plan-roles.yaml
poolers: {rw: {instances: 2}, ro: {instances: 2}}
)yaml");
  ASSERT_EQ(dir, fs::path(file).parent_path().string());
  CliRun json = run_pgshift({"cnpg", "render", "-f", file, "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.all();
  nlohmann::json out = nlohmann::json::parse(json.out);
  const auto& cluster = out["documents"][0];
  ASSERT_EQ(cluster["kind"], "Cluster");
  const auto& spec = cluster["spec"];
  EXPECT_EQ(spec["postgresql"]["synchronous"], nlohmann::json::parse(R"({"method":"any","number":2,"dataDurability":"required"})"));
  EXPECT_EQ(spec["postgresql"]["parameters"]["archive_timeout"], "150s");
  EXPECT_EQ(spec["resources"]["limits"]["cpu"], "2");
  EXPECT_EQ(spec["resources"]["limits"]["memory"], "8Gi");
  EXPECT_EQ(spec["resources"]["requests"]["cpu"], "2");
  EXPECT_FALSE(spec.contains("backup")) << "in-tree only on request";
  EXPECT_EQ(spec["plugins"][0]["name"], "barman-cloud.cloudnative-pg.io");
  std::string sql = spec["bootstrap"]["initdb"]["postInitApplicationSQL"].dump();
  EXPECT_NE(sql.find("GRANT SELECT ON SEQUENCES TO \\\"ops_ro\\\""), std::string::npos) << sql;
  EXPECT_NE(sql.find("GRANT SELECT ON SEQUENCES TO \\\"processor\\\""), std::string::npos) << sql;
  std::string warnings = out["warnings"].dump();
  EXPECT_EQ(warnings.find("in-tree"), std::string::npos) << warnings;
  // Its per-table writes are granted by `roles apply` once the tables exist; render says so.
  EXPECT_NE(warnings.find("role processor: write 'public.jobs' matches no table"), std::string::npos) << warnings;

  std::vector<std::string> files = render(file, "plan");
  expect_valid_everywhere(files);

  // in-tree only when asked, and then with the warning.
  std::string text = util::read_text_file(file, "t");
  text.replace(text.find("backup:\n"), 8, "backup:\n  method: in-tree\n");
  std::string in_tree = write_temp_file("plan-in-tree.yaml", text);
  CliRun r = run_pgshift({"cnpg", "render", "-f", in_tree, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_NE(r.err.find("removed in CloudNativePG 1.31"), std::string::npos) << r.err;
}

TEST_F(CnpgRenderTest, RenderRefusesAFiveFieldScheduleWithTheCorrectedValue) {
  std::ifstream in(fixture("production.yaml"));
  std::stringstream s;
  s << in.rdbuf();
  std::string text = s.str();
  text.replace(text.find("\"0 0 3 * * *\""), 13, "\"0 3 * * *\"");
  std::string file = write_temp_file("five.yaml", text);
  fs::copy_file(fixture("roles.yaml"), fs::path(file).parent_path() / "roles.yaml", fs::copy_options::overwrite_existing);
  CliRun r = run_pgshift({"cnpg", "render", "-f", file});
  EXPECT_EQ(r.exit_code, 2) << r.all();
  EXPECT_NE(r.err.find("five.yaml:16: backup schedule: '0 3 * * *' has 5 fields"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("every hour at minute 3; write '0 0 3 * * *'"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());

  std::string typo = write_temp_file("typo.yaml", "name: x\nstorage: {size: 1Gi}\ninstance: 3\n");
  r = run_pgshift({"cnpg", "render", "-f", typo});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("typo.yaml:3: unknown key 'instance'"), std::string::npos) << r.err;
}

// CloudNativePG's initdb bootstrap, replayed on a real server: initdb (start_cluster), then as
// the superuser CREATE ROLE <owner> LOGIN and CREATE DATABASE <db> OWNER <owner>, then every
// postInitApplicationSQL statement on its own in <db> with search_path "$user", public
// (pkg/management/postgres/initdb.go, ConfigureNewInstance). Each statement must succeed.
void replay_bootstrap(LocalCluster& cluster, const std::string& database, const std::string& owner,
                      const std::vector<std::string>& sql) {
  pg::Connection admin = connect(cluster);
  run_sql(admin, fmt::format("CREATE ROLE {} LOGIN", pg::quote_ident(owner)));
  run_sql(admin, fmt::format("CREATE DATABASE {} OWNER {}", pg::quote_ident(database), pg::quote_ident(owner)));
  pg::Connection app = connect(cluster, database);
  run_sql(app, "SET search_path TO \"$user\", public");
  for (const auto& s : sql) {
    try {
      app.exec(s);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "postInitApplicationSQL statement fails after CloudNativePG's bootstrap: " << s << "\n" << e.what();
    }
  }
}

// After the replay: `roles check` passes and `roles plan` has nothing to add (one generator).
void expect_checked_and_planned(LocalCluster& cluster, const std::string& roles_file) {
  CliRun check = run_pgshift({"roles", "check", "-f", roles_file, "--db", cluster.url("app"), "--no-probe"});
  EXPECT_EQ(check.exit_code, 0) << check.all();
  CliRun plan = run_pgshift({"roles", "plan", "-f", roles_file, "--db", cluster.url("app"), "--json"});
  ASSERT_EQ(plan.exit_code, 0) << plan.all();
  EXPECT_EQ(nlohmann::json::parse(plan.out).at("statements").size(), 0u) << "one generator: " << plan.out;
}

TEST_F(CnpgRenderTest, ThePostInitSqlRunsAfterCloudNativePGsOwnBootstrapWhenTheOwnerIsDeclared) {
  std::string dir = fs::path(write_temp_file("owner.yaml", "")).parent_path().string();
  fs::copy_file(fixture("roles_owner.yaml"), dir + "/roles_owner.yaml", fs::copy_options::overwrite_existing);
  std::string file = write_temp_file("owner.yaml",
                                     "name: app-db\nnamespace: db\nimageName: ghcr.io/cloudnative-pg/postgresql:15\n"
                                     "storage: {size: 10Gi}\nroles: roles_owner.yaml\n");
  std::vector<std::string> files = render(file, "owner");
  expect_valid_everywhere(files);
  cnpg::Json doc = load(files.at(0));
  std::vector<std::string> sql = doc["spec"]["bootstrap"]["initdb"]["postInitApplicationSQL"].get<std::vector<std::string>>();
  for (const auto& s : sql) EXPECT_FALSE(s.starts_with("CREATE ROLE \"app\"")) << "CloudNativePG has created app already";

  auto cluster = start_cluster("cnpg-bootstrap");
  replay_bootstrap(*cluster, "app", "app", sql);
  expect_checked_and_planned(*cluster, fixture("roles_owner.yaml"));
}

TEST_F(CnpgRenderTest, SourceDerivationsAndThePostInitSqlLeavesCheckedRoles) {
  auto cluster = start_cluster("cnpg-source");
  cluster->create_database("shop");
  pg::Connection src = connect(*cluster, "shop");
  run_sql(src, "CREATE EXTENSION pg_trgm; CREATE EXTENSION hstore; CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g");
  std::string file = write_temp_file("from-source.yaml",
                                     "name: shop-db\nnamespace: db\ninstances: 2\nroles: " + fixture("roles.yaml") + "\n");
  std::vector<std::string> files = render(file, "source", {"--source", cluster->url("shop")});
  expect_valid_everywhere(files);
  cnpg::Json doc = load(files.at(0));
  const auto& spec = doc["spec"];
  EXPECT_EQ(spec["imageName"], "ghcr.io/cloudnative-pg/postgresql:15");
  EXPECT_EQ(spec["postgresql"]["parameters"]["wal_level"], "logical");
  EXPECT_EQ(spec["storage"]["size"], "1Gi");
  std::vector<std::string> sql = spec["bootstrap"]["initdb"]["postInitApplicationSQL"].get<std::vector<std::string>>();
  EXPECT_EQ(sql.at(0), "CREATE EXTENSION IF NOT EXISTS \"hstore\"");
  EXPECT_EQ(sql.at(1), "CREATE EXTENSION IF NOT EXISTS \"pg_trgm\"");

  replay_bootstrap(*cluster, "app", "app", sql);
  expect_checked_and_planned(*cluster, fixture("roles.yaml"));
}

}  // namespace
