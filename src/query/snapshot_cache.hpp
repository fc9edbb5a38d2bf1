// Answers of catalog queries kept while they provably still hold: an answer computed in a
// transaction whose CatalogState (query/read_only_transaction.hpp) had snapshot S is served
// again only to a transaction with the same context and the same snapshot S, i.e. one that sees
// exactly the rows the answer was computed from. The query that computed it ran after S was
// taken, in the same transaction; were a catalog change committed in between, every later
// snapshot would differ from S, so the answer never outlives a change. An empty snapshot (a
// standby) is never cached.
//
// Per context only the latest snapshot's answers are kept (a new snapshot drops the older
// ones); at most kMaxKeys answers per context and kMaxContexts contexts (beyond, everything is
// dropped and recomputed). Thread-safe; values are shared and immutable.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "query/read_only_transaction.hpp"

namespace pgshift::query {

template <class Value>
class SnapshotCache {
 public:
  static constexpr size_t kMaxKeys = 1024;
  static constexpr size_t kMaxContexts = 64;

  // The answer stored for key under this state, or null.
  std::shared_ptr<const Value> find(const CatalogState& state, const std::string& key) {
    if (state.snapshot.empty()) return nullptr;
    std::lock_guard lock(mutex_);
    auto c = contexts_.find(state.context);
    if (c == contexts_.end() || c->second.snapshot != state.snapshot) return nullptr;
    auto it = c->second.answers.find(key);
    return it == c->second.answers.end() ? nullptr : it->second;
  }

  void store(const CatalogState& state, const std::string& key, std::shared_ptr<const Value> value) {
    if (state.snapshot.empty()) return;
    std::lock_guard lock(mutex_);
    if (!contexts_.count(state.context) && contexts_.size() >= kMaxContexts) contexts_.clear();
    Context& c = contexts_[state.context];
    if (c.snapshot != state.snapshot || c.answers.size() >= kMaxKeys) {
      c.answers.clear();
      c.snapshot = state.snapshot;
    }
    c.answers[key] = std::move(value);
  }

 private:
  struct Context {
    std::string snapshot;
    std::map<std::string, std::shared_ptr<const Value>> answers;
  };
  std::mutex mutex_;
  std::map<std::string, Context> contexts_;
};

}  // namespace pgshift::query
