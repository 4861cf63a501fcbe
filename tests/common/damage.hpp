#pragma once
// Damage done to a stored file the way a disk or a hostile hand would: one
// byte changed in place.

#include <cstdint>  // uintmax_t
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace strata::testing {

// XORs the byte at `at` with `mask`; throws when the file cannot be changed,
// so a test never passes on damage that was not done.
inline void flip_byte(const std::filesystem::path& file, std::uintmax_t at, unsigned char mask = 0x01) {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(at));
    char c = 0;
    f.get(c);
    f.seekp(static_cast<std::streamoff>(at));
    f.put(static_cast<char>(c ^ static_cast<char>(mask)));
    f.flush();
    if (!f.good()) throw std::runtime_error("could not damage byte " + std::to_string(at) + " of " + file.string());
}

}  // namespace strata::testing
