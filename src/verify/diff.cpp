#include "verify/diff.hpp"

#include <algorithm>

namespace pgshift::verify {
namespace {

Difference keyed(DiffKind kind, const Key& key, int64_t source_copies, int64_t target_copies,
                 std::vector<std::string> columns = {}) {
  Difference d;
  d.kind = kind;
  d.key = key;
  d.columns = std::move(columns);
  d.source_copies = source_copies;
  d.target_copies = target_copies;
  return d;
}

// A key present on both sides a different number of times: the surplus is missing or extra.
template <class Copies>
bool copies_differ(const Key& k, const Copies& a, const Copies& b, std::vector<Difference>& out) {
  if (a.size() == b.size()) return false;
  auto sc = static_cast<int64_t>(a.size()), tc = static_cast<int64_t>(b.size());
  out.push_back(keyed(sc > tc ? DiffKind::missing_on_target : DiffKind::extra_on_target, k, sc, tc));
  return true;
}

template <class T>
std::vector<T> sorted(std::vector<T> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// Walks two maps ordered by the same key; `both` decides what a key present on both sides is.
template <class Map, class Both>
std::vector<Difference> merge(const Map& source, const Map& target, Both both) {
  std::vector<Difference> out;
  KeyLess less;
  auto s = source.begin();
  auto t = target.begin();
  while (s != source.end() || t != target.end()) {
    if (t == target.end() || (s != source.end() && less(s->first, t->first))) {
      out.push_back(keyed(DiffKind::missing_on_target, s->first, static_cast<int64_t>(s->second.size()), 0));
      ++s;
    } else if (s == source.end() || less(t->first, s->first)) {
      out.push_back(keyed(DiffKind::extra_on_target, t->first, 0, static_cast<int64_t>(t->second.size())));
      ++t;
    } else {
      both(s->first, s->second, t->second, out);
      ++s;
      ++t;
    }
  }
  return out;
}

}  // namespace

std::string to_string(DiffKind kind) {
  switch (kind) {
    case DiffKind::missing_on_target: return "missing_on_target";
    case DiffKind::extra_on_target: return "extra_on_target";
    case DiffKind::different: return "different";
  }
  return "different";
}

std::vector<Difference> diff_rows(const RowHashes& source, const RowHashes& target) {
  return merge(source, target,
               [](const Key& k, const std::vector<std::string>& a, const std::vector<std::string>& b, auto& out) {
                 if (copies_differ(k, a, b, out)) return;
                 if (sorted(a) != sorted(b)) {
                   auto n = static_cast<int64_t>(a.size());
                   out.push_back(keyed(DiffKind::different, k, n, n));
                 }
               });
}

std::vector<Difference> diff_terms(const RowTerms& source, const RowTerms& target,
                                   const std::vector<std::string>& column_names, bool compare_content) {
  return merge(source, target,
               [&](const Key& k, const std::vector<std::vector<std::string>>& a,
                   const std::vector<std::vector<std::string>>& b, auto& out) {
                 if (copies_differ(k, a, b, out) || !compare_content) return;
                 // Copies pair up in sorted order (one copy each in the usual case).
                 auto sa = sorted(a), sb = sorted(b);
                 std::vector<std::string> columns;
                 for (size_t i = 0; i < column_names.size(); ++i) {
                   bool differs = false;
                   for (size_t c = 0; c < sa.size(); ++c) {
                     differs = differs || (i < sa[c].size() && i < sb[c].size() && sa[c][i] != sb[c][i]);
                   }
                   if (differs) columns.push_back(column_names[i]);
                 }
                 auto n = static_cast<int64_t>(a.size());
                 if (!columns.empty()) out.push_back(keyed(DiffKind::different, k, n, n, std::move(columns)));
               });
}

std::vector<Difference> diff_keyless(const KeylessRows& source, const KeylessRows& target) {
  std::vector<Difference> out;
  auto add = [&](const std::string& h, const KeylessRow* s, const KeylessRow* t) {
    int64_t sc = s ? s->copies : 0, tc = t ? t->copies : 0;
    if (sc == tc) return;
    Difference d;
    d.kind = sc > tc ? DiffKind::missing_on_target : DiffKind::extra_on_target;
    d.row = s ? s->text : t->text;
    d.source_copies = sc;
    d.target_copies = tc;
    d.row_hash = h;
    out.push_back(std::move(d));
  };
  for (const auto& [h, row] : source) {
    auto it = target.find(h);
    add(h, &row, it == target.end() ? nullptr : &it->second);
  }
  for (const auto& [h, row] : target) {
    if (!source.count(h)) add(h, nullptr, &row);
  }
  std::sort(out.begin(), out.end(), [](const Difference& a, const Difference& b) { return a.row < b.row; });
  return out;
}

int64_t rows_of(const Difference& d) {
  if (d.kind == DiffKind::different) return 1;
  int64_t surplus = d.source_copies - d.target_copies;
  surplus = surplus < 0 ? -surplus : surplus;
  return surplus > 0 ? surplus : 1;
}

}  // namespace pgshift::verify
