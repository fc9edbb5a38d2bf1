// The /metrics registry, rendered in the Prometheus text exposition format (version 0.0.4).
//
//   Metrics m;
//   m.describe("pgshift_http_requests_total", "counter", "Requests by route and status");
//   m.add("pgshift_http_requests_total", {{"route", "api_sql"}, {"status", "200"}});
//   m.observe("pgshift_http_request_duration_seconds", {{"route", "api_sql"}}, 0.012);
//   m.add_collector([] { return std::vector<Sample>{...}; });  // read at scrape time
//   std::string text = m.render();
//
// Families are rendered in name order, each with # HELP and # TYPE; label values are escaped
// (backslash, quote, newline). Histograms use kDurationBuckets (seconds). A collector that throws
// contributes nothing (logged). Thread-safe; collectors run outside the registry's lock.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pgshift::http {

using Labels = std::vector<std::pair<std::string, std::string>>;

// One value computed at scrape time (stats::Gauge has the same shape).
struct Sample {
  std::string name;
  std::string help;
  std::string type;  // "gauge" or "counter"
  Labels labels;
  double value = 0;
};

inline constexpr double kDurationBuckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

class Metrics {
 public:
  using Collector = std::function<std::vector<Sample>()>;

  // type: "counter", "gauge" or "histogram". Values of undescribed names are kept as untyped.
  void describe(const std::string& name, const std::string& type, const std::string& help);
  void add(const std::string& name, const Labels& labels, double value = 1);   // counter
  void set(const std::string& name, const Labels& labels, double value);       // gauge
  void observe(const std::string& name, const Labels& labels, double value);   // histogram
  void add_collector(Collector collector);

  std::string render() const;

 private:
  struct Histogram {
    std::vector<long long> buckets;  // per kDurationBuckets, not cumulative
    long long count = 0;
    double sum = 0;
  };
  struct Family {
    std::string type = "untyped";
    std::string help;
    std::map<std::string, double> values;          // rendered label set -> value
    std::map<std::string, Histogram> histograms;   // rendered label set (without le) -> data
  };
  mutable std::mutex mutex_;
  std::map<std::string, Family> families_;
  std::vector<Collector> collectors_;
};

// {a="x",b="y"} with escaped values; "" for no labels.
std::string render_labels(const Labels& labels);

}  // namespace pgshift::http
