//===- LookupMix.h - how many lookups in an object fail per success -*- C++ -*-===//
//
// The GNU hash cost model weighs an unsuccessful lookup against a successful
// one. The right weight depends on the process: measured with
// LD_DEBUG=symbols,bindings for `llc-19 --version`, libLLVM-19 sees 0.55
// misses per hit (most of its lookups are its own references to its own
// exports), libc 1.5, libm 40 and the executable 362. A fixed ratio is wrong
// for most of them.
//
// What can be known from the object alone is the lookups its own dynamic
// relocations make: glibc looks every symbol relocation up in the global
// scope, which contains the object itself; consecutive relocations against
// one symbol cost one lookup (the loader's one-entry cache). A reference to
// a symbol the object defines is a hit in it; one to an undefined symbol is
// a miss in it (its dependencies, which define it, come after it in the
// scope). Lookups made by other objects are not visible, so for a leaf
// library that others import from this is a lower bound on misses.
//
// simulateLookupMix() sees them: given a program that loads the object, it
// builds the global scope glibc builds at startup (the program, then its
// DT_NEEDED libraries breadth-first, found through RUNPATH/RPATH,
// /etc/ld.so.conf and the default directories) and replays every symbol
// relocation of every object in it against that scope: a lookup probes each
// object in order until one defines the name. The object's hits and misses
// are the lookups that reach it. Symbol versions are not modelled (names
// only), nor dlopen, nor lazy binding (every relocation counts, as with
// LD_BIND_NOW=1).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "elfopt/Elf/ElfFile.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace elfopt {

/// The dynamic symbols of \p file; none when it has no .dynsym.
std::vector<Symbol> dynamicSymbolsOf(const ElfFile &file);
/// Whether \p s is a definition other objects' lookups can find: defined,
/// not local, not hidden or internal, named.
bool exportsDefinition(const Symbol &s);
/// DT_SYMBOLIC (or DF_SYMBOLIC): the object searches itself first, then
/// the global scope (where it is searched again).
bool isSymbolic(const ElfFile &f);

struct LookupMix {
  uint64_t hits = 0;   ///< lookups of symbols the object defines
  uint64_t misses = 0; ///< lookups of symbols it does not define
  /// Add-one smoothed, so an object with no lookups of its own weighs
  /// misses and hits equally.
  double missesPerHit() const { return double(misses + 1) / double(hits + 1); }
};

LookupMix estimateLookupMix(const ElfFile &file);

struct SimulatedScope {
  LookupMix mix;
  std::vector<std::string> objects;  ///< the scope, in search order
  std::vector<std::string> notFound; ///< DT_NEEDED names not found
  size_t position = 0;               ///< of the file in objects
};

/// The search every lookup of a start makes: the global scope as glibc
/// builds it for \p programPath, every symbol relocation of every object in
/// it replayed (as LD_BIND_NOW=1), and how far each walks.
struct ScopeWalk {
  std::vector<std::string> objects;  ///< the scope, in search order (the program first)
  std::vector<std::string> notFound; ///< DT_NEEDED names not found
  std::vector<uint64_t> answered;    ///< per object: lookups it answered
  std::vector<uint64_t> asked;       ///< per object: lookups its relocations made
  uint64_t lookups = 0;
  uint64_t probes = 0;        ///< objects asked, summed over every lookup
  uint64_t unresolved = 0;    ///< lookups no object answered (weak undefined)
  uint64_t answeredBySelf = 0; ///< DT_SYMBOLIC objects answering their own
  /// probes with the objects after the program sorted by lookups answered,
  /// ignoring every constraint: a bound, not an order that is safe.
  uint64_t sortedProbes = 0;
  double meanWalk() const { return lookups ? double(probes) / double(lookups) : 0; }
  double sortedMeanWalk() const { return lookups ? double(sortedProbes) / double(lookups) : 0; }
};

ScopeWalk simulateScopeWalk(const std::string &programPath);

/// The global scope of \p programPath's start, opened, in search order (the
/// program first), as the models above build it. \p standIn (may be null)
/// stands in for the library with its DT_SONAME or file name, or for the
/// program when it is the program's own file.
struct LoadedScope {
  std::vector<std::string> paths;
  std::vector<const ElfFile *> objects;
  std::vector<std::unique_ptr<ElfFile>> owned;
  std::vector<std::string> notFound; ///< DT_NEEDED names not found
  std::optional<size_t> position;    ///< of the stand-in; none: not loaded at startup
};
LoadedScope loadStartupScope(const std::string &programPath, const ElfFile *standIn);

/// The lookups \p file sees when \p programPath starts (its own contents
/// stand in for the copy the program would load). Fatal error when the
/// program does not load a library with the file's DT_SONAME or file name.
SimulatedScope simulateLookupMix(const ElfFile &file, const std::string &programPath);

} // namespace elfopt
