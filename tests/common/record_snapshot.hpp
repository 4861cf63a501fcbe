#pragma once
// Every record of a tier, read directly, and a field-by-field comparison of
// two such snapshots: what checkpoint tests check a rollback against.

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "strata/core/record.hpp"

namespace strata::testing {

using Snapshot = std::map<std::string, Record>;

inline Snapshot snapshot(auto& tier) {
    Snapshot out;
    for (auto& k : tier.keys("*")) out[k] = *tier.fetch(k);
    return out;
}

inline void expect_same(const Snapshot& a, const Snapshot& b) {
    ASSERT_EQ(a.size(), b.size());
    for (const auto& [k, r] : a) {
        auto it = b.find(k);
        ASSERT_NE(it, b.end()) << k;
        EXPECT_EQ(r.value, it->second.value) << k;
        EXPECT_EQ(r.version, it->second.version) << k;
        EXPECT_EQ(r.updated_at, it->second.updated_at) << k;
        EXPECT_EQ(r.expires_at, it->second.expires_at) << k;
        EXPECT_EQ(r.checksum, it->second.checksum) << k;
    }
}

}  // namespace strata::testing
