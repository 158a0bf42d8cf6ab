//===- SelfBinding.h - lookups an object answers itself, bound without one -*- C++ -*-===//
//
// glibc looks every symbolic relocation up in the global scope, from the
// program onwards, even when the object that asks is the one that answers
// (a library calling or taking the address of its own exported function).
// For one program's scope that answer is known in advance. --bind-self
// binds such references without a lookup: for each proved definition it
// adds a copy of its .dynsym entry with STV_HIDDEN visibility after the
// last symbol (in no hash table, so no lookup ever finds it) and points the
// object's relocations against the definition at the copy. glibc resolves
// a relocation against a hidden symbol to the object itself, without a
// lookup (RESOLVE_MAP's dl_symbol_visibility_binds_local_p, and _dl_fixup
// for lazy PLT slots), to the value the lookup gave: load address +
// st_value, an ifunc's resolver called as before. (STV_PROTECTED would not
// do: glibc 2.36 still walks the scope for a protected reference; marking
// the definition itself hidden would hide it from every other object.)
// Those relocations keep their type, offset, addend and order (PLT slots
// stay right); the larger .dynsym and .gnu.version go into a new segment,
// and DT_SYMTAB and DT_VERSYM follow them. A load-time relocation
// (R_X86_64_64, or GLOB_DAT with addend 0, outside the PLT's relocations)
// against a bound definition that is neither an ifunc nor absolute instead
// becomes R_X86_64_RELATIVE with addend value + addend: the same word, no
// symbol at all, and packed into DT_RELR by --pack-relative-relocs (glibc
// spends about 6 instructions on a packed relocation, 50 on one against a
// hidden symbol). An entry no relocation names any more gets no copy.
//
// A weak reference that no object of the program's startup scope holds
// under any version (__gmon_start__, _ITM_registerTMCloneTable: a lookup
// that walks every object and finds nothing) gets a hidden copy that is
// absolute with value 0, which glibc resolves to 0 without a lookup, as
// the failed lookup did. Only GLOB_DAT and R_X86_64_64 relocations against
// it (applied at load time, before any dlopen could add a definer); never
// JUMP_SLOT (a lazy slot looks up at the first call).
//
// A definition is marked only when the proof holds for the program's
// startup scope (the program, then its DT_NEEDED libraries breadth-first):
//   - the object's relocations against the entry are GLOB_DAT, JUMP_SLOT
//     or R_X86_64_64 only (TLS and anything else: never);
//   - the entry is an exported definition with an address: not TLS, not
//     absolute, not zero (glibc's lookup would skip it), not
//     STB_GNU_UNIQUE (the unique table answers those, first definer wins);
//   - no object before it in the scope defines the name in a matching
//     version, nor holds it as an undefined symbol with a value (a non-PIC
//     executable's PLT entry standing for the function's address, or a copy
//     relocation's definition in the executable);
//   - the object itself defines it once in a matching version: this entry;
//   - a weak definition is marked only if no later object defines the name
//     (LD_DYNAMIC_WEAK=1 makes glibc go on past a weak one);
//   - the object is not DT_SYMBOLIC (it answers itself first already).
// Libraries a program opens later with dlopen come after the startup scope
// and never answer its lookups; the dlopened libraries themselves are not
// marked (their scope depends on when and how they are opened).
//
// What it trades: a marked reference no longer follows LD_PRELOAD
// interposition or an auditor's symbol binding hooks, like
// -Bsymbolic-functions. The files are for this program's scope only.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "elfopt/Edit/ElfEditor.h"
#include "elfopt/Elf/ElfFile.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace elfopt {

/// One dynamic symbol entry of the object, and its relocations.
struct SelfReference {
  std::string name;
  uint32_t symbol = 0;        ///< .dynsym index
  bool defined = false;       ///< st_shndx != SHN_UNDEF
  bool absolute = false;      ///< SHN_ABS
  bool zeroValue = false;     ///< st_value == 0 (glibc's lookup skips it)
  bool tls = false, unique = false, weak = false;
  bool localVisibility = false; ///< already protected or hidden
  std::vector<uint32_t> relocationTypes; ///< of the object's relocations against it, each once
  uint64_t relocations = 0;
};

