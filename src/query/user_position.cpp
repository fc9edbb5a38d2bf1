// on_user_text(); see query/user_position.hpp.
#include "query/user_position.hpp"

#include "sqlgate/tokens.hpp"

namespace pgshift::query {

pg::SqlError on_user_text(const pg::SqlError& e, std::string_view prefix, std::string_view sql,
                          const std::string& statement) {
  if (e.position() == 0) return e;
  size_t at = sql.find(statement);
  int in_statement = e.position() - sqlgate::char_position(prefix, prefix.size()) + 1;
  if (at == std::string_view::npos || in_statement < 1) return e.at_position(0);
  return e.at_position(sqlgate::char_position(sql, at) + in_statement - 1);
}

}  // namespace pgshift::query
