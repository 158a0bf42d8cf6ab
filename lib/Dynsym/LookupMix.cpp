//===- LookupMix.cpp ------------------------------------------------------===//
#include "elfopt/Dynsym/LookupMix.h"

#include "elfopt/Elf/Versions.h"
#include "elfopt/Support/Diagnostics.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <glob.h>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>

using namespace llvm::ELF;

namespace elfopt {

namespace {

/// Consecutive relocations against one symbol: one lookup (glibc's cache).
/// Calls \p lookup(symbol index) for each lookup \p file's relocations make.
template <typename F> void forEachLookup(const ElfFile &file, const std::vector<Symbol> &syms, F lookup) {
  const Section *dynsym = file.findSectionOfType(SHT_DYNSYM);
  uint64_t previous = 0;
  for (const Section &s : file.sections()) {
    if (s.type() != SHT_RELA || !dynsym || s.header.sh_link != dynsym->index)
      continue;
    auto bytes = file.contents(s);
    for (uint64_t off = 0; off + sizeof(ELFT::Rela) <= bytes.size(); off += sizeof(ELFT::Rela)) {
      uint64_t info;
      std::memcpy(&info, bytes.data() + off + 8, 8);
      uint64_t sym = info >> 32;
      if (sym == 0 || sym >= syms.size() || sym == previous)
        continue;
      previous = sym;
      if (syms[sym].binding != STB_LOCAL) // a local is resolved without a lookup
        lookup(sym);
    }
  }
}

std::vector<Symbol> dynamicSymbols(const ElfFile &file) {
  const Section *dynsym = file.findSectionOfType(SHT_DYNSYM);
  return dynsym ? file.symbols(*dynsym) : std::vector<Symbol>{};
}

bool exports(const Symbol &s) {
  uint8_t visibility = s.other & 3;
  return s.isDefined() && s.binding != STB_LOCAL && visibility != STV_HIDDEN &&
         visibility != STV_INTERNAL && !s.name.empty();
}

// Directories of /etc/ld.so.conf, with its include lines, in order.
void readLdSoConf(const std::string &path, std::vector<std::string> &dirs, unsigned depth) {
  std::ifstream in(path);
  std::string line;
  while (depth < 8 && std::getline(in, line)) {
    line = line.substr(0, line.find('#'));
    while (!line.empty() && std::isspace(uint8_t(line.back())))
      line.pop_back();
    size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos)
      continue;
    line = line.substr(start);
    if (line.rfind("include", 0) == 0 && line.size() > 7 && std::isspace(uint8_t(line[7]))) {
      std::string pattern = line.substr(line.find_first_not_of(" \t", 7));
      if (pattern[0] != '/')
        pattern = std::filesystem::path(path).parent_path().string() + "/" + pattern;
      glob_t g{};
      if (::glob(pattern.c_str(), 0, nullptr, &g) == 0)
        for (size_t k = 0; k < g.gl_pathc; ++k) // glob sorts: the loader's order
          readLdSoConf(g.gl_pathv[k], dirs, depth + 1);
      ::globfree(&g);
    } else {
      dirs.push_back(line);
    }
  }
}

std::vector<std::string> splitPath(const std::string &list, const std::string &origin) {
  llvm::SmallVector<llvm::StringRef, 8> parts;
  llvm::StringRef(list).split(parts, ':', -1, /*KeepEmpty=*/false);
  std::vector<std::string> out;
  for (llvm::StringRef part : parts) {
    std::string dir = part.str();
    for (const char *token : {"$ORIGIN", "${ORIGIN}"})
      for (size_t at; (at = dir.find(token)) != std::string::npos;)
        dir.replace(at, std::strlen(token), origin);
    out.push_back(dir);
  }
  return out;
}

} // namespace

