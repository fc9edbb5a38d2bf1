// The catalog policy on its own: what each class of function gets, and the allow-list entries.
#include "sqlgate/function_policy.hpp"

#include <gtest/gtest.h>

#include <set>
#include <vector>

using namespace pgshift;
using sqlgate::FunctionFacts;
using sqlgate::Rule;

namespace {

FunctionFacts built_in(std::string name, char volatility, int nargs = 1) {
  FunctionFacts f;
  f.schema = "pg_catalog";
  f.name = name;
  f.signature = "pg_catalog." + name + "(...)";
  f.nargs = nargs;
  f.volatility = volatility;
  f.language = "internal";
  f.built_in = true;
  return f;
}

FunctionFacts from_extension(std::string name, std::string extension) {
  FunctionFacts f = built_in(std::move(name), 'v');
  f.schema = "public";
  f.signature = "public." + f.name + "(text)";
  f.language = "c";
  f.extension = std::move(extension);
  f.built_in = false;
  return f;
}

Rule rule(const FunctionFacts& f, const std::vector<std::string>& allowed = {}) {
  return sqlgate::judge_function(f, allowed).rule;
}

}  // namespace

TEST(FunctionPolicy, BuiltInImmutableAndStableAreAllowedExceptTheDeniedFamilies) {
  EXPECT_EQ(rule(built_in("lower", 'i')), Rule::none);
  EXPECT_EQ(rule(built_in("to_tsquery", 's', 2)), Rule::none);
  EXPECT_EQ(rule(built_in("table_to_xml", 's', 4)), Rule::none);
  EXPECT_EQ(rule(built_in("ts_rewrite", 'i', 3)), Rule::none);
  // STABLE, but they assign a transaction id or run SQL text.
  EXPECT_EQ(rule(built_in("txid_current", 's', 0)), Rule::denied_function);
  EXPECT_EQ(rule(built_in("pg_current_xact_id", 's', 0)), Rule::denied_function);
  EXPECT_EQ(rule(built_in("query_to_xml", 's', 4)), Rule::denied_function);
  EXPECT_EQ(rule(built_in("ts_rewrite", 'v', 2)), Rule::denied_function);
}

TEST(FunctionPolicy, BuiltInVolatileIsRefusedExceptTheSafeList) {
  for (const char* safe : {"random", "clock_timestamp", "gen_random_uuid", "currval", "pg_lock_status", "system",
                           "bernoulli", "pg_control_checkpoint", "pg_partition_tree", "pg_stat_get_xact_numscans",
                           "pg_database_size", "pg_is_in_recovery"}) {
    EXPECT_EQ(rule(built_in(safe, 'v')), Rule::none) << safe;
  }
  for (const char* refused : {"pg_export_snapshot", "setseed", "pg_stat_force_next_flush", "currtid2"}) {
    sqlgate::FunctionDecision d = sqlgate::judge_function(built_in(refused, 'v'), {});
    EXPECT_EQ(d.rule, Rule::volatile_function) << refused;
    EXPECT_NE(d.reason.find("--allow-function pg_catalog." + std::string(refused)), std::string::npos) << d.reason;
  }
  EXPECT_EQ(rule(built_in("pg_export_snapshot", 'v'), {"pg_catalog.pg_export_snapshot"}), Rule::none);
}

TEST(FunctionPolicy, ExtensionUserAndSecurityDefinerFunctionsNeedTheirName) {
  FunctionFacts prewarm = from_extension("pg_prewarm", "pg_prewarm");
  sqlgate::FunctionDecision d = sqlgate::judge_function(prewarm, {});
  EXPECT_EQ(d.rule, Rule::extension_function);
  EXPECT_NE(d.reason.find("extension pg_prewarm"), std::string::npos) << d.reason;
  EXPECT_NE(d.reason.find("--allow-function public.pg_prewarm"), std::string::npos) << d.reason;
  EXPECT_EQ(rule(prewarm, {"public.pg_prewarm"}), Rule::none);
  EXPECT_EQ(rule(prewarm, {"public.*"}), Rule::none);
  EXPECT_EQ(rule(prewarm, {"other.pg_prewarm", "public.pg_prewarm2", "PUBLIC.PG_PREWARM"}),
            Rule::extension_function);

  FunctionFacts mine = from_extension("run_text", "");
  mine.language = "plpgsql";
  d = sqlgate::judge_function(mine, {});
  EXPECT_EQ(d.rule, Rule::user_function);
  EXPECT_NE(d.reason.find("plpgsql"), std::string::npos) << d.reason;
  // Any non-built-in is user-defined, even an immutable one, even in pg_catalog.
  FunctionFacts planted = built_in("harmless", 'i');
  planted.built_in = false;
  EXPECT_EQ(rule(planted), Rule::user_function);

  FunctionFacts definer = built_in("lower", 'i');
  definer.security_definer = true;
  EXPECT_EQ(rule(definer), Rule::security_definer);
  EXPECT_EQ(rule(definer, {"pg_catalog.lower"}), Rule::none);
}

