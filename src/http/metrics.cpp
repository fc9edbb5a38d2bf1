// Prometheus text rendering; see http/metrics.hpp.
#include "http/metrics.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cmath>

namespace pgshift::http {
namespace {

constexpr size_t kBucketCount = std::size(kDurationBuckets);

std::string escape(std::string_view v, bool quote) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '"' && quote) out += "\\\"";
    else out += c;
  }
  return out;
}

std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{}", static_cast<long long>(v));
  return fmt::format("{}", v);
}

// Inserts le="x" as the last label of an already rendered set.
std::string with_le(const std::string& rendered, const std::string& le) {
  if (rendered.empty()) return "{le=\"" + le + "\"}";
  return rendered.substr(0, rendered.size() - 1) + ",le=\"" + le + "\"}";
}

}  // namespace

std::string render_labels(const Labels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    out += fmt::format("{}{}=\"{}\"", i ? "," : "", labels[i].first, escape(labels[i].second, true));
  }
  return out + "}";
}

void Metrics::describe(const std::string& name, const std::string& type, const std::string& help) {
  std::lock_guard lock(mutex_);
  Family& f = families_[name];
  f.type = type;
  f.help = help;
}

void Metrics::add(const std::string& name, const Labels& labels, double value) {
  std::lock_guard lock(mutex_);
  families_[name].values[render_labels(labels)] += value;
}

void Metrics::set(const std::string& name, const Labels& labels, double value) {
  std::lock_guard lock(mutex_);
  families_[name].values[render_labels(labels)] = value;
}

void Metrics::observe(const std::string& name, const Labels& labels, double value) {
  std::lock_guard lock(mutex_);
  Histogram& h = families_[name].histograms[render_labels(labels)];
  if (h.buckets.empty()) h.buckets.assign(kBucketCount, 0);
  for (size_t i = 0; i < kBucketCount; ++i) {
    if (value <= kDurationBuckets[i]) {
      ++h.buckets[i];
      break;
    }
  }
  ++h.count;
  h.sum += value;
}

void Metrics::add_collector(Collector collector) {
  std::lock_guard lock(mutex_);
  collectors_.push_back(std::move(collector));
}

std::string Metrics::render() const {
  std::vector<Collector> collectors;
  std::map<std::string, Family> families;
  {
    std::lock_guard lock(mutex_);
    collectors = collectors_;
    families = families_;
  }
  for (const Collector& c : collectors) {
    try {
      for (Sample& s : c()) {
        Family& f = families[s.name];
        if (!s.type.empty()) f.type = s.type;
        if (!s.help.empty()) f.help = s.help;
        f.values[render_labels(s.labels)] = s.value;
      }
    } catch (const std::exception& e) {
      spdlog::warn("metrics: a collector failed: {}", e.what());
    }
  }
  std::string out;
  for (const auto& [name, f] : families) {
    if (f.values.empty() && f.histograms.empty()) continue;
    if (!f.help.empty()) out += fmt::format("# HELP {} {}\n", name, escape(f.help, false));
    out += fmt::format("# TYPE {} {}\n", name, f.type);
    for (const auto& [labels, v] : f.values) out += fmt::format("{}{} {}\n", name, labels, number(v));
    for (const auto& [labels, h] : f.histograms) {
      long long cumulative = 0;
      for (size_t i = 0; i < kBucketCount; ++i) {
        cumulative += h.buckets[i];
        out += fmt::format("{}_bucket{} {}\n", name, with_le(labels, number(kDurationBuckets[i])), cumulative);
      }
      out += fmt::format("{}_bucket{} {}\n", name, with_le(labels, "+Inf"), h.count);
      out += fmt::format("{}_sum{} {}\n", name, labels, number(h.sum));
      out += fmt::format("{}_count{} {}\n", name, labels, h.count);
    }
  }
  return out;
}

}  // namespace pgshift::http
