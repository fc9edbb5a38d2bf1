// Reading a dump's table of contents and choosing what a schema copy restores.
#include <gtest/gtest.h>

#include "schemacopy/toc.hpp"
#include "util/error.hpp"

using namespace pgshift;
using namespace pgshift::schemacopy;

namespace {

// As `pg_restore -l` prints it (PostgreSQL 15), trimmed.
constexpr std::string_view kList = R"(;
; Archive created at 2026-12-07 22:18:58 UTC
;
18; 2615 16596 SCHEMA - billing postgres
2; 3079 16394 EXTENSION - pgcrypto 
3497; 0 0 COMMENT - EXTENSION pgcrypto 
4; 3079 16500 EXTENSION - postgis 
942; 1247 16532 TYPE public plan postgres
240; 1259 16558 TABLE public invoices postgres
244; 1259 16587 VIEW public my_files postgres
3501; 0 0 COMMENT public VIEW my_files postgres
238; 1259 16539 TABLE public profiles postgres
3340; 2606 16550 FK CONSTRAINT public profiles profiles_id_fkey postgres
3489; 3256 16555 POLICY public profiles own profile postgres
3488; 0 16539 ROW SECURITY public profiles postgres
250; 1259 16600 TABLE public places postgres
3322; 3466 16529 EVENT TRIGGER - issue_graphql_placeholder postgres
)";

constexpr std::string_view kVerbose = R"(--
-- TOC entry 244 (class 1259 OID 16587)
-- Dependencies: 5
-- Name: my_files; Type: VIEW; Schema: public; Owner: postgres
--

CREATE VIEW public.my_files AS
 SELECT o.name FROM storage.objects o;


--
-- TOC entry 3501 (class 0 OID 0)
-- Dependencies: 244
-- Name: VIEW my_files; Type: COMMENT; Schema: public; Owner: postgres
--

COMMENT ON VIEW public.my_files IS 'mine';

--
-- TOC entry 250 (class 1259 OID 16600)
-- Dependencies: 4
-- Name: places; Type: TABLE; Schema: public; Owner: postgres
--

CREATE TABLE public.places (g public.geometry);

\unrestrict abc
)";

}  // namespace

TEST(Toc, ParsesEntriesWithMultiWordDescriptionsAndEmptyOwners) {
  std::vector<TocEntry> toc = parse_toc(std::string(kList));
  ASSERT_EQ(toc.size(), 14u);
  EXPECT_EQ(toc[1].desc, "EXTENSION");
  EXPECT_EQ(toc[1].tag, "pgcrypto");
  EXPECT_EQ(toc[1].id.classid, 3079u);
  EXPECT_EQ(toc[9].desc, "FK CONSTRAINT");
  EXPECT_EQ(toc[9].schema, "public");
  EXPECT_EQ(toc[9].tag, "profiles profiles_id_fkey");
  EXPECT_EQ(toc[10].tag, "profiles own profile");
  EXPECT_EQ(toc[11].desc, "ROW SECURITY");
  EXPECT_EQ(toc[11].id.objid, 16539u);
  EXPECT_EQ(toc[13].desc, "EVENT TRIGGER");
  EXPECT_EQ(toc[13].display(), "EVENT TRIGGER issue_graphql_placeholder");
  EXPECT_THROW(parse_toc("not a toc line"), Error);
}

TEST(Toc, LeavesOutEventTriggersMissingExtensionsBlockedObjectsAndWhatDependsOnThem) {
  std::vector<TocEntry> toc = parse_toc(std::string(kList));
  attach_script(toc, std::string(kVerbose));
  EXPECT_EQ(toc[6].statement, "CREATE VIEW public.my_files AS\n SELECT o.name FROM storage.objects o;");
  EXPECT_EQ(toc[7].depends, (std::vector<int>{244}));
  // A table in a schema the target lacks, as pgshift reads it from pg_depend.
  std::map<catalog::ObjectId, std::string> blocked = {
      {{1259, 16587}, "table storage.objects"},
      {{2606, 16550}, "table auth.users"},
      {{3256, 16555}, "function auth.uid()"},
  };
  std::vector<Decision> d = decide(toc, blocked, {"postgis"});
  std::map<std::string, std::pair<Verdict, std::string>> got;
  for (const auto& x : d) got[x.entry.display()] = {x.verdict, x.depends_on};
  EXPECT_EQ(got["SCHEMA billing"].first, Verdict::keep);
  EXPECT_EQ(got["EXTENSION pgcrypto"].first, Verdict::keep);
  EXPECT_EQ(got["COMMENT EXTENSION pgcrypto"].first, Verdict::extension_comment);
  EXPECT_EQ(got["EXTENSION postgis"], std::make_pair(Verdict::extension_unavailable, std::string("extension postgis")));
  EXPECT_EQ(got["VIEW public.my_files"], std::make_pair(Verdict::blocked, std::string("table storage.objects")));
  EXPECT_EQ(got["COMMENT public.VIEW my_files"], std::make_pair(Verdict::blocked, std::string("VIEW public.my_files")));
  EXPECT_EQ(got["FK CONSTRAINT public.profiles profiles_id_fkey"].first, Verdict::blocked);
  EXPECT_EQ(got["POLICY public.profiles own profile"].second, "function auth.uid()");
  EXPECT_EQ(got["TABLE public.profiles"].first, Verdict::keep);
  EXPECT_EQ(got["ROW SECURITY public.profiles"].first, Verdict::keep);
  // Through pg_dump's own dependency on the extension's entry.
  EXPECT_EQ(got["TABLE public.places"], std::make_pair(Verdict::blocked, std::string("EXTENSION postgis")));
  EXPECT_EQ(got["EVENT TRIGGER issue_graphql_placeholder"].first, Verdict::event_trigger);

  std::string kept = list_file(d, true);
  EXPECT_NE(kept.find("238; 1259 16539 TABLE public profiles"), std::string::npos);
  EXPECT_EQ(kept.find("EVENT TRIGGER"), std::string::npos);
  EXPECT_EQ(kept.find("postgis"), std::string::npos);
  EXPECT_EQ(kept.find("COMMENT - EXTENSION"), std::string::npos);
  EXPECT_EQ(kept.find("my_files"), std::string::npos);
}
