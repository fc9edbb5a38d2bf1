#include "verify/resolve.hpp"
#include "verify/report.hpp"

#include <fmt/format.h>

#include <set>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <tuple>

#include "util/duration.hpp"

namespace pgshift::verify {
namespace {

constexpr size_t kKeysPerQuery = 1000;
constexpr int64_t kKeyScanBatchRows = 400'000;  // rows of differing chunks read per key-scan leaf query
constexpr size_t kKeylessBucketBatch = 256;  // hash buckets read per query

template <class T>
std::vector<std::vector<T>> batches(const std::vector<T>& items, size_t size) {
  std::vector<std::vector<T>> out;
  for (size_t i = 0; i < items.size(); i += size) {
    out.emplace_back(items.begin() + i, items.begin() + std::min(items.size(), i + size));
  }
  return out;
}

void keep_first(std::vector<Difference>& diffs, size_t n) {
  if (diffs.size() > n) diffs.resize(n);
}

}  // namespace

Resolver::Resolver(Pair& pair, const TablePlan& plan, const LagFence& fence, const Limits& limits, Mode mode)
    : pair_(pair), plan_(plan), fence_(fence), limits_(limits), mode_(mode) {}

bool Resolver::pass_fence(Findings& f) {
  if (!fence_usable()) return false;
  if (!fence_.timed_out() && fence_.pass(pair_.source.conn())) {
    f.fenced = true;
    return true;
  }
  fence_failed_ = true;
  // Whether this chunk waited or an earlier one did, its table says so.
  f.notes.push_back(fmt::format("replication slot {} did not confirm the source's position within {}: "
                                "differences are reported without the lag check",
                                fence_.slot(), util::format_duration(fence_.timeout())));
  return false;
}

bool Resolver::recheck(const Range& r, Agg& s, Agg& t, Findings& f) {
  for (int i = 0; i < limits_.rechecks && pass_fence(f); ++i) {
    ++f.rechecks;
    auto [a, b] = pair_.both([&](Session& c, Side side) { return read_buckets(c, hash_query(sql(side), r, {}), 1).at(0); });
    if (a == b) {
      f.cleared_by_recheck = true;
      return true;
    }
    s = a;
    t = b;
  }
  return false;
}

Findings Resolver::range(const Range& chunk, const Agg& s, const Agg& t) {
  Findings f;
  Agg src = s, tgt = t;
  if (recheck(chunk, src, tgt, f)) return f;
  std::vector<Difference> candidates;
  bisect(chunk, src, tgt, candidates, f);
  confirm(candidates, f);
  return f;
}

void Resolver::bisect(const Range& r, const Agg& s, const Agg& t, std::vector<Difference>& candidates,
                      Findings& f) {
  if (candidates.size() >= limits_.explore_keys) {
    f.exact = false;
    return;
  }
  if (std::max(s.rows, t.rows) <= limits_.leaf_rows) {
    leaf(r, {}, {}, candidates);
    return;
  }
  Side side = s.rows >= t.rows ? Side::source : Side::target;
  int64_t rows = side == Side::source ? s.rows : t.rows;
  std::vector<Key> bounds =
      read_bounds(pair_.on(side), split_query(sql(side), r, rows, limits_.fanout), plan_.key_columns.size());
  if (bounds.empty()) {
    leaf(r, {}, {}, candidates);
    return;
  }
  size_t n = bounds.size() + 1;
  auto [a, b] = pair_.both([&](Session& c, Side sd) { return read_buckets(c, hash_query(sql(sd), r, bounds), n); });
  std::vector<Range> parts = split_range(r, bounds);
  for (size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) bisect(parts[i], a[i], b[i], candidates, f);
  }
}

void Resolver::leaf(const Range& r, const std::vector<Key>& bounds, const std::vector<int>& wanted,
                    std::vector<Difference>& candidates) {
  auto [a, b] = pair_.both([&](Session& c, Side side) {
    return read_rows(c, rows_query(sql(side), r, bounds, wanted), plan_.key_columns.size());
  });
  for (auto& d : diff_rows(a, b)) candidates.push_back(std::move(d));
}

std::pair<RowTerms, RowTerms> Resolver::read_keys(const std::vector<Key>& keys, bool fenced, Findings& f) {
  auto read = [&](Session& c, Side side) {
    RowTerms out;
    for (const auto& batch : batches(keys, kKeysPerQuery)) {
      RowTerms part = read_terms(c, keys_query(sql(side), batch), plan_.key_columns.size(), plan_.columns.size());
      out.merge(part);
    }
    return out;
  };
  if (!fenced) return pair_.both(read);
  // Source first, then the fence: the target then holds at least what the source showed.
  RowTerms s = read(pair_.source, Side::source);
  pass_fence(f);
  return {std::move(s), read(pair_.target, Side::target)};
}

