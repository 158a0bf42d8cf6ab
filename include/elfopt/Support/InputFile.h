//===- InputFile.h - reading whole input files ------------------*- C++ -*-===//
#pragma once

#include <string>

namespace elfopt {

/// The whole contents of \p path; FatalError (exit 2) naming the file and
/// the system's reason when it cannot be read.
std::string readFileContents(const std::string &path);

} // namespace elfopt
