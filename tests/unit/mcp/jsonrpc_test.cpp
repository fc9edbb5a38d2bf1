#include "mcp/jsonrpc.hpp"

#include <gtest/gtest.h>

using namespace pgshift::mcp;
using Kind = jsonrpc::Message::Kind;

TEST(McpJsonRpc, ClassifiesRequestsNotificationsAndResponses) {
  auto r = jsonrpc::parse(R"({"jsonrpc":"2.0","id":7,"method":"ping"})");
  EXPECT_EQ(r.kind, Kind::request);
  EXPECT_EQ(r.id, 7);
  EXPECT_EQ(r.method, "ping");
  auto s = jsonrpc::parse(R"({"jsonrpc":"2.0","id":"a-1","method":"tools/list","params":{}})");
  EXPECT_EQ(s.kind, Kind::request);
  EXPECT_EQ(s.id, "a-1");
  EXPECT_EQ(jsonrpc::parse(R"({"jsonrpc":"2.0","method":"notifications/initialized"})").kind, Kind::notification);
  EXPECT_EQ(jsonrpc::parse(R"({"jsonrpc":"2.0","id":3,"result":{}})").kind, Kind::response);
  EXPECT_EQ(jsonrpc::parse(R"({"jsonrpc":"2.0","id":3,"error":{"code":1,"message":"x"}})").kind, Kind::response);
}

TEST(McpJsonRpc, RefusesWhatIsNotOneValidMessage) {
  auto garbage = jsonrpc::parse("{not json");
  EXPECT_EQ(garbage.kind, Kind::invalid);
  EXPECT_EQ(garbage.error_code, jsonrpc::kParseError);
  auto batch = jsonrpc::parse(R"([{"jsonrpc":"2.0","id":1,"method":"ping"}])");
  EXPECT_EQ(batch.kind, Kind::invalid);
  EXPECT_EQ(batch.error_code, jsonrpc::kInvalidRequest);
  EXPECT_NE(batch.error_message.find("batch"), std::string::npos);
  for (const char* bad : {R"({"id":1,"method":"ping"})", R"({"jsonrpc":"1.0","id":1,"method":"ping"})",
                          R"({"jsonrpc":"2.0","id":null,"method":"ping"})", R"({"jsonrpc":"2.0","id":1.5,"method":"ping"})",
                          R"({"jsonrpc":"2.0","id":1,"method":7})", R"({"jsonrpc":"2.0","id":1,"method":"x","params":[1]})",
                          R"({"jsonrpc":"2.0","id":1})", R"({"jsonrpc":"2.0","id":1,"result":{},"error":{}})", "42",
                          R"("ping")"}) {
    SCOPED_TRACE(bad);
    auto m = jsonrpc::parse(bad);
    EXPECT_EQ(m.kind, Kind::invalid);
    EXPECT_EQ(m.error_code, jsonrpc::kInvalidRequest);
  }
  // The id is kept when it could be read, so the error response names the request.
  EXPECT_EQ(jsonrpc::parse(R"({"jsonrpc":"2.0","id":9,"method":"x","params":"p"})").id, 9);
}

TEST(McpJsonRpc, ErrorsOmitAnUnknownIdAndDumpsAreOneLine) {
  auto e = jsonrpc::error(nullptr, jsonrpc::kParseError, "Parse error");
  EXPECT_FALSE(e.contains("id"));
  EXPECT_EQ(e["error"]["code"], -32700);
  auto with_id = jsonrpc::error(5, jsonrpc::kMethodNotFound, "nope", {{"k", 1}});
  EXPECT_EQ(with_id["id"], 5);
  EXPECT_EQ(with_id["error"]["data"]["k"], 1);
  std::string line = jsonrpc::dump(jsonrpc::result(1, {{"text", "a\nb\xff"}}));
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_NE(line.find("\\n"), std::string::npos);
}
