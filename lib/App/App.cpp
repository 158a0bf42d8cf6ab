//===- App.cpp ------------------------------------------------------------===//
#include "elfopt/App/App.h"
#include "elfopt/Support/Diagnostics.h"

#include <algorithm>
#include <filesystem>
#include <set>

namespace fs = std::filesystem;

namespace elfopt {

bool isSharedSystemDirectory(const std::string &directory) {
  static const std::set<std::string> shared = {
      "/",          "/usr",         "/usr/lib",        "/usr/lib64",   "/usr/lib32", "/lib",
      "/lib64",     "/lib32",       "/usr/local",      "/usr/local/lib", "/opt",     "/usr/share",
      "/usr/bin",   "/bin",         "/usr/sbin",       "/sbin",        "/usr/libexec", "/usr/local/bin",
      "/usr/lib/x86_64-linux-gnu",  "/lib/x86_64-linux-gnu", "/home",  "/tmp",       "/var"};
  std::string d = directory;
  while (d.size() > 1 && d.back() == '/')
    d.pop_back();
  return shared.count(d) > 0;
}

bool isUnder(const std::string &path, const std::string &root) {
  if (root == "/")
    return !path.empty() && path[0] == '/';
  return path.size() > root.size() && path.compare(0, root.size(), root) == 0 && path[root.size()] == '/';
}

static std::string commonDirectory(const std::string &a, const std::string &b) {
  fs::path pa(a), pb(b), out;
  auto ia = pa.begin(), ib = pb.begin();
  for (; ia != pa.end() && ib != pb.end() && *ia == *ib; ++ia, ++ib)
    out /= *ia;
  return out.string();
}

std::string applicationRoot(const std::string &program, const std::vector<std::string> &objects) {
  std::string root = fs::path(program).parent_path().string();
  if (isSharedSystemDirectory(root))
    return root; // a program in /usr/bin: nothing beside it is its own
  for (const std::string &o : objects) {
    std::string directory = fs::path(o).parent_path().string();
    std::string common = commonDirectory(root, directory);
    if (!isSharedSystemDirectory(common) && common.size() < root.size())
      root = common;
  }
  return root;
}

AppLayout planApplication(const std::string &program,
                          const std::vector<std::pair<std::string, std::string>> &objects,
                          const std::string &outputDirectory, const std::optional<std::string> &root) {
  AppLayout layout;
  layout.program = program;
  std::vector<std::string> paths;
  for (const auto &[name, path] : objects)
    if (name != "main")
      paths.push_back(path);
  layout.root = root ? *root : applicationRoot(program, paths);
  fs::path out(outputDirectory);
  auto inside = [&](const std::string &path) {
    return (out / fs::path(path).lexically_relative(layout.root)).string();
  };
  layout.programOutput = inside(program);
  layout.systemDirectory = (out / "elfopt-system-libraries").string();
  layout.objects.push_back({"main", program, true, layout.programOutput});
  std::set<std::string> seen = {program};
  for (const auto &[name, path] : objects) {
    if (name == "main" || !seen.insert(path).second)
      continue;
    // A program in a shared directory (/usr/bin) owns nothing beside it.
    AppObject o{name, path, !isSharedSystemDirectory(layout.root) && isUnder(path, layout.root), ""};
    o.output = o.inApplication ? inside(path) : (fs::path(layout.systemDirectory) / fs::path(path).filename()).string();
    layout.objects.push_back(o);
  }
  return layout;
}

size_t mirrorTree(const std::string &root, const std::string &output) {
  std::error_code error;
  if (fs::exists(output, error))
    fatal(output + ": exists already; give a directory that does not", ExitUsage);
  fs::create_directories(output, error);
  if (error)
    fatal(output + ": cannot create: " + error.message());
  size_t linked = 0;
  // Sorted, so that the same tree gives the same mirror.
  std::vector<fs::path> entries;
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, error);
       it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (error)
      fatal(root + ": cannot read the application directory: " + error.message());
    entries.push_back(it->path());
  }
  std::sort(entries.begin(), entries.end());
  for (const fs::path &p : entries) {
    fs::path target = fs::path(output) / p.lexically_relative(root);
    auto status = fs::symlink_status(p, error);
    if (fs::is_symlink(status)) {
      // A relative link that leads out of the root would lead nowhere in
      // the mirror: it points where it pointed, absolutely.
      fs::path to = fs::read_symlink(p, error);
      if (to.is_relative() && !isUnder((p.parent_path() / to).lexically_normal().string(), root))
        to = (p.parent_path() / to).lexically_normal();
      if (!error)
        fs::create_symlink(to, target, error);
    }
    else if (fs::is_directory(status))
      fs::create_directory(target, error);
    else if (fs::is_regular_file(status)) {
      // A hard link where the file system allows: some applications resolve
      // symbolic links to find their files (LibreOffice's bootstraprc) and
      // would find the installed directory again. Else a symbolic link.
      fs::create_hard_link(p, target, error);
      if (error) {
        error.clear();
        fs::create_symlink(p, target, error);
      }
      ++linked;
    }
    if (error)
      fatal(target.string() + ": cannot create: " + error.message());
  }
  return linked;
}

} // namespace elfopt
