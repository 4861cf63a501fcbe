#pragma once

// The core of strata: the manager, its concepts, the caches, the promotion
// policies, the dependency-free tiers, checkpoints, backups, recovery, the
// batcher and the metrics with their Prometheus text. Backend tiers are
// opt-in headers (strata/tiers/redis.hpp, postgres.hpp, s3.hpp), as are the
// bridges to nlohmann-json (strata/json.hpp) and prometheus-cpp
// (strata/prometheus.hpp), so including this never pulls in hiredis,
// libpqxx, libcurl, nlohmann-json or prometheus-cpp.

#include "strata/core/cron.hpp"
#include "strata/core/envelope.hpp"
#include "strata/core/error.hpp"
#include "strata/core/glob.hpp"
#include "strata/core/key.hpp"
#include "strata/core/record.hpp"
#include "strata/core/temperature.hpp"
#include "strata/core/tier.hpp"
#include "strata/core/tier_set.hpp"
#include "strata/core/version_clock.hpp"
#include "strata/core/where.hpp"

#include "strata/cache/cache_policy.hpp"
#include "strata/cache/lru_cache.hpp"
#include "strata/cache/no_cache.hpp"
#include "strata/cache/tiny_lfu_cache.hpp"
#include "strata/cache/ttl_cache.hpp"

#include "strata/promotion/access_count_promotion.hpp"
#include "strata/promotion/always_promote.hpp"
#include "strata/promotion/never_promote.hpp"
#include "strata/promotion/promotion_policy.hpp"

#include "strata/tiers/file.hpp"
#include "strata/tiers/memory.hpp"

#include "strata/backup/backup_manager.hpp"
#include "strata/backup/directory_store.hpp"
#include "strata/backup/encryption_key.hpp"
#include "strata/backup/key_ring.hpp"
#include "strata/backup/mirrored_store.hpp"
#include "strata/backup/scheduler.hpp"
#include "strata/backup/tier_store.hpp"

#include "strata/checkpoint/checkpointer.hpp"
#include "strata/checkpoint/directory_store.hpp"
#include "strata/checkpoint/retention.hpp"
#include "strata/checkpoint/tier_store.hpp"

#include "strata/recovery/recovery_orchestrator.hpp"

#include "strata/manager/health.hpp"
#include "strata/manager/options.hpp"
#include "strata/manager/batcher.hpp"
#include "strata/manager/state_manager.hpp"
#include "strata/metrics.hpp"
