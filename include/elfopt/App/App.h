//===- App.h - a whole application optimized for one start ------*- C++ -*-===//
//
// `elfopt app` rewrites every object a start maps (as `record --all-objects`
// recorded them) into a directory the program runs from, never touching the
// installed files. Which objects and where:
//   - The application root is the program's directory, widened to the
//     closest common directory of the recorded objects that live beside it
//     (clang's bin/ and lib/ under /usr/lib/llvm-19), but never to a shared
//     system directory (/usr/lib, /usr/lib/x86_64-linux-gnu, /usr, ...).
//   - A program in a shared directory (/usr/bin) owns nothing beside it:
//     the output holds the program alone.
//   - The root is mirrored into the output directory: every directory made,
//     every file a hard link to the installed one (a symbolic link across
//     file systems), every symbolic link copied. The program and the recorded objects under the root become
//     real files there, rewritten. The program must be a real file: glibc
//     resolves $ORIGIN through /proc/self/exe, so a link would load the
//     installed libraries again.
//   - Objects outside the root (libc, libstdc++: shared by every program,
//     so most likely in memory already) are left alone; with
//     --system-libraries they are rewritten into a directory of their own
//     that a launcher puts on LD_LIBRARY_PATH.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace elfopt {

/// A directory no application root may be (or widen to): one that many
/// packages share.
bool isSharedSystemDirectory(const std::string &directory);

/// The application root of \p program (a canonical path) given the
/// canonical paths of the objects recorded with it: the program's directory,
/// widened to cover each object whose common directory with it is not a
/// shared system directory.
std::string applicationRoot(const std::string &program, const std::vector<std::string> &objects);

/// Whether \p path lies under directory \p root.
bool isUnder(const std::string &path, const std::string &root);

/// One recorded object and where its rewritten copy goes.
struct AppObject {
  std::string profileName; ///< its name in the profiles ("main" for the program)
  std::string path;        ///< canonical path of the installed file
  bool inApplication = false;
  std::string output;      ///< path under the output directory
};

struct AppLayout {
  std::string root;     ///< application root (installed)
  std::string program;  ///< canonical path of the program
  std::string programOutput;
  std::string systemDirectory; ///< output directory of rewritten system libraries
  std::vector<AppObject> objects; ///< the program first
};

/// Plans where each object goes under \p outputDirectory. \p objects are
/// (profile name, canonical path) pairs, the program's among them as
/// "main". \p root, when given, is the application root instead of
/// applicationRoot()'s.
AppLayout planApplication(const std::string &program,
                          const std::vector<std::pair<std::string, std::string>> &objects,
                          const std::string &outputDirectory, const std::optional<std::string> &root = {});

/// Mirrors \p root into \p output (which must not exist): directories,
/// symbolic links copied, regular files hard-linked to the installed ones
/// (absolute symbolic links across file systems). Returns the number of
/// files linked.
size_t mirrorTree(const std::string &root, const std::string &output);

} // namespace elfopt
