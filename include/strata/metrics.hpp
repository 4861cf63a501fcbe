#pragma once

// Every strata metric source, Instrumented<T>, and the Prometheus text writer
// (not the prometheus-cpp bridge, strata/prometheus.hpp, which needs that
// library):
//   strata::write_prometheus(out, mgr, checkpointer, backups, recovery);
#include "strata/metrics/backup_metrics.hpp"
#include "strata/metrics/checkpoint_metrics.hpp"
#include "strata/metrics/instrumented.hpp"
#include "strata/metrics/manager_metrics.hpp"
#include "strata/metrics/metric_family.hpp"
#include "strata/metrics/prometheus_text.hpp"
#include "strata/metrics/recovery_metrics.hpp"
