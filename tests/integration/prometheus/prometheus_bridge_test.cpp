// The prometheus-cpp bridge scraped over HTTP: prometheus-cpp's Exposer on a
// free port of 127.0.0.1 serves a PrometheusCollectable, libcurl GETs
// /metrics, and the body is parsed and given to `promtool check metrics`.
#include <gtest/gtest.h>
#include <prometheus/exposer.h>

#include <stdexcept>
#include <string>
#include <vector>

#include <strata/prometheus.hpp>

#include "integration/prometheus/scrape.hpp"

namespace {

using strata::testing::http_get;
using strata::testing::parse_exposition;
using strata::testing::promtool_check_metrics;

// prometheus-cpp's exposer on a port the kernel picks.
struct Served {
    prometheus::Exposer exposer{"127.0.0.1:0", 1};

    std::string url() const {
        return "http://127.0.0.1:" + std::to_string(exposer.GetListeningPorts().at(0)) + "/metrics";
    }

    strata::testing::Exposition scrape() const {
        const auto response = http_get(url());
        EXPECT_EQ(response.status, 200);
        EXPECT_TRUE(response.content_type.starts_with("text/plain")) << response.content_type;
        const auto verdict = promtool_check_metrics(response.body);
        EXPECT_EQ(verdict.exit_code, 0) << "promtool check metrics (exit 127: promtool missing, see scripts/deps.sh):\n"
                                        << verdict.output << "\nover:\n"
                                        << response.body;
        EXPECT_EQ(verdict.output, "");
        return parse_exposition(response.body);
    }
};

// A source of each kind of figure, with a label value that needs escaping,
// counting how often it is read.
struct QueueFigures {
    double jobs_done = 0;
    double depth = 0;
    std::vector<double> waits{};  // seconds
    int collected = 0;
};

void collect_metrics(QueueFigures& q, strata::MetricFamilies& out) {
    ++q.collected;
    out.add("queue_jobs_total", "Jobs done.", strata::MetricType::counter, {{"queue", "a \"quoted\\ name\nhere"}},
            q.jobs_done);
    out.add("queue_depth", "Jobs waiting.", strata::MetricType::gauge, {{"queue", "main"}}, q.depth);
    std::vector<strata::HistogramBucket> buckets{{0.001, 0}, {0.1, 0}, {10, 0}};
    double sum = 0;
    for (double w : q.waits) {
        sum += w;
        for (auto& b : buckets) b.cumulative_count += w <= b.upper_bound ? 1 : 0;
    }
    out.add_histogram("queue_wait_seconds", "Time a job waited.", {{"queue", "main"}}, std::move(buckets),
                      q.waits.size(), sum);
}

// Adds one figure, then fails, as a source whose lock or backend does.
struct FailingFigures {
    int collected = 0;
};

void collect_metrics(FailingFigures& f, strata::MetricFamilies& out) {
    ++f.collected;
    out.add("failing_source_reached", "Added before the failure.", strata::MetricType::gauge, {}, 1);
    throw std::runtime_error("backend went away");
}

static_assert(strata::MetricSource<QueueFigures> && strata::MetricSource<FailingFigures>);

TEST(PrometheusBridge, ServesEachKindOfFigureOverHttp) {
    QueueFigures queue{.jobs_done = 42, .depth = 7, .waits = {0.0005, 0.05, 0.05, 3, 20}};
    Served served;
    auto metrics = strata::make_prometheus_collectable(queue);
    served.exposer.RegisterCollectable(metrics);

    const auto scraped = served.scrape();
    EXPECT_EQ(scraped.types.at("queue_jobs_total"), "counter");
    EXPECT_EQ(scraped.types.at("queue_depth"), "gauge");
    EXPECT_EQ(scraped.types.at("queue_wait_seconds"), "histogram");
    EXPECT_EQ(scraped.at(R"(queue_jobs_total{queue="a \"quoted\\ name\nhere",})"), 42);
    EXPECT_EQ(scraped.at(R"(queue_depth{queue="main",})"), 7);
    EXPECT_EQ(scraped.at(R"(queue_wait_seconds_bucket{le="0.001",queue="main",})"), 1);
    EXPECT_EQ(scraped.at(R"(queue_wait_seconds_bucket{le="0.1",queue="main",})"), 3);
    EXPECT_EQ(scraped.at(R"(queue_wait_seconds_bucket{le="10",queue="main",})"), 4);
    EXPECT_EQ(scraped.at(R"(queue_wait_seconds_bucket{le="+Inf",queue="main",})"), 5);
    EXPECT_EQ(scraped.at(R"(queue_wait_seconds_count{queue="main",})"), 5);
    EXPECT_DOUBLE_EQ(scraped.at(R"(queue_wait_seconds_sum{queue="main",})"), 0.0005 + 0.05 + 0.05 + 3 + 20);
    EXPECT_EQ(scraped.at("strata_metrics_collect_errors_total{}"), 0);
}

TEST(PrometheusBridge, ReadsItsSourcesOnlyWhenScraped) {
    QueueFigures queue;
    Served served;
    auto metrics = strata::make_prometheus_collectable(queue);
    served.exposer.RegisterCollectable(metrics);
    queue.jobs_done = 5;
    EXPECT_EQ(queue.collected, 0);

    EXPECT_EQ(served.scrape().at(R"(queue_jobs_total{queue="a \"quoted\\ name\nhere",})"), 5);
    EXPECT_EQ(queue.collected, 1);
    queue.jobs_done = 9;
    EXPECT_EQ(served.scrape().at(R"(queue_jobs_total{queue="a \"quoted\\ name\nhere",})"), 9);
    EXPECT_EQ(queue.collected, 2);
}

TEST(PrometheusBridge, ASourceThatThrowsIsCountedAndTheRestServed) {
    QueueFigures queue{.jobs_done = 3};
    FailingFigures failing;
    Served served;
    auto metrics = strata::make_prometheus_collectable(failing, queue);
    served.exposer.RegisterCollectable(metrics);

    for (int scrape = 1; scrape <= 2; ++scrape) {
        const auto scraped = served.scrape();
        EXPECT_EQ(scraped.at(R"(queue_jobs_total{queue="a \"quoted\\ name\nhere",})"), 3);
        EXPECT_EQ(scraped.at("failing_source_reached{}"), 1);
        EXPECT_EQ(scraped.types.at("strata_metrics_collect_errors_total"), "counter");
        EXPECT_EQ(scraped.at("strata_metrics_collect_errors_total{}"), scrape);
    }
    EXPECT_EQ(failing.collected, 2);
    EXPECT_EQ(queue.collected, 2);
}

}  // namespace
