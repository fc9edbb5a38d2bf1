// The bounded connection pool of the read-only window; see query/pool.hpp.
#include "query/pool.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <system_error>
#include <utility>

#include "query/session_hygiene.hpp"
#include "util/redact.hpp"

namespace pgshift::query {

Pool::Pool(pg::ConnInfo info, PoolOptions options) : info_(std::move(info)), options_(std::move(options)) {
  if (options_.max_connections < 1) throw UsageError("--max-connections must be at least 1");
  if (options_.per_identity <= 0 || options_.per_identity > options_.max_connections) {
    options_.per_identity = options_.max_connections;
  }
}

Pool::~Pool() {
  close();
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cleaning_wanted_.notify_all();
  for (std::thread& t : cleaners_) t.join();
}

Pool::Lease Pool::acquire(const std::string& identity) { return acquire(identity, options_.acquire_timeout); }

bool Pool::under_limit(const std::string& identity) const {
  auto it = per_identity_.find(identity);
  return it == per_identity_.end() || it->second < options_.per_identity;
}

void Pool::dispatch() {
  for (auto it = queue_.begin(); it != queue_.end();) {
    Waiter* w = *it;
    if (closed_) {
      w->granted.notify_one();
      ++it;
      continue;
    }
    if (!under_limit(w->identity)) {
      ++it;  // at its limit: later arrivals of other identities may go first
      continue;
    }
    auto idle = std::find_if(slots_.begin(), slots_.end(), [](const auto& s) { return !s->leased && s->conn; });
    Slot* slot = nullptr;
    if (idle != slots_.end()) {
      slot = idle->get();
    } else if (static_cast<int>(slots_.size()) < options_.max_connections) {
      slots_.push_back(std::make_unique<Slot>());  // opened by the waiter, outside the lock
      slot = slots_.back().get();
    } else {
      return;  // nothing free: everyone behind waits too
    }
    slot->leased = true;
    slot->identity = w->identity;
    ++per_identity_[w->identity];
    w->slot = slot;
    it = queue_.erase(it);
    w->granted.notify_one();
  }
}

void Pool::drop_lease_of(const std::string& identity) {
  if (--per_identity_[identity] <= 0) per_identity_.erase(identity);
}

void Pool::forget_slot(Slot* slot) {
  slots_.erase(std::find_if(slots_.begin(), slots_.end(), [&](const auto& s) { return s.get() == slot; }));
}

Pool::Lease Pool::acquire(const std::string& identity, util::Millis wait) {
  std::unique_lock lock(mutex_);
  if (closed_) throw RuntimeError("the server is shutting down");
  const auto deadline = std::chrono::steady_clock::now() + wait;
  Waiter me{identity, {}, nullptr};
  auto place = queue_.insert(queue_.end(), &me);
  dispatch();
  me.granted.wait_until(lock, deadline, [&] { return me.slot != nullptr || closed_; });
  if (!me.slot) {
    queue_.erase(place);
    dispatch();  // those behind us may go now
    if (closed_) throw RuntimeError("the server is shutting down");
    bool identity_limit = !under_limit(identity) && options_.per_identity < options_.max_connections;
    throw PoolBusy(identity_limit ? fmt::format("{} already runs {} statement(s), the limit per identity; retry when "
                                                "one finishes",
                                                identity, options_.per_identity)
                                  : fmt::format("all {} database connections are busy; retry shortly (or raise "
                                                "--max-connections)",
                                                options_.max_connections),
                   identity_limit);
  }
  Slot* slot = me.slot;
  if (!slot->conn) {
    lock.unlock();
    try {
      pg::Connection conn = pg::Connection::open(info_, options_.connect);
      lock.lock();
      slot->conn.emplace(std::move(conn));
    } catch (...) {
      if (!lock.owns_lock()) lock.lock();
      drop_lease_of(identity);
      forget_slot(slot);
      dispatch();
      throw;
    }
  }
  {
    std::lock_guard cl(slot->cancel_mutex);
    slot->cancel.reset(PQgetCancel(slot->conn->raw()));
  }
  return Lease(this, slot);
}

void Pool::release(Slot* slot) {
  {
    std::lock_guard cl(slot->cancel_mutex);
    slot->cancel.reset();  // a late cancel of the holder's statement must not hit the cleaning
  }
  std::unique_lock lock(mutex_);
  drop_lease_of(slot->identity);
  dispatch();  // the identity's next statement may take another connection now
  if (static_cast<int>(cleaners_.size()) < std::min(options_.max_connections, kMaxCleaners) &&
      cleaners_.size() <= to_clean_.size()) {
    try {
      cleaners_.emplace_back([this] { clean_released(); });
    } catch (const std::system_error& e) {
      if (cleaners_.empty()) {  // no thread to be had at all: clean on the holder's
        spdlog::debug("pool: cleaning in the releasing thread ({})", e.what());
        lock.unlock();
        finish_release(slot, clean_session(*slot->conn));
        return;
      }
    }
  }
  to_clean_.push_back(slot);
  lock.unlock();
  cleaning_wanted_.notify_one();
}

void Pool::clean_released() {
  std::unique_lock lock(mutex_);
  for (;;) {
    cleaning_wanted_.wait(lock, [&] { return !to_clean_.empty() || stopping_; });
    if (to_clean_.empty()) return;  // stopping, nothing left
    Slot* slot = to_clean_.front();
    to_clean_.pop_front();
    lock.unlock();
    finish_release(slot, clean_session(*slot->conn));
    lock.lock();
  }
}

void Pool::finish_release(Slot* slot, bool clean) {
  std::lock_guard lock(mutex_);
  slot->leased = false;
  if (!clean || closed_) {
    if (!clean) spdlog::info("pool: a connection failed session hygiene; replacing it");
    forget_slot(slot);
  }
  dispatch();
}

void Pool::cancel(Slot* slot) {
  std::lock_guard cl(slot->cancel_mutex);
  if (!slot->cancel) return;
  char err[256];
  if (!PQcancel(slot->cancel.get(), err, sizeof err)) spdlog::debug("pool: cancel failed: {}", util::redact(err));
}

Pool::Lease::~Lease() {
  if (pool_) pool_->release(slot_);
}

pg::Connection& Pool::Lease::conn() { return *slot_->conn; }

void Pool::Lease::cancel() {
  if (pool_) pool_->cancel(slot_);
}

int Pool::in_use() const {
  std::lock_guard lock(mutex_);
  return static_cast<int>(std::count_if(slots_.begin(), slots_.end(), [](const auto& s) { return s->leased; }));
}

int Pool::waiting() const {
  std::lock_guard lock(mutex_);
  return static_cast<int>(queue_.size());
}

int Pool::open() const {
  std::lock_guard lock(mutex_);
  return static_cast<int>(slots_.size());
}

void Pool::cancel_all() {
  // Under the pool's lock a leased slot cannot be released and freed (release() takes the slot's
  // cancel lock and the pool's lock one after the other, never nested, so this cannot deadlock).
  std::lock_guard lock(mutex_);
  for (auto& s : slots_) {
    if (s->leased) cancel(s.get());
  }
}

void Pool::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  std::erase_if(slots_, [](const auto& s) { return !s->leased; });
  dispatch();  // wakes every waiter: they throw
}

void CancelSignal::cancel() {
  std::lock_guard lock(mutex_);
  cancelled_ = true;
  if (lease_) lease_->cancel();
}

bool CancelSignal::cancelled() const {
  std::lock_guard lock(mutex_);
  return cancelled_;
}

void CancelSignal::attach(Pool::Lease* lease) {
  std::lock_guard lock(mutex_);
  lease_ = lease;
  if (cancelled_ && lease_) lease_->cancel();
}

void CancelSignal::detach() {
  std::lock_guard lock(mutex_);
  lease_ = nullptr;
}

}  // namespace pgshift::query
