// table_to_xml and friends read the relation their argument names (issue #23, item 0): the gate
// resolves a constant name into a relation reference, refuses anything else, and reads names
// the way regclass does.
#include <gtest/gtest.h>

#include "sqlgate/relation_name.hpp"
#include "sqlgate/sqlgate.hpp"

using namespace pgshift;
using sqlgate::Reference;

namespace {

// The relation references of an accepted statement, as "schema.name" ("name" when unqualified).
std::vector<std::string> relations(std::string_view sql) {
  sqlgate::Verdict v = sqlgate::check(sql);
  EXPECT_TRUE(v.accepted) << sql << ": " << v.message();
  std::vector<std::string> out;
  for (const Reference& r : v.references) {
    if (r.kind == Reference::Kind::relation) out.push_back(r.schema.empty() ? r.name : r.schema + "." + r.name);
  }
  return out;
}

}  // namespace

TEST(RelationArgument, AConstantNameBecomesARelationOfTheStatement) {
  using V = std::vector<std::string>;
  EXPECT_EQ(relations("SELECT table_to_xml('fdw_prog'::regclass, true, false, '')"), V{"fdw_prog"});
  EXPECT_EQ(relations("SELECT table_to_xml_and_xmlschema('app.\"Fdw\"', true, false, '')"), V{"app.Fdw"});
  EXPECT_EQ(relations("SELECT pg_catalog.TABLE_TO_XML(CAST('App.T' AS pg_catalog.regclass), true, false, '')"),
            V{"app.t"});
  EXPECT_EQ(relations("SELECT table_to_xml(nulls => true, tbl => 'x'::regclass, tableforest => false, targetns => '')"),
            V{"x"});
  // In a sub-query, next to an ordinary FROM.
  EXPECT_EQ(relations("SELECT (SELECT table_to_xml('v', true, false, '')) FROM t"), (V{"v", "t"}));
  // table_to_xmlschema reads only the catalog.
  EXPECT_EQ(relations("SELECT table_to_xmlschema(c.oid, true, false, '') FROM pg_class c"), V{"pg_class"});
}

TEST(RelationArgument, AnythingButAConstantNameIsRefused) {
  for (const char* sql : {
           "SELECT table_to_xml(c.oid, true, false, '') FROM pg_class c WHERE relkind = 'f'",
           "SELECT table_to_xml(16385, true, false, '')",
           "SELECT table_to_xml('16385', true, false, '')",
           "SELECT table_to_xml('-', true, false, '')",
           "SELECT table_to_xml(to_regclass('fdw_prog'), true, false, '')",
           "SELECT table_to_xml('fdw_prog'::text::regclass, true, false, '')",
           "SELECT table_to_xml((SELECT 'fdw_prog'::regclass), true, false, '')",
           "SELECT table_to_xml('a.b.c.d', true, false, '')",
           "SELECT table_to_xml('\"unterminated', true, false, '')",
           "SELECT table_to_xml(nulls => true, tableforest => false, targetns => '', x => 'fdw_prog')",
           "SELECT table_to_xml_and_xmlschema($1, true, false, '')",
       }) {
    sqlgate::Verdict v = sqlgate::check(sql);
    EXPECT_FALSE(v.accepted) << sql;
    EXPECT_EQ(sqlgate::rule_name(v.rule), std::string("relation-argument")) << sql << ": " << v.message();
    EXPECT_NE(v.reason.find("constant name"), std::string::npos) << v.reason;
    EXPECT_GT(v.position, 0) << sql;
  }
}

TEST(RelationArgument, TheFileViewsStayRefusedThroughIt) {
  sqlgate::Verdict v = sqlgate::check("SELECT table_to_xml('pg_catalog.pg_hba_file_rules', true, false, '')");
  EXPECT_EQ(v.rule, sqlgate::Rule::denied_relation) << v.message();
  EXPECT_EQ(sqlgate::check("SELECT table_to_xml('pg_authid'::regclass, true, false, '')").rule,
            sqlgate::Rule::denied_relation);
}

TEST(RelationName, ReadsNamesAsRegclassDoes) {
  auto name = [](std::string_view text) {
    auto n = sqlgate::parse_relation_name(text);
    return n ? (n->schema.empty() ? n->name : n->schema + "|" + n->name) : std::string("<none>");
  };
  EXPECT_EQ(name("Orders"), "orders");
  EXPECT_EQ(name(" public . Orders "), "public|orders");
  EXPECT_EQ(name("\"My \"\"Table\"\"\""), "My \"Table\"");
  EXPECT_EQ(name("app.\"A.B\""), "app|A.B");
  EXPECT_EQ(name("db.app.t"), "app|t");
  EXPECT_EQ(name("123abc"), "123abc");
  EXPECT_EQ(name(std::string(70, 'a')), std::string(63, 'a'));
  for (const char* bad : {"", "  ", "123", "-", "a..b", "a.", ".a", "\"\"", "\"x", "a b", "a.b.c.d"}) {
    EXPECT_EQ(name(bad), "<none>") << bad;
  }
}