/// Who else holds the name in the startup scope, in scope order.
struct ScopeHolder {
  uint32_t object = 0;         ///< scope index (the program is 0)
  uint32_t symbol = 0;         ///< its .dynsym index
  bool defines = false;        ///< an exported definition
  bool addressOnly = false;    ///< undefined with a value: an executable's canonical PLT entry
  bool versionMatches = false; ///< answers the reference's version
};

/// Why \p ref, an entry of object \p self, may not be bound to itself; nullopt
/// when proved. \p holders: every entry of the scope holding the name
/// (defined, or undefined with a value), in scope order, the object's own
/// included. \p symbolic: the object is DT_SYMBOLIC.
std::optional<std::string> whyNotSelfBound(const SelfReference &ref, uint32_t self,
                                           const std::vector<ScopeHolder> &holders, bool symbolic);

struct SelfBindingOptions {
  std::string program;              ///< whose startup scope the proof is for
};

struct SelfBound {
  std::string name;
  uint32_t symbol = 0;
  uint64_t relocations = 0;
  uint32_t alias = 0; ///< .dynsym index of its hidden copy (applySelfBinding)
};

/// Why \p ref, an entry of the object, may not be bound to 0 without a
/// lookup as a weak reference that no object of the startup scope answers;
/// nullopt when proved. \p heldInScope: some object of the startup scope
/// (the object itself included) holds the name as a definition or as an
/// undefined symbol with a value, in any version.
std::optional<std::string> whyNotUnresolvedBound(const SelfReference &ref, bool heldInScope);

struct SelfBindingPlan {
  std::string program;
  std::vector<std::string> scope;   ///< the startup scope, in search order
  std::optional<uint32_t> position; ///< of the object in it; none: not loaded at startup
  std::string notApplied;           ///< why nothing is bound at all, if so
  std::vector<SelfBound> bound;     ///< entries marked, .dynsym order
  uint64_t relocationsBound = 0;    ///< relocations that no longer look up
  /// Of those, made R_X86_64_RELATIVE (applySelfBinding); the rest name a
  /// hidden copy.
  uint64_t relocationsRelative = 0;
  /// Weak references that no object of the startup scope defines, bound to
  /// 0 without a lookup (each a walk of the whole scope before), .dynsym
  /// order; their relocations are not in relocationsBound.
  std::vector<SelfBound> unresolved;
  uint64_t relocationsUnresolved = 0;
  uint64_t lookupsBefore = 0, lookupsAfter = 0; ///< the object's lookups (one per run of one symbol)
  uint64_t selfAnswered = 0;        ///< relocations whose lookup the object itself answers
  /// Self-answered relocations left symbolic, by reason.
  std::vector<std::pair<std::string, uint64_t>> keptByReason;
  /// A few kept symbols with their reason, for the report (at most 20).
  std::vector<std::pair<std::string, std::string>> keptExamples;
};

/// The proof, over the files: \p object (its bytes as they are now, standing
/// in for the library of its name, or for the program itself) in
/// \p options.program's startup scope. Fatal error when a library the start
/// needs cannot be found.
SelfBindingPlan planSelfBinding(const ElfFile &object, const SelfBindingOptions &options);

/// The \p count bound definitions with the most relocations, most first
/// (ties in .dynsym order): what the reports name.
std::vector<SelfBound> busiestSelfBound(const SelfBindingPlan &plan, size_t count);

/// The new tables applySelfBinding() added.
struct AppliedSelfBinding {
  std::optional<unsigned> dynsym, versym;
};

/// Makes the load-time relocations against bound plain definitions
/// R_X86_64_RELATIVE, adds hidden copies of the entries other relocations
/// still name (filling each SelfBound::alias; 0 for none) and points those
/// relocations at them.
AppliedSelfBinding applySelfBinding(ElfEditor &editor, SelfBindingPlan &plan);
/// After editor.layout(): DT_SYMTAB and DT_VERSYM follow the new tables.
void finishSelfBinding(ElfEditor &editor, const AppliedSelfBinding &applied);

} // namespace elfopt
