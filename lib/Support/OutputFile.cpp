//===- OutputFile.cpp -----------------------------------------------------===//
#include "elfopt/Support/OutputFile.h"
#include "elfopt/Support/Diagnostics.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace elfopt {

static std::string osError(int err) { return std::strerror(err); }

void writeFileAtomically(const std::string &path, std::span<const uint8_t> data,
                         std::optional<mode_t> mode) {
  std::string tmpl = path + ".elfopt-tmp-XXXXXX";
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  int fd = ::mkstemp(name.data());
  if (fd < 0)
    fatal(path + ": cannot create output file: " + osError(errno), ExitBadInput);
  std::string tmpPath(name.data());

  auto fail = [&](const std::string &what) {
    int err = errno;
    ::close(fd);
    ::unlink(tmpPath.c_str());
    fatal(path + ": " + what + ": " + osError(err), ExitBadInput);
  };

  const uint8_t *p = data.data();
  size_t left = data.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      fail("cannot write output file");
    }
    p += n;
    left -= size_t(n);
  }

  mode_t bits = 0644;
  if (mode) {
    bits = *mode & 07777;
  } else {
    mode_t mask = ::umask(0);
    ::umask(mask);
    bits &= ~mask;
  }
  if (::fchmod(fd, bits) != 0)
    fail("cannot set output file mode");
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(tmpPath.c_str());
    fatal(path + ": cannot write output file: " + osError(err), ExitBadInput);
  }
  if (::rename(tmpPath.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmpPath.c_str());
    fatal(path + ": cannot rename output into place: " + osError(err), ExitBadInput);
  }
}

bool isSameFile(const std::string &a, const std::string &b) {
  struct stat sa, sb;
  if (::stat(a.c_str(), &sa) != 0 || ::stat(b.c_str(), &sb) != 0)
    return false;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

} // namespace elfopt
