// The fence pass for pgshift's own apply (fence.hpp): a random token per apply run, only its
// sha256 stored, in a table only the fence's owner can read.
#include <openssl/rand.h>

#include <fmt/format.h>

#include <array>

#include "fence/fence.hpp"
#include "util/error.hpp"

namespace pgshift::fence {
namespace {

constexpr std::string_view kCreatePassTableSql = R"sql(
CREATE TABLE IF NOT EXISTS pgshift.fence_pass (hash bytea PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now())
)sql";
constexpr std::string_view kPassTableExistsSql = "SELECT to_regclass('pgshift.fence_pass') IS NOT NULL";
constexpr std::string_view kFunctionPresentSql = "SELECT to_regprocedure('pgshift.fence_reject()') IS NOT NULL";
constexpr std::string_view kAddPassSql =
    "INSERT INTO pgshift.fence_pass (hash) VALUES (pg_catalog.sha256(pg_catalog.convert_to($1, 'UTF8')))";
constexpr std::string_view kRemovePassSql =
    "DELETE FROM pgshift.fence_pass WHERE hash = pg_catalog.sha256(pg_catalog.convert_to($1, 'UTF8'))";

std::string random_token() {
  std::array<unsigned char, 32> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    throw RuntimeError("fence pass: the random generator (OpenSSL RAND_bytes) failed");
  }
  std::string out;
  for (unsigned char b : bytes) out += fmt::format("{:02x}", b);
  return out;
}

}  // namespace

void ensure_pass_table(pg::Connection& conn) {
  if (conn.exec(kPassTableExistsSql).scalar() == "t") return;
  conn.exec(kCreatePassTableSql);
  conn.exec("REVOKE ALL ON pgshift.fence_pass FROM PUBLIC");
}

std::optional<std::string> open_pass(pg::Connection& conn) {
  if (conn.exec(kFunctionPresentSql).scalar() != "t") return std::nullopt;
  ensure_pass_table(conn);
  std::string token = random_token();
  conn.exec(kAddPassSql, {token});
  conn.exec("SELECT pg_catalog.set_config('pgshift.fence_pass', $1, false)", {token});
  return token;
}

void close_pass(pg::Connection& conn, const std::string& token) {
  if (conn.exec(kPassTableExistsSql).scalar() != "t") return;
  conn.exec(kRemovePassSql, {token});
}

void revoke_passes(pg::Connection& conn) {
  if (conn.exec(kPassTableExistsSql).scalar() != "t") return;
  conn.exec("DELETE FROM pgshift.fence_pass");
}

}  // namespace pgshift::fence
