// A WAL position (pg_lsn): parsed from and printed as PostgreSQL's "XXXXXXXX/XXXXXXXX" text,
// totally ordered, and subtractable into a byte distance.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pgshift::pg {

class Lsn {
 public:
  constexpr Lsn() = default;
  constexpr explicit Lsn(uint64_t value) : value_(value) {}

  // Parses "16/B374D848"; nullopt on anything else.
  static std::optional<Lsn> parse(std::string_view text);
  // Same, throwing RuntimeError naming what when the text is not an LSN.
  static Lsn parse_or_throw(std::string_view text, std::string_view what);

  constexpr uint64_t value() const { return value_; }
  constexpr bool is_zero() const { return value_ == 0; }
  std::string to_string() const;

  constexpr auto operator<=>(const Lsn&) const = default;

  // Bytes from other to this; negative when this is behind other.
  constexpr int64_t bytes_after(Lsn other) const {
    return static_cast<int64_t>(value_ - other.value_);
  }

 private:
  uint64_t value_ = 0;
};

}  // namespace pgshift::pg
