//===- LookupMix.cpp ------------------------------------------------------===//
#include "elfopt/Scope/LookupMix.h"
#include "elfopt/Scope/ScopeOrder.h"
#include "elfopt/Scope/Constructors.h"

#include "elfopt/Elf/Relocations.h"
#include "elfopt/Elf/Versions.h"
#include "elfopt/Support/Diagnostics.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <glob.h>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <unordered_map>

using namespace llvm::ELF;

namespace elfopt {

std::vector<Symbol> dynamicSymbolsOf(const ElfFile &file) {
  const Section *dynsym = file.findSectionOfType(SHT_DYNSYM);
  return dynsym ? file.symbols(*dynsym) : std::vector<Symbol>{};
}

bool exportsDefinition(const Symbol &s) {
  uint8_t visibility = s.other & 3;
  return s.isDefined() && s.binding != STB_LOCAL && visibility != STV_HIDDEN &&
         visibility != STV_INTERNAL && !s.name.empty();
}

bool isSymbolic(const ElfFile &f) {
  auto flags = f.dynamicValue(DT_FLAGS);
  return f.dynamicValue(DT_SYMBOLIC) || (flags && (*flags & DF_SYMBOLIC));
}

namespace {

/// Consecutive relocations against one symbol: one lookup (glibc's cache).
/// Calls \p lookup(symbol index, is a copy relocation) for each lookup \p file's relocations make.
template <typename F> void forEachLookup(const ElfFile &file, const std::vector<Symbol> &syms, F lookup) {
  const Section *dynsym = file.findSectionOfType(SHT_DYNSYM);
  uint64_t previous = 0;
  for (const Section &s : file.sections()) {
    if (s.type() != SHT_RELA || !dynsym || s.header.sh_link != dynsym->index)
      continue;
    for (const ELFT::Rela &rela : decodeRela(file.contents(s))) {
      uint64_t sym = rela.getSymbol(false);
      if (sym == 0 || sym >= syms.size() || sym == previous)
        continue;
      previous = sym;
      if (syms[sym].binding != STB_LOCAL) // a local is resolved without a lookup
        lookup(sym, rela.getType(false) == R_X86_64_COPY);
    }
  }
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

namespace fs = std::filesystem;

std::string sonameOf(const ElfFile &f) {
  auto v = f.dynamicValue(DT_SONAME);
  return v ? f.dynamicString(*v) : std::string();
}

// The directories searched after RUNPATH/RPATH: /etc/ld.so.conf's, then the
// default ones.
std::vector<std::string> systemSearchDirs() {
  std::vector<std::string> dirs;
  readLdSoConf("/etc/ld.so.conf", dirs, 0);
  for (const char *d : {"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64",
                        "/lib", "/usr/lib"})
    dirs.push_back(d);
  return dirs;
}

std::unique_ptr<ElfFile> openObject(const std::string &path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    return nullptr;
  try {
    return ElfFile::open(path);
  } catch (const FatalError &) {
    return nullptr; // e.g. a 32-bit library in a multilib directory: keep looking
  }
}

/// An object of the global scope.
struct ScopeObject {
  std::string path;
  std::unique_ptr<ElfFile> owned;
  const ElfFile *elf = nullptr;
};

/// The global scope glibc builds at startup: the program, then its
/// DT_NEEDED libraries breadth-first (as _dl_map_object_deps), with the
/// file standing in for the library it is.
class ScopeBuilder {
public:
  /// \p file (may be null: none) stands in for the library it is.
  ScopeBuilder(const ElfFile *file, SimulatedScope &result)
      : file(file), result(result), fileSoname(file ? sonameOf(*file) : std::string()),
        fileBase(file ? fs::path(file->name()).filename().string() : std::string()) {}

  /// \p programNeeded: names instead of the program's own DT_NEEDED list.
  std::vector<ScopeObject> build(const std::string &programPath,
                                 const std::vector<std::string> *programNeeded = nullptr) {
    {
      ScopeObject program{programPath, ElfFile::open(programPath), nullptr};
      program.elf = program.owned.get();
      scope.push_back(std::move(program));
    }
    programDirs = searchDirs(0);
    for (size_t next = 0; next < scope.size(); ++next)
      addDependencies(next, next == 0 ? programNeeded : nullptr);
    if (file && !fileFound && requireFile)
      fatal(programPath + " does not load " + (fileSoname.empty() ? fileBase : fileSoname) +
            " (looked for its DT_SONAME and file name among the DT_NEEDED libraries)");
    return std::move(scope);
  }

  /// After build(): a library opened with dlopen, and its dependencies not
  /// loaded yet, appended breadth-first. Returns false when not found.
  bool addDlopened(std::vector<ScopeObject> &built, const std::string &path) {
    scope = std::move(built);
    size_t first = scope.size();
    bool found = addNeeded(path, {}).has_value();
    for (size_t next = first; next < scope.size(); ++next)
      addDependencies(next, nullptr);
    built = std::move(scope);
    return found;
  }

  /// Per object: its DT_NEEDED libraries as found, in order (indices).
  std::vector<std::vector<uint32_t>> neededOf;
  /// build() fails when the program does not load the stand-in file.
  bool requireFile = true;
  bool foundFile() const { return fileFound; }

  /// Where the program's own search finds \p name; empty: nowhere.
  std::string findFromProgram(const std::string &name) const {
    std::string path;
    findIn(programDirs, name, path);
    return path;
  }

private:
  // The first of \p dirs that holds a loadable \p name, opened; \p path
  // says where (left empty when none does).
  static std::unique_ptr<ElfFile> findIn(const std::vector<std::string> &dirs, const std::string &name,
                                         std::string &path) {
    for (const std::string &dir : dirs)
      if (auto found = openObject(dir + "/" + name)) {
        path = dir + "/" + name;
        return found;
      }
    return nullptr;
  }

  // Where scope[k]'s DT_NEEDED libraries are looked for, in order.
  std::vector<std::string> searchDirs(size_t k) const {
    const ElfFile &requester = *scope[k].elf;
    // $ORIGIN: the program's directory as the kernel ran it (symlinks
    // resolved, as /proc/self/exe gives it to ld.so); a library's own, made
    // absolute.
    std::error_code ec;
    fs::path where = k == 0 ? fs::weakly_canonical(scope[k].path, ec) : fs::absolute(scope[k].path, ec);
    if (ec)
      where = scope[k].path;
    std::string origin = where.parent_path().string();
    auto runpath = requester.dynamicValue(DT_RUNPATH);
    auto rpath = requester.dynamicValue(DT_RPATH);
    std::vector<std::string> dirs;
    if (runpath)
      dirs = splitPath(requester.dynamicString(*runpath), origin);
    else if (rpath)
      dirs = splitPath(requester.dynamicString(*rpath), origin);
    dirs.insert(dirs.end(), systemDirs.begin(), systemDirs.end());
    return dirs;
  }

  void addDependencies(size_t k, const std::vector<std::string> *names) {
    std::vector<std::string> dirs = searchDirs(k);
    const ElfFile &requester = *scope[k].elf;
    std::vector<std::string> own;
    if (!names) {
      for (const Dyn &d : requester.dynamicEntries())
        if (d.d_tag == DT_NEEDED)
          own.push_back(requester.dynamicString(d.d_un.d_val));
      names = &own;
    }
    if (neededOf.size() <= k)
      neededOf.resize(k + 1);
    for (const std::string &name : *names)
      if (auto index = addNeeded(name, dirs))
        neededOf[k].push_back(uint32_t(*index));
  }

  std::optional<size_t> addNeeded(const std::string &name, const std::vector<std::string> &dirs) {
    if (auto it = loadedNames.find(name); it != loadedNames.end())
      return it->second;
    if (file && !fileFound && (name == fileSoname || fs::path(name).filename() == fileBase)) {
      fileFound = true;
      result.position = scope.size();
      loadedNames.emplace(name, scope.size());
      scope.push_back({file->name(), nullptr, file});
      return scope.size() - 1;
    }
    std::string foundPath;
    std::unique_ptr<ElfFile> found = name.find('/') != std::string::npos ? openObject(foundPath = name)
                                                                          : findIn(dirs, name, foundPath);
    if (!found) {
      if (missing.insert(name).second)
        result.notFound.push_back(name);
      return std::nullopt;
    }
    std::string so = sonameOf(*found);
    if (!so.empty() && so != name)
      if (auto it = loadedNames.find(so); it != loadedNames.end()) {
        loadedNames.emplace(name, it->second);
        return it->second; // the same library under another name
      }
    loadedNames.emplace(name, scope.size());
    if (!so.empty())
      loadedNames.emplace(so, scope.size());
    ScopeObject o{foundPath, std::move(found), nullptr};
    o.elf = o.owned.get();
    scope.push_back(std::move(o));
    return scope.size() - 1;
  }

  const ElfFile *file;
  SimulatedScope &result;
  std::string fileSoname, fileBase;
  std::vector<std::string> systemDirs = systemSearchDirs();
  std::vector<ScopeObject> scope;
  std::map<std::string, size_t> loadedNames; // DT_NEEDED names and sonames already in scope
  std::set<std::string> missing;
  std::vector<std::string> programDirs; // where the program's DT_NEEDED libraries are looked for
  bool fileFound = false;
};

/// Every exported definition of each name, in scope order.
struct ScopeSymbols {
  std::vector<std::vector<Symbol>> symbols;
  std::vector<SymbolVersions> versions;
  std::unordered_map<std::string, std::vector<std::pair<uint32_t, uint32_t>>> definitions;
};

ScopeSymbols readScopeSymbols(const std::vector<ScopeObject> &scope) {
  ScopeSymbols s;
  s.symbols.resize(scope.size());
  s.versions.resize(scope.size());
  for (size_t k = 0; k < scope.size(); ++k) {
    s.symbols[k] = dynamicSymbolsOf(*scope[k].elf);
    s.versions[k] = readSymbolVersions(*scope[k].elf, s.symbols[k].size());
    for (size_t i = 0; i < s.symbols[k].size(); ++i)
      if (exportsDefinition(s.symbols[k][i]))
        s.definitions[s.symbols[k][i].name].emplace_back(uint32_t(k), uint32_t(i));
  }
  return s;
}

// Whether object k defines what its lookup of \p sym asks for (a DT_SYMBOLIC
// object's own search answers it).
bool answersItself(const ScopeSymbols &s, size_t k, uint64_t sym) {
  return exportsDefinition(s.symbols[k][sym]) && s.versions[k].matches(uint32_t(sym), s.versions[k].name(uint32_t(sym)));
}

// The objects of scope[0, visible) that could answer object k's lookup of
// \p sym, in scope order and each once: a definition whose version matches
// (glibc's check_match). The first answers. A copy relocation skips the
// program, as glibc does.
std::vector<uint32_t> answerers(const ScopeSymbols &s, size_t k, uint64_t sym, bool copy, size_t visible) {
  std::vector<uint32_t> out;
  const std::string *wanted = s.versions[k].name(uint32_t(sym));
  auto it = s.definitions.find(s.symbols[k][sym].name);
  if (it != s.definitions.end())
    for (auto [object, index] : it->second)
      if (object < visible && !(copy && object == 0) && s.versions[object].matches(index, wanted) &&
          (out.empty() || out.back() != object)) // one object, two versions of the name
        out.push_back(object);
  return out;
}

// Replays object k's lookups against the scope and calls \p seen(definer,
// walked) for each: the object that answers (SIZE_MAX: none) and how many
// objects were asked.
template <typename Seen>
void forEachScopeLookup(const std::vector<ScopeObject> &scope, const ScopeSymbols &s, size_t k, Seen seen) {
  bool symbolic = isSymbolic(*scope[k].elf);
  forEachLookup(*scope[k].elf, s.symbols[k], [&](uint64_t sym, bool copy) {
    if (symbolic && answersItself(s, k, sym)) {
      seen(k, size_t(1), true);
      return;
    }
    std::vector<uint32_t> who = answerers(s, k, sym, copy, scope.size());
    size_t first = who.empty() ? SIZE_MAX : who.front();
    size_t walked = (first == SIZE_MAX ? scope.size() : first + 1) + (symbolic ? 1 : 0);
    seen(first, walked, false);
  });
}

// Object k's lookups that reach the file at result.position count in its mix.
void replayLookups(const std::vector<ScopeObject> &scope, const ScopeSymbols &s, size_t k,
                   SimulatedScope &result) {
  bool symbolic = isSymbolic(*scope[k].elf);
  forEachScopeLookup(scope, s, k, [&](size_t first, size_t, bool symbolicSelf) {
    if (symbolic && !symbolicSelf && k == result.position)
      ++result.mix.misses; // its own search of itself failed first
    if (symbolicSelf) {
      if (k == result.position)
        ++result.mix.hits;
      return;
    }
    if (first == result.position)
      ++result.mix.hits;
    else if (first > result.position)
      ++result.mix.misses; // the lookup went past the file
  });
}

} // namespace

SimulatedScope simulateLookupMix(const ElfFile &file, const std::string &programPath) {
  SimulatedScope result;
  // The scope first: which objects there are, and where the file is among them.
  std::vector<ScopeObject> scope = ScopeBuilder(&file, result).build(programPath);
  // All definitions before any lookup: a lookup may be satisfied by any object.
  ScopeSymbols symbols = readScopeSymbols(scope);
  for (const ScopeObject &o : scope)
    result.objects.push_back(o.path);
  // Every object's lookups, since those of others reach the file too.
  for (size_t k = 0; k < scope.size(); ++k)
    replayLookups(scope, symbols, k, result);
  return result;
}

ScopeWalk simulateScopeWalk(const std::string &programPath) {
  SimulatedScope unused;
  std::vector<ScopeObject> scope = ScopeBuilder(nullptr, unused).build(programPath);
  ScopeSymbols symbols = readScopeSymbols(scope);
  ScopeWalk walk;
  walk.notFound = unused.notFound;
  for (const ScopeObject &o : scope)
    walk.objects.push_back(o.path);
  walk.answered.assign(scope.size(), 0);
  walk.asked.assign(scope.size(), 0);
  for (size_t k = 0; k < scope.size(); ++k)
    forEachScopeLookup(scope, symbols, k, [&](size_t first, size_t walked, bool symbolicSelf) {
      ++walk.lookups;
      walk.probes += walked;
      ++walk.asked[k];
      if (first == SIZE_MAX)
        ++walk.unresolved;
      else if (!symbolicSelf)
        ++walk.answered[first];
      else
        ++walk.answeredBySelf;
    });
  // The bound: the objects after the program sorted by lookups answered,
  // most first, as if no binding, constructor order or dlsym constrained it.
  std::vector<uint64_t> rest(walk.answered.begin() + (walk.answered.empty() ? 0 : 1), walk.answered.end());
  std::sort(rest.rbegin(), rest.rend());
  uint64_t probes = walk.answered.empty() ? 0 : walk.answered[0];
  for (size_t r = 0; r < rest.size(); ++r)
    probes += rest[r] * (r + 2);
  probes += walk.unresolved * scope.size() + walk.answeredBySelf;
  walk.sortedProbes = probes;
  return walk;
}

LoadedScope loadStartupScope(const std::string &programPath, const ElfFile *standIn) {
  LoadedScope loaded;
  SimulatedScope found;
  std::error_code ec;
  bool isProgram = standIn && fs::equivalent(standIn->name(), programPath, ec);
  ScopeBuilder builder(isProgram ? nullptr : standIn, found);
  builder.requireFile = false;
  std::vector<ScopeObject> scope = builder.build(programPath);
  loaded.notFound = found.notFound;
  if (isProgram) {
    scope[0].elf = standIn;
    loaded.position = 0;
  } else if (standIn && builder.foundFile()) {
    loaded.position = found.position;
  }
  for (ScopeObject &o : scope) {
    loaded.paths.push_back(o.path);
    loaded.objects.push_back(o.elf);
    if (o.owned)
      loaded.owned.push_back(std::move(o.owned));
  }
  return loaded;
}

LookupMix estimateLookupMix(const ElfFile &file) {
  LookupMix mix;
  std::vector<Symbol> syms = dynamicSymbolsOf(file);
  forEachLookup(file, syms, [&](uint64_t sym, bool) { ++(syms[sym].isDefined() ? mix.hits : mix.misses); });
  return mix;
}

// How reports name an object: its DT_SONAME, else its file name.
static std::string nameInMessages(const ScopeObject &object) {
  std::string soname = sonameOf(*object.elf);
  return soname.empty() ? fs::path(object.path).filename().string() : soname;
}

ScopeModel buildScopeModel(const std::string &programPath, const ScopeModelOptions &options) {
  SimulatedScope found;
  ScopeBuilder builder(nullptr, found);
  std::vector<ScopeObject> scope =
      builder.build(programPath, options.programNeeded ? &*options.programNeeded : nullptr);
  if (!found.notFound.empty())
    fatal(programPath + ": cannot find " + found.notFound.front() +
          " (needed at startup) on the loader's search path; the scope cannot be proved");
  ScopeModel model;
  model.startup = scope.size();
  for (const std::string &lib : options.also) {
    std::error_code ec;
    if (!fs::is_regular_file(lib, ec))
      fatal(lib + ": no such library (--also)");
    size_t before = scope.size();
    builder.addDlopened(scope, fs::absolute(lib).string());
    if (!found.notFound.empty())
      fatal(lib + ": cannot find " + found.notFound.front() + ", which it needs, on the loader's search path");
    if (scope.size() == before)
      warn(lib + " (--also) is already loaded at startup: its lookups are in the proof already");
    model.dlopened.push_back(lib);
  }
  builder.neededOf.resize(scope.size());
  ScopeSymbols symbols = readScopeSymbols(scope);

  for (size_t k = 0; k < scope.size(); ++k) {
    const ElfFile &elf = *scope[k].elf;
    ScopeModel::Object o;
    o.path = scope[k].path;
    o.name = nameInMessages(scope[k]);
    o.needed = builder.neededOf[k];
    size_t visible = k < model.startup ? model.startup : scope.size();
    ConstructorEffects effects = constructorEffects(elf, [&](uint64_t sym) -> std::optional<std::string> {
      if (sym >= symbols.symbols[k].size())
        return std::nullopt;
      std::vector<uint32_t> who = answerers(symbols, k, sym, false, visible);
      if (who.empty())
        return std::nullopt;
      return nameInMessages(scope[who.front()]);
    });
    o.hasInit = effects.hasInit;
    o.hasFini = effects.hasFini;
    o.initInert = effects.hasInit && !effects.initEffect;
    o.finiInert = effects.hasFini && !effects.finiEffect;
    o.initEffect = effects.initEffect.value_or("");
    o.finiEffect = effects.finiEffect.value_or("");
    for (const Symbol &sym : symbols.symbols[k])
      if (!sym.isDefined() && (sym.name == "dlsym" || sym.name == "dlvsym"))
        o.importsDlsym = true;
    if (k > 0 && k < model.startup) {
      std::string there = builder.findFromProgram(o.name);
      std::error_code ec;
      o.sameFileFromProgram = !there.empty() && fs::equivalent(there, o.path, ec);
    }
    model.objects.push_back(std::move(o));
  }

  // Every lookup: who could answer it, who does. A startup object's lookups
  // see the startup scope; a dlopened one's, that and its own dependencies.
  model.answered.assign(scope.size(), 0);
  std::map<std::vector<uint32_t>, ScopeModel::Contest> contests;
  for (size_t k = 0; k < scope.size(); ++k) {
    bool symbolic = isSymbolic(*scope[k].elf);
    size_t visible = k < model.startup ? model.startup : scope.size();
    forEachLookup(*scope[k].elf, symbols.symbols[k], [&](uint64_t sym, bool copy) {
      ++model.lookups;
      if (symbolic && answersItself(symbols, k, sym)) {
        ++model.answeredBySelf;
        return;
      }
      std::vector<uint32_t> candidates = answerers(symbols, k, sym, copy, visible);
      if (candidates.empty()) {
        ++model.unresolved;
        return;
      }
      if (options.selfBound && k < model.startup && candidates.front() == k) {
        --model.lookups; // bound without a lookup: only its proofs count
        ++model.boundBySelf;
      } else {
        ++model.answered[candidates.front()];
      }
      if (candidates.size() < 2)
        return;
      ScopeModel::Contest &c = contests[candidates];
      if (c.candidates.empty()) {
        c.symbol = symbols.symbols[k][sym].name;
        c.candidates = candidates;
        c.winner = candidates.front();
      }
      ++c.lookups;
    });
  }
  for (auto &[key, contest] : contests)
    model.contests.push_back(std::move(contest));

  std::map<std::string, std::vector<uint32_t>> uniques;
  for (size_t k = 0; k < model.startup; ++k)
    for (const Symbol &sym : symbols.symbols[k])
      if (sym.binding == STB_GNU_UNIQUE && exportsDefinition(sym))
        uniques[sym.name].push_back(uint32_t(k));
  for (auto &[name, definers] : uniques)
    if (definers.size() > 1)
      model.uniques.push_back({name, definers});
  return model;
}

} // namespace elfopt
