#include <gtest/gtest.h>

#include "verify/column_hash.hpp"

using namespace pgshift;
using namespace pgshift::verify;

namespace {

catalog::Column col(std::string type, std::string kind = "base", std::string domain_base = "") {
  catalog::Column c;
  c.name = "c";
  c.type = std::move(type);
  c.type_kind = std::move(kind);
  c.domain_base = std::move(domain_base);
  return c;
}

HashMethod same(const std::string& type, const std::string& kind = "base", const std::string& base = "") {
  return hash_method(col(type, kind, base), col(type, kind, base));
}

}  // namespace

TEST(ColumnHash, NativeHashOnlyWhereEqualityMeansIdenticalText) {
  EXPECT_EQ(same("bigint"), HashMethod::int8);
  EXPECT_EQ(same("integer"), HashMethod::int4);
  EXPECT_EQ(same("smallint"), HashMethod::int2);
  EXPECT_EQ(same("text"), HashMethod::text);
  EXPECT_EQ(same("character varying(40)"), HashMethod::text);
  EXPECT_EQ(same("uuid"), HashMethod::uuid);
  EXPECT_EQ(same("boolean"), HashMethod::boolean);
  EXPECT_EQ(same("timestamp(3) with time zone"), HashMethod::timestamptz);
  EXPECT_EQ(same("timestamp without time zone"), HashMethod::timestamp);
  EXPECT_EQ(same("date"), HashMethod::date);
  EXPECT_EQ(same("time without time zone"), HashMethod::time);
  EXPECT_EQ(same("numeric(12,2)"), HashMethod::numeric);
  EXPECT_EQ(same("double precision"), HashMethod::float8);
  EXPECT_EQ(same("real"), HashMethod::float4);
  // Equality that hides a visible difference: the text form.
  EXPECT_EQ(same("interval"), HashMethod::text_form);
  EXPECT_EQ(same("jsonb"), HashMethod::text_form);
  EXPECT_EQ(same("json"), HashMethod::text_form);
  EXPECT_EQ(same("public.citext"), HashMethod::text_form);
  EXPECT_EQ(same("character(8)"), HashMethod::text_form);
  EXPECT_EQ(same("bytea"), HashMethod::text_form);
  EXPECT_EQ(same("money"), HashMethod::text_form);
  // Enums by label (never OID), arrays, composites, ranges.
  EXPECT_EQ(same("public.mood", "enum"), HashMethod::text_form);
  EXPECT_EQ(same("integer[]", "array"), HashMethod::text_form);
  EXPECT_EQ(same("public.address", "composite"), HashMethod::text_form);
  EXPECT_EQ(same("int4range", "range"), HashMethod::text_form);
}

TEST(ColumnHash, DomainsHashAsTheirBaseTypeAndDifferingTypesAsText) {
  EXPECT_EQ(same("public.positive", "domain", "integer"), HashMethod::int4);
  EXPECT_EQ(native_cast(col("public.positive", "domain", "integer")), "integer");
  EXPECT_EQ(same("public.price", "domain", "numeric(10,2)"), HashMethod::numeric);
  EXPECT_EQ(native_cast(col("public.price", "domain", "numeric(10,2)")), "numeric");
  EXPECT_EQ(native_cast(col("integer")), "");
  // Types that differ: hashed as the target's type (the source's value converted to it), or by
  // output text when the target's type is not built in.
  EXPECT_EQ(hash_method(col("integer"), col("bigint")), HashMethod::int8);
  EXPECT_EQ(hash_method(col("character varying(10)"), col("text")), HashMethod::text);
  EXPECT_EQ(hash_method(col("character(10)"), col("character varying(10)")), HashMethod::text);
  EXPECT_EQ(hash_method(col("json"), col("jsonb")), HashMethod::text_form);
  EXPECT_EQ(hash_method(col("text"), col("public.citext")), HashMethod::text_form);
  EXPECT_EQ(hash_method(col("text"), col("public.mood", "enum")), HashMethod::text_form);
  EXPECT_TRUE(builtin_type(col("character varying(10)[]", "array")));
  EXPECT_FALSE(builtin_type(col("public.citext")));
  EXPECT_FALSE(builtin_type(col("public.price", "domain", "numeric(10,2)")));
  EXPECT_EQ(output_text("\"c\""), "(CASE WHEN \"c\" IS NOT NULL THEN format('%s', \"c\") END)");
}

