// Lists of tables as the replication room reports and probes them (see internal.hpp).
#include <fmt/format.h>

#include "replication/internal.hpp"

namespace pgshift::replication {

nlohmann::json detail::table_names_json(const std::vector<catalog::TableRef>& tables) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& t : tables) out.push_back(t.display());
  return out;
}

std::vector<catalog::TableRef> detail::tables_with_rows(pg::Connection& conn,
                                                        const std::vector<catalog::TableRef>& tables) {
  std::vector<catalog::TableRef> out;
  for (const auto& t : tables) {
    if (conn.exec(fmt::format("SELECT EXISTS (SELECT 1 FROM {}) AS has_rows", t.quoted())).row(0).boolean("has_rows")) {
      out.push_back(t);
    }
  }
  return out;
}

}  // namespace pgshift::replication
