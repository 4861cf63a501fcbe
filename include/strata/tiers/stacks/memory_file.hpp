#pragma once

// The serverless stack: MemoryTier (hot) over FileTier (warm, durable) on a
// local or mounted directory; no server and no backend library.
//   auto mgr = strata::make_memory_file_manager("/var/lib/app/state");

#include <filesystem>
#include <utility>  // move

#include "strata/tiers/file.hpp"
#include "strata/tiers/memory.hpp"
#include "strata/tiers/stacks/stack.hpp"

namespace strata {

using MemoryFileManager = StateManager<LruCache, AccessCountPromotion, MemoryTier, FileTier>;

inline MemoryFileManager make_memory_file_manager(std::filesystem::path dir, StackOptions stack = {},
                                                  FileTierOptions file = {}) {
    return make_stack(stack, MemoryTier{}, FileTier{std::move(dir), std::move(file)});
}

}  // namespace strata
