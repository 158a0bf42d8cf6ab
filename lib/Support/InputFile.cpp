//===- InputFile.cpp ------------------------------------------------------===//
#include "elfopt/Support/InputFile.h"
#include "elfopt/Support/Diagnostics.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace elfopt {

std::string readFileContents(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    fatal(path + ": cannot open: " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

} // namespace elfopt
