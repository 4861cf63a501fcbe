#pragma once

#include <unistd.h>  // sysconf

#include <cstddef>  // size_t
#include <fstream>

namespace strata::detail::recovery {

// The process's resident set in bytes, from /proc/self/statm (0 where there
// is none: memory pressure is then never seen).
inline std::size_t resident_bytes() {
    std::ifstream statm("/proc/self/statm");
    std::size_t total_pages = 0, resident_pages = 0;
    if (!(statm >> total_pages >> resident_pages)) return 0;
    return resident_pages * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace strata::detail::recovery
