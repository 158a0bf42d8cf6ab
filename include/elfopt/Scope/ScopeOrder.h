//===- ScopeOrder.h - a shorter walk for every lookup, proved -*- C++ -*-===//
//
// Every symbol lookup at startup walks glibc's global scope (the program,
// then its DT_NEEDED libraries breadth-first) until an object defines the
// name. A program's DT_NEEDED list decides that order, so rewriting it can
// put the libraries that answer the most lookups first, with the loader
// everyone has.
//
// A new order is taken only when the model proves that nothing but the
// walk changes:
//   - every lookup that more than one object could answer (the same name and
//     a matching version) is answered by the same object;
//   - constructors and destructors run in the same order: glibc's
//     _dl_sort_maps depth-first sort (elf/dl-sort-maps.c, the default since
//     2.35) is simulated on both scopes, and the objects that have
//     DT_INIT/DT_INIT_ARRAY (or DT_FINI/DT_FINI_ARRAY) must come in the same
//     order; objects with none run no code there;
//   - objects that import dlsym or dlvsym keep their relative order
//     (dlsym(RTLD_NEXT) searches from just after the caller);
//   - the first definer of every STB_GNU_UNIQUE symbol stays the same.
// Preloaded objects (LD_PRELOAD) are put by glibc after the program and
// before every DT_NEEDED library either way. Libraries opened later with
// dlopen are outside the proof unless named (ScopeModelOptions::also).
//
// The model is built from the files (buildScopeModel) and the planner and
// the proofs are pure (planScopeOrder, proveScopeOrder).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "elfopt/Edit/ElfEditor.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace elfopt {

/// What the proofs need of a start, in the original scope's order (the
/// program at index 0).
struct ScopeModel {
  struct Object {
    std::string path;
    std::string name;                ///< what a DT_NEEDED entry names it by (soname, else file name)
    std::vector<uint32_t> needed;    ///< its DT_NEEDED libraries, in order, as found
    bool hasInit = false;            ///< DT_INIT or DT_INIT_ARRAY: glibc calls its constructors
    bool hasFini = false;            ///< DT_FINI or DT_FINI_ARRAY
    /// Its constructors (destructors) are proved to do nothing another object
    /// can see (constructorEffects), so their order is free.
    bool initInert = false, finiInert = false;
    std::string initEffect, finiEffect; ///< otherwise, why not (for reports)
    bool constructorsMatter() const { return hasInit && !initInert; }
    bool destructorsMatter() const { return hasFini && !finiInert; }
    bool importsDlsym = false;       ///< an undefined dlsym or dlvsym
    bool sameFileFromProgram = false; ///< the program's own search finds this very file by `name`
  };
  /// Lookups that more than one object could answer; the first in scope
  /// order does.
  struct Contest {
    std::string symbol;               ///< one name, for reports
    std::vector<uint32_t> candidates; ///< objects whose definition matches
    uint32_t winner = 0;              ///< in the original scope
    uint64_t lookups = 0;
  };
  struct Unique {
    std::string symbol;
    std::vector<uint32_t> definers;
  };
  std::vector<Object> objects;   ///< the startup scope, then the --also libraries' own
  size_t startup = 0;            ///< objects[0, startup) is the global scope at startup
  std::vector<uint64_t> answered; ///< per object: lookups it answers
  std::vector<Contest> contests;
  std::vector<Unique> uniques;
  uint64_t lookups = 0;
  uint64_t unresolved = 0;      ///< lookups nobody answers: they walk the whole scope
  uint64_t answeredBySelf = 0;  ///< DT_SYMBOLIC objects' own, one probe each
  uint64_t boundBySelf = 0;     ///< with ScopeModelOptions::selfBound: an object's own, not in lookups
  std::vector<std::string> dlopened; ///< the --also libraries, as given
};

/// The walk of every lookup over \p scope (indices into model.objects, the
/// program first): objects asked, summed.
uint64_t scopeProbes(const ScopeModel &model, const std::vector<uint32_t> &scope);

