//===- VerifySelfBinding.h - check references bound to their own object -*- C++ -*-===//
//
// `rewrite --bind-self` points relocations at hidden copies of .dynsym
// definitions where the program's scope proves the object answers its own
// lookups. This check
// shares no code with the planner's proof but the scope's object list
// (loadStartupScope) and the readers of symbols and versions. It looks each
// marked name up as glibc's do_lookup_x does, through each object's own hash
// table (.gnu.hash, else .hash, from the dynamic tags; the Bloom filter
// included), object after object in scope order:
//   - the output's .dynsym (DT_SYMTAB) and .gnu.version (DT_VERSYM) begin
//     with the input's, unchanged; each added entry is a copy of a
//     default-visibility entry but for STV_HIDDEN (and, for an undefined
//     one, SHN_ABS with value 0), with its version;
//   - each relocation section is the same, entry by entry, but for the
//     symbol of relocations against a copied entry, which name the copy,
//     and load-time relocations (R_X86_64_64, GLOB_DAT with addend 0, not
//     in DT_JMPREL's section) against a default-visibility definition that
//     is neither an ifunc nor absolute, made R_X86_64_RELATIVE with addend
//     value + addend (the word the lookup's answer gave);
//   - no object before the marked one answers the name (a definition of a
//     matching version, or an undefined symbol with an address: glibc's
//     lookups for GLOB_DAT take those), and in the marked object the lookup
//     finds exactly the marked entry, so that binding it locally loads the
//     value the lookup gave;
//   - the object's relocations against the entry are GLOB_DAT, JUMP_SLOT or
//     R_X86_64_64, the entry is neither TLS nor STB_GNU_UNIQUE, and a weak
//     one is defined by no object after it;
//   - a copy of an undefined entry is absolute with value 0: the entry is a
//     weak, non-TLS reference with GLOB_DAT and R_X86_64_64 relocations
//     only, and no object of the scope has an entry the lookup would take.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "elfopt/Elf/ElfFile.h"

#include <cstdint>
#include <string>
#include <vector>

namespace elfopt {

struct SelfBindingVerifyReport {
  uint64_t marked = 0;   ///< entries copied, each looked up again
  uint64_t unresolved = 0; ///< of those, weak references bound to 0
  uint64_t relocations = 0; ///< relocations against them
  std::vector<std::string> problems;
  bool ok() const { return problems.empty(); }
};

/// \p before: the object as it was; \p after: with definitions marked;
/// \p program: the program whose startup scope the marks are for.
SelfBindingVerifyReport verifySelfBinding(const ElfFile &before, const ElfFile &after, const std::string &program);

} // namespace elfopt
