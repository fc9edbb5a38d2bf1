#include "sqlgate/tokens.hpp"

#include <pg_query.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>

namespace pgshift::sqlgate {
namespace {

// pg_query_scan returns a protobuf ScanResult { int32 version = 1; repeated ScanToken tokens = 2; }
// with ScanToken { int32 start = 1; int32 end = 2; Token token = 4; KeywordKind keyword_kind = 5; }.
// The package ships no protobuf-c headers, and two varint fields are all we need, so this is
// a minimal wire-format reader: varints and length-delimited fields, everything else skipped.
class Wire {
 public:
  Wire(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}
  bool done() const { return p_ >= end_; }
  bool varint(uint64_t& out) {
    out = 0;
    for (int shift = 0; shift < 64 && p_ < end_; shift += 7) {
      uint8_t b = *p_++;
      out |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return true;
    }
    return false;
  }
  // Reads a field key; returns false at the end or on malformed input.
  bool key(uint32_t& field, uint32_t& type) {
    uint64_t k;
    if (done() || !varint(k)) return false;
    field = static_cast<uint32_t>(k >> 3);
    type = static_cast<uint32_t>(k & 7);
    return true;
  }
  // Returns a sub-reader for a length-delimited field.
  bool bytes(Wire& sub) {
    uint64_t n;
    if (!varint(n) || n > static_cast<uint64_t>(end_ - p_)) return false;
    sub = Wire(p_, static_cast<size_t>(n));
    p_ += n;
    return true;
  }
  bool skip(uint32_t type) {
    uint64_t v;
    switch (type) {
      case 0: return varint(v);
      case 1: return advance(8);
      case 5: return advance(4);
      case 2: {
        Wire ignored(nullptr, 0);
        return bytes(ignored);
      }
      default: return false;
    }
  }

 private:
  bool advance(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) return false;
    p_ += n;
    return true;
  }
  const uint8_t* p_;
  const uint8_t* end_;
};

// Token numbers from libpg_query's pg_query.proto (PostgreSQL 15 grammar).
constexpr int kUident = 259, kFconst = 260, kSconst = 261, kUsconst = 262, kBconst = 263, kXconst = 264,
              kIconst = 266, kParam = 267;

char fold(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

Tokens::Tokens(std::string_view text) : text_(text) {
  PgQueryScanResult r = pg_query_scan(text_.c_str());
  if (!r.error) {
    Wire top(reinterpret_cast<const uint8_t*>(r.pbuf.data), r.pbuf.len);
    uint32_t field, type;
    while (top.key(field, type)) {
      if (field != 2 || type != 2) {
        if (!top.skip(type)) break;
        continue;
      }
      Wire sub(nullptr, 0);
      if (!top.bytes(sub)) break;
      Token t;
      uint32_t f, ty;
      while (sub.key(f, ty)) {
        uint64_t v = 0;
        if (ty == 0 && (f == 1 || f == 2 || f == 4 || f == 5)) {
          if (!sub.varint(v)) break;
          if (f == 1) t.start = static_cast<size_t>(v);
          else if (f == 2) t.end = static_cast<size_t>(v);
          else if (f == 4) t.kind = static_cast<int>(v);
          else t.keyword = static_cast<int>(v);
        } else if (!sub.skip(ty)) {
          break;
        }
      }
      if (t.start < text_.size()) tokens_.push_back(t);
    }
  }
  pg_query_free_scan_result(r);
  // The scanner reports U&'...' and U&"..." with a wrong end; such a token runs to the next one.
  for (size_t i = 0; i < tokens_.size(); ++i) {
    Token& t = tokens_[i];
    if (t.kind == kUident || t.kind == kUsconst || t.end <= t.start || t.end > text_.size()) {
      size_t next = i + 1 < tokens_.size() ? tokens_[i + 1].start : text_.size();
      while (next > t.start + 1 && std::isspace(static_cast<unsigned char>(text_[next - 1]))) --next;
      t.end = std::max(next, t.start + 1);
    }
  }
}

bool Token::is_constant() const {
  return kind == kFconst || kind == kSconst || kind == kUsconst || kind == kBconst || kind == kXconst ||
         kind == kIconst;
}

bool Token::is_param() const { return kind == kParam; }

std::string normalize(std::string_view text, const Tokens& tokens) {
  int next = 1;
  for (const Token& t : tokens.all()) {
    if (!t.is_param()) continue;
    int n = std::atoi(std::string(text.substr(t.start + 1, t.end - t.start - 1)).c_str());
    if (n >= next) next = n + 1;
  }
  std::string out;
  size_t at = 0;
  for (const Token& t : tokens.all()) {
    if (!t.is_constant() || t.start < at) continue;
    out.append(text.substr(at, t.start - at));
    out += "$" + std::to_string(next++);
    at = t.end;
  }
  out.append(text.substr(std::min(at, text.size())));
  return out;
}

bool Tokens::is_comment(const Token& t) const {
  std::string_view s = std::string_view(text_).substr(t.start, t.end - t.start);
  return s.starts_with("--") || s.starts_with("/*");
}

bool Tokens::matches(const Token& t, std::string_view word) const {
  std::string_view s = std::string_view(text_).substr(t.start, t.end - t.start);
  if (s.size() == word.size() + 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  if (s.size() != word.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (fold(s[i]) != fold(word[i])) return false;
  }
  return true;
}

std::optional<size_t> Tokens::first_after(size_t from) const {
  for (const Token& t : tokens_) {
    if (t.start >= from && !is_comment(t)) return t.start;
  }
  return std::nullopt;
}

std::optional<size_t> Tokens::find_word(std::string_view word, size_t from) const {
  for (const Token& t : tokens_) {
    if (t.start >= from && matches(t, word)) return t.start;
  }
  return std::nullopt;
}

std::optional<size_t> Tokens::find_word_before(std::string_view word, size_t before) const {
  std::optional<size_t> found;
  for (const Token& t : tokens_) {
    if (t.start >= before) break;
    if (matches(t, word)) found = t.start;
  }
  return found;
}

int char_position(std::string_view text, size_t byte_offset) {
  int chars = 0;
  for (size_t i = 0; i < text.size() && i < byte_offset; ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++chars;
  }
  return chars + 1;
}

size_t byte_offset(std::string_view text, int char_position) {
  int chars = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      if (++chars == char_position) return i;
    }
  }
  return text.size();
}

}  // namespace pgshift::sqlgate
