//===- OutputFile.h - atomic file output ------------------------*- C++ -*-===//
//
// Output is written to a temporary file next to the destination and renamed
// into place only when complete, so a failed run never leaves a partial or
// truncated output, and an existing file at the destination stays as it was.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <sys/types.h>

namespace elfopt {

/// Writes \p data to \p path atomically. \p mode sets the permission bits
/// (taken from the input file, so an executable stays executable); without it
/// the file gets 0644 less the umask. Throws FatalError naming the path.
void writeFileAtomically(const std::string &path, std::span<const uint8_t> data,
                         std::optional<mode_t> mode = std::nullopt);

/// True when \p a and \p b name the same existing file (same device, inode).
bool isSameFile(const std::string &a, const std::string &b);

} // namespace elfopt