TEST(FunctionPolicy, DeniedFamiliesCannotBeAllowed) {
  FunctionFacts crosstab = from_extension("crosstab2", "tablefunc");
  EXPECT_EQ(rule(crosstab, {"public.crosstab2"}), Rule::denied_function);
  EXPECT_EQ(rule(built_in("pg_sleep", 'v'), {"pg_catalog.pg_sleep", "pg_catalog.*"}), Rule::denied_function);
  EXPECT_NE(sqlgate::allow_entry_problem("public.crosstab2", "allow-function", true, true).find("denied family"),
            std::string::npos);
}

TEST(FunctionPolicy, AllowEntriesAreSchemaDotName) {
  EXPECT_EQ(sqlgate::allow_entry_problem("public.pg_prewarm", "allow-function", true, true), "");
  EXPECT_EQ(sqlgate::allow_entry_problem("public.*", "allow-function", true, true), "");
  for (const char* bad : {"pg_prewarm", ".x", "x.", "a.b.c", ""}) {
    std::string problem = sqlgate::allow_entry_problem(bad, "allow-function", true, true);
    EXPECT_NE(problem.find("schema.name"), std::string::npos) << bad << ": " << problem;
  }
  EXPECT_NE(sqlgate::allow_entry_problem("public.*", "allow-foreign-table", false, false), "");
  EXPECT_EQ(sqlgate::allow_entry_problem("public.pg_sleep", "allow-foreign-table", false, false), "");
}

TEST(FunctionPolicy, PureDataTypeExtensionsAreAllowedWhenImmutableOrStable) {
  auto member = [](std::string name, std::string extension, char volatility) {
    FunctionFacts f = from_extension(std::move(name), std::move(extension));
    f.volatility = volatility;
    f.owner_superuser = true;
    return f;
  };
  EXPECT_EQ(rule(member("citext_eq", "citext", 'i')), Rule::none);
  EXPECT_EQ(rule(member("similarity", "pg_trgm", 'i')), Rule::none);
  EXPECT_EQ(rule(member("hstore_to_jsonb", "hstore", 'i')), Rule::none);
  EXPECT_EQ(rule(member("unaccent", "unaccent", 's')), Rule::none);
  EXPECT_EQ(rule(member("digest", "pgcrypto", 'i')), Rule::none);
  // VOLATILE members (pg_trgm's set_limit sets a GUC), pgcrypto beyond its digests, extensions
  // that run SQL or reach files and other servers: refused until named.
  EXPECT_EQ(rule(member("set_limit", "pg_trgm", 'v')), Rule::extension_function);
  EXPECT_EQ(rule(member("gen_random_bytes", "pgcrypto", 'v')), Rule::extension_function);
  EXPECT_EQ(rule(member("pgp_sym_decrypt", "pgcrypto", 'i')), Rule::extension_function);
  EXPECT_EQ(rule(member("normal_rand", "tablefunc", 'i')), Rule::extension_function);
  EXPECT_EQ(rule(member("file_fdw_handler", "file_fdw", 's')), Rule::extension_function);
  EXPECT_EQ(rule(member("postgres_fdw_get_connections", "postgres_fdw", 's')), Rule::extension_function);
  EXPECT_EQ(rule(member("dblink_get_connections", "dblink", 's')), Rule::denied_function);
  // A function the extension's owner added to it (owned by that owner, not a superuser), and a
  // SECURITY DEFINER member, are not the extension's own.
  FunctionFacts added = member("citext_evil", "citext", 'i');
  added.owner_superuser = false;
  EXPECT_EQ(rule(added), Rule::extension_function);
  FunctionFacts definer = member("citext_eq", "citext", 'i');
  definer.security_definer = true;
  EXPECT_EQ(rule(definer), Rule::security_definer);
  // The README table lists each once, with a reason.
  std::set<std::string_view> seen;
  for (const auto& e : sqlgate::default_allowed_extensions()) {
    EXPECT_TRUE(seen.insert(e.extension).second) << e.extension;
    EXPECT_FALSE(e.reason.empty()) << e.extension;
  }
  EXPECT_EQ(seen.size(), 14u);
}