void Resolver::confirm(const std::vector<Difference>& candidates, Findings& f) {
  std::vector<Key> keys;
  for (const auto& d : candidates) keys.push_back(d.key);
  std::vector<std::string> names;
  for (const auto& c : plan_.columns) names.push_back(c.name);
  std::vector<Difference> diffs;
  // A row present on both sides whose source content changed between two rounds was being
  // written during the check (a hot row, such as a counter): its target copy is always a little
  // behind. Such rows are "in flux", not differences. A missing or extra row stays a difference
  // however busy the source is: replication would have brought (or removed) it.
  RowTerms previous_source;
  std::set<Key, KeyLess> changed_on_source;
  int rounds = fence_usable() ? limits_.confirm_rounds : 1;
  for (int round = 0; round < rounds && !keys.empty(); ++round) {
    bool fenced = fence_usable();
    auto [s, t] = read_keys(keys, fenced, f);
    for (const auto& [key, terms] : s) {
      auto before = previous_source.find(key);
      if (before != previous_source.end() && before->second != terms) changed_on_source.insert(key);
    }
    diffs = diff_terms(s, t, names, mode_ == Mode::full);
    previous_source = std::move(s);
    keys.clear();
    for (const auto& d : diffs) keys.push_back(d.key);
    if (!fenced) break;
  }
  if (diffs.size() < candidates.size()) {
    spdlog::debug("{}: {} of {} candidate rows settled on re-read", plan_.table.display(),
                  candidates.size() - diffs.size(), candidates.size());
  }
  std::vector<std::string> in_flux;
  std::erase_if(diffs, [&](const Difference& d) {
    if (d.kind != DiffKind::different || !changed_on_source.count(d.key)) return false;
    in_flux.push_back(describe_key(plan_.key_columns, d.key));
    return true;
  });
  if (!in_flux.empty()) {
    size_t shown = std::min<size_t>(in_flux.size(), 5);
    std::string list;
    for (size_t i = 0; i < shown; ++i) list += (i ? ", " : "") + in_flux[i];
    f.notes.push_back(fmt::format("{} row(s) changed on the source during every re-check ({}{}): in flux, not "
                                  "counted as differences; cutover's final check compares them with writes stopped",
                                  in_flux.size(), list, in_flux.size() > shown ? ", ..." : ""));
  }
  for (const auto& d : diffs) f.total += rows_of(d);
  keep_first(diffs, limits_.max_keys);
  f.differences = std::move(diffs);
}

Findings Resolver::buckets(const std::vector<Key>& bounds, std::vector<int> mismatching, std::vector<Agg> src,
                           std::vector<Agg> tgt) {
  Findings f;
  const size_t n = bounds.size() + 1;
  for (int i = 0; i < limits_.rechecks && !mismatching.empty() && pass_fence(f); ++i) {
    ++f.rechecks;
    std::tie(src, tgt) =
        pair_.both([&](Session& c, Side side) { return read_buckets(c, hash_query(sql(side), {}, bounds), n); });
    std::erase_if(mismatching, [&](int k) { return src[k] == tgt[k]; });
    if (mismatching.empty()) f.cleared_by_recheck = true;
  }
  if (mismatching.empty()) return f;
  // Each leaf read scans the table once, so differing chunks are read together, up to
  // kKeyScanBatchRows rows a read. As for key ranges, the search explores up to explore_keys
  // candidates per differing chunk.
  std::vector<Difference> candidates;
  int64_t unexplored = 0;  // rows known to differ in chunks left unread: at least the count gap, or 1
  size_t explored = 0;
  std::vector<int> batch;
  int64_t batch_rows = 0;
  auto flush = [&] {
    if (batch.empty()) return;
    leaf({}, bounds, batch, candidates);
    explored += batch.size();
    batch.clear();
    batch_rows = 0;
  };
  for (int k : mismatching) {
    if (candidates.size() >= limits_.explore_keys * std::max<size_t>(explored, 1)) {
      f.exact = false;
      unexplored += std::max<int64_t>(1, std::abs(src[k].rows - tgt[k].rows));
      continue;
    }
    batch.push_back(k);
    batch_rows += std::max(src[k].rows, tgt[k].rows);
    if (batch_rows >= kKeyScanBatchRows) flush();
  }
  flush();
  confirm(candidates, f);
  f.total += unexplored;
  return f;
}

Findings Resolver::whole(const Agg& s, const Agg& t) {
  Findings f;
  Agg src = s, tgt = t;
  if (recheck({}, src, tgt, f)) return f;
  if (mode_ == Mode::counts) {
    f.total = std::abs(src.rows - tgt.rows);
    return f;
  }
  const size_t n = kKeylessBuckets;
  auto [a, b] = pair_.both([&](Session& c, Side side) { return read_buckets(c, keyless_buckets_query(sql(side)), n); });
  std::vector<int> differing;
  for (size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) differing.push_back(static_cast<int>(i));
  }
  std::vector<Difference> diffs;
  for (const auto& batch : batches(differing, kKeylessBucketBatch)) {
    if (diffs.size() >= limits_.explore_keys) {
      f.exact = false;
      break;
    }
    auto [rs, rt] = pair_.both([&](Session& c, Side side) { return read_keyless_rows(c, keyless_rows_query(sql(side), batch)); });
    for (auto& d : diff_keyless(rs, rt)) diffs.push_back(std::move(d));
  }
  // Read the differing rows again by their hash, source first, then the fence, then the
  // target: rows that were still on their way settle.
  for (int round = 0; round < limits_.confirm_rounds && !diffs.empty() && fence_usable(); ++round) {
    std::vector<std::string> hashes;
    for (const auto& d : diffs) hashes.push_back(d.row_hash);
    KeylessRows rs = read_keyless_rows(pair_.source, keyless_rows_query(plan_.source, hashes));
    pass_fence(f);
    KeylessRows rt = read_keyless_rows(pair_.target, keyless_rows_query(plan_.target, hashes));
    diffs = diff_keyless(rs, rt);
  }
  for (const auto& d : diffs) f.total += rows_of(d);
  keep_first(diffs, limits_.max_keys);
  f.differences = std::move(diffs);
  return f;
}

}  // namespace pgshift::verify
