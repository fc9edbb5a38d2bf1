// Network byte order (big-endian) reading and writing for the binary messages of the streaming
// replication protocol and of pgoutput. WireReader reads from a view it does not own and throws
// RuntimeError naming `what` (the message being read) when the buffer ends before a field does,
// so a truncated or malformed message never reads past its end.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "util/error.hpp"

namespace pgshift::pg {

class WireReader {
 public:
  WireReader(std::string_view data, std::string_view what) : data_(data), what_(what) {}

  uint8_t u8() { return static_cast<uint8_t>(take(1)[0]); }
  char byte() { return take(1)[0]; }
  uint16_t u16() { return static_cast<uint16_t>(be(2)); }
  uint32_t u32() { return static_cast<uint32_t>(be(4)); }
  uint64_t u64() { return be(8); }
  int16_t i16() { return static_cast<int16_t>(u16()); }
  int32_t i32() { return static_cast<int32_t>(u32()); }
  int64_t i64() { return static_cast<int64_t>(u64()); }
  // A NUL-terminated string (the terminator is consumed, not returned).
  std::string cstring() {
    size_t end = data_.find('\0', pos_);
    if (end == std::string_view::npos) fail("a string without its terminator");
    std::string out(data_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return out;
  }
  std::string_view bytes(size_t n) { return take(n); }
  std::string_view rest() { return take(remaining()); }
  size_t remaining() const { return data_.size() - pos_; }
  size_t position() const { return pos_; }
  [[noreturn]] void fail(std::string_view problem) const {
    throw RuntimeError(fmt::format("malformed {}: {} at byte {} of {}", what_, problem, pos_, data_.size()));
  }

 private:
  std::string_view take(size_t n) {
    if (n > remaining()) fail(fmt::format("{} byte(s) needed, {} left", n, remaining()));
    std::string_view out = data_.substr(pos_, n);
    pos_ += n;
    return out;
  }
  uint64_t be(size_t n) {
    std::string_view b = take(n);
    uint64_t v = 0;
    for (char c : b) v = (v << 8) | static_cast<uint8_t>(c);
    return v;
  }
  std::string_view data_;
  std::string_view what_;
  size_t pos_ = 0;
};

// Appends v in network byte order (n bytes).
inline void put_be(std::string& out, uint64_t v, int n) {
  for (int i = n - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

}  // namespace pgshift::pg
