// A transaction guard: begins in the constructor, rolls back in the destructor unless commit()
// was called. Nothing is left open on an exception path.
#pragma once

#include <string_view>

#include "pg/connection.hpp"

namespace pgshift::pg {

class Transaction {
 public:
  // begin_sql lets a caller choose "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY" etc.
  explicit Transaction(Connection& conn, std::string_view begin_sql = "BEGIN");
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  void commit();
  void rollback();
  bool active() const { return active_; }

 private:
  Connection& conn_;
  bool active_ = false;
};

}  // namespace pgshift::pg