SimulatedScope simulateLookupMix(const ElfFile &file, const std::string &programPath) {
  namespace fs = std::filesystem;
  std::vector<std::string> systemDirs;
  readLdSoConf("/etc/ld.so.conf", systemDirs, 0);
  for (const char *d : {"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64",
                        "/lib", "/usr/lib"})
    systemDirs.push_back(d);

  auto soname = [](const ElfFile &f) -> std::string {
    auto v = f.dynamicValue(DT_SONAME);
    return v ? f.dynamicString(*v) : std::string();
  };
  std::string fileSoname = soname(file);
  std::string fileBase = fs::path(file.name()).filename().string();

  struct Object {
    std::string path;
    std::unique_ptr<ElfFile> owned;
    const ElfFile *elf = nullptr;
  };
  std::vector<Object> scope;
  std::set<std::string> loadedNames; // DT_NEEDED names and sonames already in scope
  SimulatedScope result;
  bool fileFound = false;

  auto openObject = [&](const std::string &path) -> std::unique_ptr<ElfFile> {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec))
      return nullptr;
    try {
      return ElfFile::open(path);
    } catch (const FatalError &) {
      return nullptr; // e.g. a 32-bit library in a multilib directory: keep looking
    }
  };
  {
    Object program{programPath, ElfFile::open(programPath), nullptr};
    program.elf = program.owned.get();
    scope.push_back(std::move(program));
  }
  // Breadth-first over DT_NEEDED, as glibc's _dl_map_object_deps.
  for (size_t next = 0; next < scope.size(); ++next) {
    const ElfFile &requester = *scope[next].elf;
    std::string origin = fs::path(scope[next].path).parent_path().string();
    auto runpath = requester.dynamicValue(DT_RUNPATH);
    auto rpath = requester.dynamicValue(DT_RPATH);
    std::vector<std::string> dirs;
    if (runpath)
      dirs = splitPath(requester.dynamicString(*runpath), origin);
    else if (rpath)
      dirs = splitPath(requester.dynamicString(*rpath), origin);
    dirs.insert(dirs.end(), systemDirs.begin(), systemDirs.end());
    for (const Dyn &d : requester.dynamicEntries()) {
      if (d.d_tag != DT_NEEDED)
        continue;
      std::string name = requester.dynamicString(d.d_un.d_val);
      if (loadedNames.count(name))
        continue;
      loadedNames.insert(name);
      if (!fileFound && (name == fileSoname || fs::path(name).filename() == fileBase)) {
        fileFound = true;
        result.position = scope.size();
        scope.push_back({file.name(), nullptr, &file});
        continue;
      }
      std::unique_ptr<ElfFile> found;
      std::string foundPath;
      if (name.find('/') != std::string::npos) {
        found = openObject(name);
        foundPath = name;
      } else {
        for (const std::string &dir : dirs)
          if ((found = openObject(dir + "/" + name))) {
            foundPath = dir + "/" + name;
            break;
          }
      }
      if (!found) {
        result.notFound.push_back(name);
        continue;
      }
      std::string so = soname(*found);
      if (!so.empty() && so != name && loadedNames.count(so))
        continue; // the same library under another name
      loadedNames.insert(so);
      Object o{foundPath, std::move(found), nullptr};
      o.elf = o.owned.get();
      scope.push_back(std::move(o));
    }
  }
  if (!fileFound)
    fatal(programPath + " does not load " + (fileSoname.empty() ? fileBase : fileSoname) +
          " (looked for its DT_SONAME and file name among the DT_NEEDED libraries)");

  // Every exported definition of each name, in scope order; a lookup takes
  // the first whose version matches (glibc's check_match).
  std::vector<std::vector<Symbol>> symbols(scope.size());
  std::vector<SymbolVersions> versions(scope.size());
  std::unordered_map<std::string, std::vector<std::pair<uint32_t, uint32_t>>> definitions;
  for (size_t k = 0; k < scope.size(); ++k) {
    symbols[k] = dynamicSymbols(*scope[k].elf);
    versions[k] = readSymbolVersions(*scope[k].elf, symbols[k].size());
    for (size_t i = 0; i < symbols[k].size(); ++i)
      if (exports(symbols[k][i]))
        definitions[symbols[k][i].name].emplace_back(uint32_t(k), uint32_t(i));
    result.objects.push_back(scope[k].path);
  }
  for (size_t k = 0; k < scope.size(); ++k) {
    // DT_SYMBOLIC: the object searches itself first, then the global scope
    // (where it is searched again).
    auto flags = scope[k].elf->dynamicValue(DT_FLAGS);
    bool symbolic = scope[k].elf->dynamicValue(DT_SYMBOLIC) || (flags && (*flags & DF_SYMBOLIC));
    forEachLookup(*scope[k].elf, symbols[k], [&](uint64_t sym) {
      const std::string *wanted = versions[k].name(uint32_t(sym));
      if (symbolic) {
        bool defined = exports(symbols[k][sym]) && versions[k].matches(uint32_t(sym), wanted);
        if (k == result.position)
          ++(defined ? result.mix.hits : result.mix.misses);
        if (defined)
          return;
      }
      size_t first = SIZE_MAX;
      auto it = definitions.find(symbols[k][sym].name);
      if (it != definitions.end())
        for (auto [object, index] : it->second)
          if (versions[object].matches(index, wanted)) {
            first = object;
            break;
          }
      if (first == result.position)
        ++result.mix.hits;
      else if (first > result.position)
        ++result.mix.misses; // the lookup went past the file
    });
  }
  return result;
}

LookupMix estimateLookupMix(const ElfFile &file) {
  LookupMix mix;
  std::vector<Symbol> syms = dynamicSymbols(file);
  forEachLookup(file, syms, [&](uint64_t sym) { ++(syms[sym].isDefined() ? mix.hits : mix.misses); });
  return mix;
}

} // namespace elfopt
