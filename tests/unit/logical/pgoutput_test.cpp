// The pgoutput (protocol 1) decoder on hand-built byte buffers, laid out as PostgreSQL's
// "Logical Replication Message Formats" describes them; and the replication stream's framing.
#include <gtest/gtest.h>

#include <string>

#include "logical/pgoutput.hpp"
#include "pg/replication_connection.hpp"
#include "pg/wire.hpp"
#include "util/error.hpp"

using namespace pgshift;
using namespace pgshift::logical::pgoutput;

namespace {

// Builds a message field by field in network byte order.
struct Bytes {
  std::string data;
  Bytes& c(char v) { data.push_back(v); return *this; }
  Bytes& u8(uint8_t v) { pg::put_be(data, v, 1); return *this; }
  Bytes& i16(int16_t v) { pg::put_be(data, static_cast<uint16_t>(v), 2); return *this; }
  Bytes& i32(int32_t v) { pg::put_be(data, static_cast<uint32_t>(v), 4); return *this; }
  Bytes& i64(int64_t v) { pg::put_be(data, static_cast<uint64_t>(v), 8); return *this; }
  Bytes& str(const std::string& s) { data += s; data.push_back('\0'); return *this; }
  Bytes& text(const std::string& s) { c('t'); i32(static_cast<int32_t>(s.size())); data += s; return *this; }
};

Value text(const std::string& s) { return {Value::Kind::text, s}; }
const Value kNull{Value::Kind::null, ""};
const Value kToast{Value::Kind::unchanged_toast, ""};

TEST(PgoutputTest, BeginAndCommit) {
  auto b = std::get<Begin>(decode(Bytes().c('B').i64(0x16B374D848).i64(777).i32(4242).data));
  EXPECT_EQ(b.final_lsn.to_string(), "16/B374D848");
  EXPECT_EQ(b.commit_time, 777);
  EXPECT_EQ(b.xid, 4242u);
  auto c = std::get<Commit>(decode(Bytes().c('C').u8(0).i64(0x100).i64(0x130).i64(778).data));
  EXPECT_EQ(c.commit_lsn.value(), 0x100u);
  EXPECT_EQ(c.end_lsn.value(), 0x130u);
  EXPECT_EQ(c.commit_time, 778);
}

TEST(PgoutputTest, RelationWithKeyColumnsAndIdentity) {
  Bytes m;
  m.c('R').i32(16390).str("public").str("order items").c('f').i16(3);
  m.u8(1).str("id").i32(20).i32(-1);
  m.u8(0).str("note").i32(25).i32(-1);
  m.u8(0).str("price").i32(1700).i32((10 << 16 | 2) + 4);
  auto r = std::get<Relation>(decode(m.data));
  EXPECT_EQ(r.id, 16390u);
  EXPECT_EQ(r.schema, "public");
  EXPECT_EQ(r.name, "order items");
  EXPECT_EQ(r.replica_identity, 'f');
  ASSERT_EQ(r.columns.size(), 3u);
  EXPECT_TRUE(r.columns[0].key);
  EXPECT_EQ(r.columns[0].name, "id");
  EXPECT_EQ(r.columns[0].type_oid, 20u);
  EXPECT_FALSE(r.columns[1].key);
  EXPECT_EQ(r.columns[2].type_oid, 1700u);
  EXPECT_EQ(r.columns[2].type_modifier, (10 << 16 | 2) + 4);
}

TEST(PgoutputTest, InsertWithNullAndText) {
  Bytes m;
  m.c('I').i32(16390).c('N').i16(3).text("42").c('n').text("");
  auto i = std::get<Insert>(decode(m.data));
  EXPECT_EQ(i.relation, 16390u);
  EXPECT_EQ(i.row, (Tuple{text("42"), kNull, text("")})) << "an empty string is not NULL";
}

TEST(PgoutputTest, UpdateWithoutOldTupleKeepsUnchangedToast) {
  Bytes m;
  m.c('U').i32(7).c('N').i16(3).text("1").c('u').text("new");
  auto u = std::get<Update>(decode(m.data));
  EXPECT_EQ(u.old_kind, 0);
  EXPECT_TRUE(u.old_row.empty());
  EXPECT_EQ(u.row, (Tuple{text("1"), kToast, text("new")}));
}

TEST(PgoutputTest, UpdateWithKeyOrFullOldTuple) {
  for (char kind : {'K', 'O'}) {
    Bytes m;
    m.c('U').i32(7).c(kind).i16(2).text("1").c('n').c('N').i16(2).text("2").text("b");
    auto u = std::get<Update>(decode(m.data));
    EXPECT_EQ(u.old_kind, kind);
    EXPECT_EQ(u.old_row, (Tuple{text("1"), kNull}));
    EXPECT_EQ(u.row, (Tuple{text("2"), text("b")}));
  }
}

TEST(PgoutputTest, DeleteAndTruncate) {
  auto d = std::get<Delete>(decode(Bytes().c('D').i32(9).c('O').i16(1).text("x").data));
  EXPECT_EQ(d.relation, 9u);
  EXPECT_EQ(d.old_kind, 'O');
  EXPECT_EQ(d.old_row, (Tuple{text("x")}));
  auto t = std::get<Truncate>(decode(Bytes().c('T').i32(2).u8(Truncate::kRestartIdentity).i32(9).i32(11).data));
  EXPECT_EQ(t.options, Truncate::kRestartIdentity);
  EXPECT_EQ(t.relations, (std::vector<uint32_t>{9, 11}));
}

TEST(PgoutputTest, OriginTypeAndMessage) {
  auto o = std::get<Origin>(decode(Bytes().c('O').i64(0x55).str("pg_16400").data));
  EXPECT_EQ(o.lsn.value(), 0x55u);
  EXPECT_EQ(o.name, "pg_16400");
  auto y = std::get<Type>(decode(Bytes().c('Y').i32(16500).str("public").str("mood").data));
  EXPECT_EQ(y.id, 16500u);
  EXPECT_EQ(y.name, "mood");
  std::string content("a\0b", 3);
  Bytes m;
  m.c('M').u8(1).i64(0x99).str("pgshift").i32(3);
  m.data += content;
  auto msg = std::get<Message>(decode(m.data));
  EXPECT_TRUE(msg.transactional);
  EXPECT_EQ(msg.prefix, "pgshift");
  EXPECT_EQ(msg.content, content);
  EXPECT_EQ(kind_name(decode(m.data)), "message");
}

TEST(PgoutputTest, MalformedMessagesAreRefusedNotMisread) {
  auto refused = [](const std::string& bytes, const std::string& words) {
    try {
      decode(bytes);
      ADD_FAILURE() << "accepted: " << words;
    } catch (const RuntimeError& e) {
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    }
  };
  refused("", "1 byte(s) needed");
  refused(Bytes().c('B').i64(1).data, "needed");                                   // truncated
  refused(Bytes().c('I').i32(1).c('N').i16(1).c('t').i32(10).data + "abc", "10 byte(s) needed");
  refused(Bytes().c('I').i32(1).c('N').i16(1).c('x').data, "unknown column kind 'x'");
  refused(Bytes().c('I').i32(1).c('N').i16(1).c('b').i32(0).data, "binary");
  refused(Bytes().c('I').i32(1).c('K').i16(0).data, "unexpected tuple marker 'K'");
  refused(Bytes().c('S').i32(1).u8(1).data, "not part of protocol version 1");  // stream start (v2)
  refused(Bytes().c('R').i32(1).str("public").data, "without its terminator");
  refused(Bytes().c('C').u8(0).i64(1).i64(2).i64(3).c('!').data, "trailing bytes");
}

TEST(ReplicationStreamTest, XLogDataAndKeepalive) {
  Bytes w;
  w.c('w').i64(0x10).i64(0x20).i64(5).c('B');
  pg::StreamMessage data = pg::parse_stream_message(w.data);
  EXPECT_EQ(data.kind, pg::StreamMessage::Kind::xlog_data);
  EXPECT_EQ(data.wal_start.value(), 0x10u);
  EXPECT_EQ(data.wal_end.value(), 0x20u);
  EXPECT_EQ(data.payload, "B");
  pg::StreamMessage k = pg::parse_stream_message(Bytes().c('k').i64(0x30).i64(6).u8(1).data);
  EXPECT_EQ(k.kind, pg::StreamMessage::Kind::keepalive);
  EXPECT_EQ(k.wal_end.value(), 0x30u);
  EXPECT_TRUE(k.reply_requested);
  EXPECT_THROW(pg::parse_stream_message(Bytes().c('z').data), RuntimeError);
  EXPECT_THROW(pg::parse_stream_message(Bytes().c('k').i64(1).data), RuntimeError);
}

TEST(ReplicationStreamTest, StandbyStatusUpdateLayout) {
  std::string r = pg::standby_status_update(pg::Lsn(1), pg::Lsn(0x0102030405060708), pg::Lsn(3), 9, true);
  EXPECT_EQ(r, Bytes().c('r').i64(1).i64(0x0102030405060708).i64(3).i64(9).u8(1).data);
  EXPECT_GT(pg::pg_clock_micros(), int64_t{800'000'000} * 1'000'000) << "after 2025 in PostgreSQL's epoch";
}

}  // namespace
