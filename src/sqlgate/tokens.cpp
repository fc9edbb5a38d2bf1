#include "sqlgate/tokens.hpp"

#include <pg_query.h>

#include <cstdint>

namespace pgshift::sqlgate {
namespace {

// pg_query_scan returns a protobuf ScanResult { int32 version = 1; repeated ScanToken tokens = 2; }
// with ScanToken { int32 start = 1; int32 end = 2; Token token = 4; KeywordKind kind = 5; }.
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
        if (ty == 0 && (f == 1 || f == 2)) {
          if (!sub.varint(v)) break;
          (f == 1 ? t.start : t.end) = static_cast<size_t>(v);
        } else if (!sub.skip(ty)) {
          break;
        }
      }
      if (t.end > t.start && t.end <= text_.size()) tokens_.push_back(t);
    }
  }
  pg_query_free_scan_result(r);
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