/// The scope glibc builds when the program's DT_NEEDED list is
/// \p programNeeded: breadth-first, each object once.
std::vector<uint32_t> breadthFirstScope(const ScopeModel &model, const std::vector<uint32_t> &programNeeded);

/// glibc's _dl_sort_maps_dfs over \p scope (the program first, kept first):
/// the order l_initfini gets. Constructors run from its end to its start,
/// destructors from its start to its end.
std::vector<uint32_t> sortMapsDepthFirst(const ScopeModel &model, const std::vector<uint32_t> &scope);

/// The order glibc's call_init visits the libraries of \p scope at startup
/// (LD_DEBUG=files "calling init" lists each, constructors or not).
std::vector<uint32_t> initOrder(const ScopeModel &model, const std::vector<uint32_t> &scope);

/// Why \p scope does not behave as \p original does; empty when proved.
std::vector<std::string> proveScopeOrder(const ScopeModel &model, const std::vector<uint32_t> &original,
                                         const std::vector<uint32_t> &scope);

/// A library the planner tried to move forward and could not.
struct ScopeRefusal {
  uint32_t object = 0;
  std::string reason;
};

struct ScopePlan {
  std::vector<uint32_t> programNeeded; ///< the new DT_NEEDED list
  std::vector<uint32_t> originalNeeded;
  std::vector<uint32_t> scope, originalScope;
  uint64_t probesBefore = 0, probesAfter = 0;
  size_t addedEntries = 0;
  std::vector<ScopeRefusal> refused;
  bool changed() const { return programNeeded != originalNeeded; }
};

/// Moves libraries forward, most lookups answered first, each move kept
/// only when it shortens the walk and proveScopeOrder() holds. A library
/// the program does not name yet takes one of \p spareSlots new entries,
/// and only when the program's own search would find that very file.
ScopePlan planScopeOrder(const ScopeModel &model, unsigned spareSlots);

/// How reports name model.objects[object]: "(the program)" for the program.
std::string scopeName(const ScopeModel &model, uint32_t object);
std::vector<std::string> scopeNames(const ScopeModel &model, const std::vector<uint32_t> &objects);

/// What the proofs covered, for reports.
struct ScopeProofCounts {
  uint64_t contestedLookups = 0, dlsymImporters = 0;
  uint64_t withConstructors = 0; ///< libraries with constructors or destructors
  uint64_t orderFree = 0;        ///< of those, proved to do nothing another object sees
};
ScopeProofCounts scopeProofCounts(const ScopeModel &model);

/// Objects asked per lookup.
inline double meanWalk(uint64_t probes, uint64_t lookups) {
  return lookups ? double(probes) / double(lookups) : 0;
}

struct ScopeModelOptions {
  /// Libraries the program opens with dlopen: their lookups join the proof
  /// (searched in the global scope, then their own dependencies).
  std::vector<std::string> also;
  /// Instead of the program's own DT_NEEDED list (names).
  std::optional<std::vector<std::string>> programNeeded;
  /// The startup objects are bound with --bind-self for this program: a
  /// lookup an object answers itself is gone, so the walk the order is
  /// planned for leaves it out (the proofs still cover it).
  bool selfBound = false;
};

/// The model of \p programPath's start, read from it and the libraries it
/// loads. Fatal error, naming them, when a library cannot be found.
ScopeModel buildScopeModel(const std::string &programPath, const ScopeModelOptions &options = {});

/// Rewrites the DT_NEEDED entries of the program in \p editor as
/// \p plan says. A name .dynstr does not hold goes into a copy of it with
/// the names appended, named .dynstr (the old one becomes .elfopt.orig.dynstr,
/// bytes kept; .dynamic links to the copy; DT_STRTAB and DT_STRSZ point to
/// it after finishScopeOrder); returns that section's index, if any.
std::optional<unsigned> applyScopeOrder(ElfEditor &editor, const ScopeModel &model, const ScopePlan &plan);
void finishScopeOrder(ElfEditor &editor, std::optional<unsigned> dynstrCopy);

} // namespace elfopt
