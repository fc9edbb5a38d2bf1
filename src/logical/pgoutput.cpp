// pgoutput protocol 1 decoding (see pgoutput.hpp). Layouts follow PostgreSQL's "Logical
// Replication Message Formats"; all integers are in network byte order.
#include "logical/pgoutput.hpp"

#include <fmt/format.h>

#include "pg/wire.hpp"

namespace pgshift::logical::pgoutput {
namespace {

using pg::Lsn;
using pg::WireReader;

// TupleData: Int16 column count, then per column a kind byte and, for 't', Int32 length + bytes.
Tuple read_tuple(WireReader& in) {
  int16_t n = in.i16();
  if (n < 0) in.fail("negative column count");
  Tuple row;
  row.reserve(static_cast<size_t>(n));
  for (int16_t i = 0; i < n; ++i) {
    Value v;
    char kind = in.byte();
    switch (kind) {
      case 'n': v.kind = Value::Kind::null; break;
      case 'u': v.kind = Value::Kind::unchanged_toast; break;
      case 't': {
        int32_t len = in.i32();
        if (len < 0) in.fail("negative value length");
        v.kind = Value::Kind::text;
        v.text = std::string(in.bytes(static_cast<size_t>(len)));
        break;
      }
      case 'b': in.fail("binary column value (the binary option is not supported)");
      default: in.fail(fmt::format("unknown column kind '{}'", kind));
    }
    row.push_back(std::move(v));
  }
  return row;
}

// The 'N' (new tuple) marker, or the 'K'/'O' old-tuple marker named by `allowed`.
char expect_marker(WireReader& in, std::string_view allowed) {
  char marker = in.byte();
  if (allowed.find(marker) == std::string_view::npos) in.fail(fmt::format("unexpected tuple marker '{}'", marker));
  return marker;
}

Decoded read_message(WireReader& in) {
  char kind = in.byte();
  switch (kind) {
    case 'B': {
      Begin b;
      b.final_lsn = Lsn(in.u64());
      b.commit_time = in.i64();
      b.xid = in.u32();
      return b;
    }
    case 'C': {
      Commit c;
      c.flags = in.u8();
      c.commit_lsn = Lsn(in.u64());
      c.end_lsn = Lsn(in.u64());
      c.commit_time = in.i64();
      return c;
    }
    case 'O': {
      Origin o;
      o.lsn = Lsn(in.u64());
      o.name = in.cstring();
      return o;
    }
    case 'R': {
      Relation r;
      r.id = in.u32();
      r.schema = in.cstring();
      r.name = in.cstring();
      r.replica_identity = in.byte();
      int16_t n = in.i16();
      if (n < 0) in.fail("negative column count");
      for (int16_t i = 0; i < n; ++i) {
        Column c;
        c.key = (in.u8() & 1) != 0;
        c.name = in.cstring();
        c.type_oid = in.u32();
        c.type_modifier = in.i32();
        r.columns.push_back(std::move(c));
      }
      return r;
    }
    case 'Y': {
      Type t;
      t.id = in.u32();
      t.schema = in.cstring();
      t.name = in.cstring();
      return t;
    }
    case 'I': {
      Insert i;
      i.relation = in.u32();
      expect_marker(in, "N");
      i.row = read_tuple(in);
      return i;
    }
    case 'U': {
      Update u;
      u.relation = in.u32();
      char marker = expect_marker(in, "KON");
      if (marker != 'N') {
        u.old_kind = marker;
        u.old_row = read_tuple(in);
        expect_marker(in, "N");
      }
      u.row = read_tuple(in);
      return u;
    }
    case 'D': {
      Delete d;
      d.relation = in.u32();
      d.old_kind = expect_marker(in, "KO");
      d.old_row = read_tuple(in);
      return d;
    }
    case 'T': {
      Truncate t;
      int32_t n = in.i32();
      if (n < 0) in.fail("negative relation count");
      t.options = in.u8();
      for (int32_t i = 0; i < n; ++i) t.relations.push_back(in.u32());
      return t;
    }
    case 'M': {
      Message m;
      m.transactional = (in.u8() & 1) != 0;
      m.lsn = Lsn(in.u64());
      m.prefix = in.cstring();
      int32_t len = in.i32();
      if (len < 0) in.fail("negative content length");
      m.content = std::string(in.bytes(static_cast<size_t>(len)));
      return m;
    }
    default:
      in.fail(fmt::format("message kind '{}' is not part of protocol version 1", kind));
  }
}

}  // namespace

Decoded decode(std::string_view payload) {
  WireReader in(payload, "pgoutput message");
  Decoded out = read_message(in);
  if (in.remaining() != 0) in.fail("trailing bytes after the message");
  return out;
}

std::string_view kind_name(const Decoded& message) {
  static constexpr std::string_view names[] = {"begin",  "commit", "origin", "relation", "type",
                                               "insert", "update", "delete", "truncate", "message"};
  return names[message.index()];
}

}  // namespace pgshift::logical::pgoutput