TEST(ColumnHash, TermsAreCollationFreeAndNullAware) {
  std::string text = hash_term(HashMethod::text, "\"name\"", 2, false);
  EXPECT_EQ(text, "hashtextextended(\"name\" COLLATE \"C\", 3)");
  std::string form = hash_term(HashMethod::text_form, "\"doc\"", 0, true);
  EXPECT_NE(form.find("(\"doc\")::text COLLATE \"C\""), std::string::npos) << form;
  EXPECT_EQ(form.rfind("coalesce(", 0), 0u) << form;
  std::string numeric = hash_term(HashMethod::numeric, "\"n\"", 0, false);
  EXPECT_NE(numeric.find("scale(\"n\")"), std::string::npos) << numeric;
  // NaN and the infinities (no scale, and the seed as their hash) are told apart by their text.
  EXPECT_NE(numeric.find("coalesce(scale(\"n\")::bigint, hashtextextended((\"n\")::text, 1))"), std::string::npos)
      << numeric;
  std::string flt = hash_term(HashMethod::float8, "\"f\"", 0, false);
  EXPECT_NE(flt.find("atan2(\"f\", -1) < 0"), std::string::npos) << flt;
  std::string at = hash_term(HashMethod::timestamptz, "\"at\"", 0, false);
  EXPECT_NE(at.find("interval_hash_extended(\"at\" - '2000-01-01 00:00:00+00'::timestamptz"), std::string::npos) << at;
  EXPECT_NE(at.find("ELSE hashtextextended((\"at\")::text"), std::string::npos) << at;
  EXPECT_NE(hash_term(HashMethod::boolean, "\"ok\"", 0, false).find("(\"ok\")::integer"), std::string::npos);
}

TEST(ColumnHash, EachColumnGetsItsOwnSeedAndNullConstant) {
  std::string a = hash_term(HashMethod::int8, "\"x\"", 0, true);
  std::string b = hash_term(HashMethod::int8, "\"x\"", 1, true);
  EXPECT_NE(a, b);
  EXPECT_NE(a.find("hashint8extended(\"x\", 1)"), std::string::npos) << a;
  EXPECT_NE(b.find("hashint8extended(\"x\", 2)"), std::string::npos) << b;
  // The NULL constants differ and are positive 62-bit numbers (valid bigint literals).
  auto constant = [](const std::string& t) { return t.substr(t.rfind(", ") + 2, t.size() - t.rfind(", ") - 3); };
  EXPECT_NE(constant(a), constant(b));
  EXPECT_LT(std::stoull(constant(a)), 1ULL << 62);
}

TEST(ColumnHash, StripTypmod) {
  EXPECT_EQ(strip_typmod("numeric(12,2)"), "numeric");
  EXPECT_EQ(strip_typmod("timestamp(3) with time zone"), "timestamp with time zone");
  EXPECT_EQ(strip_typmod("character varying(20)[]"), "character varying[]");
  EXPECT_EQ(strip_typmod("text"), "text");
}

TEST(ColumnHash, EnumsHashTheirLabelThroughBoundParameters) {
  pgshift::pg::Params params{pgshift::pg::Param("earlier")};
  std::string t = enum_term("\"m\"", "public.mood", {"sad", "it's ok"}, 0, true, params);
  ASSERT_EQ(params.size(), 5u);
  EXPECT_EQ(*params[3].value(), "it's ok");
  EXPECT_NE(t.find("CASE \"m\" WHEN $2::public.mood THEN hashtextextended($3::text COLLATE \"C\", 1)"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("WHEN $4::public.mood THEN hashtextextended($5::text"), std::string::npos) << t;
  // Anything else (a label added since) takes the text form, which gives the same hash.
  EXPECT_NE(t.find("ELSE hashtextextended((\"m\")::text COLLATE \"C\", 1) END"), std::string::npos) << t;
  EXPECT_EQ(t.find("it's"), std::string::npos) << "labels are parameters, never SQL text";
  pgshift::pg::Params many_params;
  std::vector<std::string> many(kMaxCaseLabels + 1, "x");
  EXPECT_EQ(enum_term("\"m\"", "public.mood", many, 0, false, many_params), hash_term(HashMethod::text_form, "\"m\"", 0, false));
  EXPECT_TRUE(many_params.empty());
}
