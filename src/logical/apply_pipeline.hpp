// Internal to logical/apply: one transaction's statements sent to the subscriber in libpq's
// pipeline mode, so a transaction of N changes costs a few round trips instead of N + 3.
//
// Contract: begin() enters pipeline mode and queues BEGIN; add() queues a statement under a tag
// (preparing each distinct text once per session); check() sends everything queued and reads
// every result (call it every kBatch statements or so). A statement that fails (its PREPARE
// included), or that must find a row and changed none, raises a PipelineFailure naming the first
// such statement's tag (the server has aborted the transaction, or nothing decided yet: either way
// the caller must abort()). Broken connections raise pg::SqlError.
// commit() checks everything first, then runs the final statement (the progress row) and COMMIT,
// and leaves pipeline mode. abort() leaves pipeline mode and rolls back, whatever state the
// connection is in (errors there are only logged). Only the Applier uses it.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "logical/apply.hpp"
#include "pg/connection.hpp"
#include "pg/error.hpp"

namespace pgshift::logical::detail {

// Which statement failed and how: `error` is set for a server error, empty when it found no row.
struct PipelineFailure {
  static constexpr size_t kNoTag = static_cast<size_t>(-1);  // BEGIN, the last statement, COMMIT
  size_t tag = kNoTag;
  std::optional<pg::SqlError> error;
};

class ApplyPipeline {
 public:
  static constexpr size_t kBatch = 500;

  explicit ApplyPipeline(pg::Connection& conn) : conn_(conn) {}
  ~ApplyPipeline();
  ApplyPipeline(const ApplyPipeline&) = delete;
  ApplyPipeline& operator=(const ApplyPipeline&) = delete;

  bool open() const { return open_; }
  size_t queued() const { return queued_.size(); }
  void begin();
  void add(const ApplyStatement& s, size_t tag, bool must_find_row);
  void check();
  void commit(const ApplyStatement& last);
  void abort();

 private:
  struct Queued {
    size_t tag = PipelineFailure::kNoTag;
    bool must_find_row = false;
  };
  void send(const ApplyStatement& s, size_t tag, bool must_find_row);
  void send_plain(const char* sql);
  [[noreturn]] void fail(std::string_view what);

  pg::Connection& conn_;
  bool open_ = false;
  std::vector<Queued> queued_;
  std::unordered_map<std::string, std::string> names_;  // statement text -> prepared name
};

}  // namespace pgshift::logical::detail
