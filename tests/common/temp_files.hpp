#pragma once
// How many of strata's temporary files (detail/file_io.hpp: a writer's file
// not yet renamed into place) a directory tree holds: what a killed or
// failed writer may leave behind.

#include <cstddef>  // size_t
#include <filesystem>

#include "strata/tiers/detail/file_io.hpp"

namespace strata::testing {

// None if the directory does not exist (yet).
inline std::size_t temp_files(const std::filesystem::path& dir) {
    std::size_t n = 0;
    if (!std::filesystem::exists(dir)) return n;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
        if (e.path().filename().string().starts_with(strata::detail::file::temp_prefix)) ++n;
    return n;
}

}  // namespace strata::testing
