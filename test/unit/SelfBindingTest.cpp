// The proof of --bind-self on scopes written out here: which of an object's
// own definitions may bind without a lookup, and the exact reason for each
// one that may not.
#include "elfopt/Scope/SelfBinding.h"

#include <gtest/gtest.h>

using namespace elfopt;
using namespace llvm::ELF;

namespace {

// Entry 7 of object 2, a function defined there, called through its PLT.
SelfReference function() {
  SelfReference r;
  r.name = "f";
  r.symbol = 7;
  r.defined = true;
  r.relocationTypes = {R_X86_64_JUMP_SLOT};
  r.relocations = 1;
  return r;
}

ScopeHolder definition(uint32_t object, uint32_t symbol, bool versionMatches = true) {
  ScopeHolder h;
  h.object = object;
  h.symbol = symbol;
  h.defines = true;
  h.versionMatches = versionMatches;
  return h;
}

ScopeHolder self() { return definition(2, 7); }

std::string why(const SelfReference &r, const std::vector<ScopeHolder> &holders, bool symbolic = false) {
  return whyNotSelfBound(r, 2, holders, symbolic).value_or("bound");
}

} // namespace

TEST(SelfBinding, OnlyDefinerIsBound) {
  EXPECT_EQ(why(function(), {self()}), "bound");
  SelfReference data = function();
  data.relocationTypes = {R_X86_64_GLOB_DAT, R_X86_64_64};
  EXPECT_EQ(why(data, {self()}), "bound");
}

TEST(SelfBinding, InterposerEarlierInScopeKeepsTheLookup) {
  EXPECT_EQ(why(function(), {definition(1, 3), self()}), "defined earlier in the scope (interposed)");
  // The program (object 0) defining it interposes too.
  EXPECT_EQ(why(function(), {definition(0, 12), self()}), "defined earlier in the scope (interposed)");
  // A later definer never answers first.
  EXPECT_EQ(why(function(), {self(), definition(3, 9)}), "bound");
}

TEST(SelfBinding, EarlierDefinitionOfAnotherVersionDoesNotAnswer) {
  // libb defines f@V1 only; the object's reference asks for f@V2.
  EXPECT_EQ(why(function(), {definition(1, 3, /*versionMatches=*/false), self()}), "bound");
  // Its own entry must answer its own version.
  EXPECT_EQ(why(function(), {definition(2, 7, false)}), "its own lookup does not find this entry");
  // Two entries of the object match: glibc's chain order decides, not proved.
  EXPECT_EQ(why(function(), {definition(2, 5), self()}), "defined twice in the object in matching versions");
}

TEST(SelfBinding, CopyRelocationOrCanonicalAddressInTheProgram) {
  // A copy relocation defines the variable in the program.
  SelfReference data = function();
  data.relocationTypes = {R_X86_64_GLOB_DAT};
  EXPECT_EQ(why(data, {definition(0, 4), self()}), "defined earlier in the scope (interposed)");
  // A non-PIC program's PLT entry stands for the function's address.
  ScopeHolder plt;
  plt.object = 0;
  plt.symbol = 4;
  plt.addressOnly = true;
  EXPECT_EQ(why(function(), {plt, self()}),
            "an earlier object holds it undefined with an address (a canonical PLT entry or a copy)");
}

TEST(SelfBinding, UniqueSymbolIsNeverBound) {
  SelfReference r = function();
  r.unique = true;
  EXPECT_EQ(why(r, {self()}), "STB_GNU_UNIQUE: the first definer in the process answers");
}

TEST(SelfBinding, ProtectedSymbolIsAlreadyLocal) {
  SelfReference r = function();
  r.localVisibility = true;
  EXPECT_EQ(why(r, {self()}), "already protected or hidden");
}

TEST(SelfBinding, TlsAbsoluteAndOtherRelocationsAreKept) {
  SelfReference tls = function();
  tls.tls = true;
  tls.relocationTypes = {R_X86_64_DTPMOD64};
  EXPECT_EQ(why(tls, {self()}), "thread-local: never bound here");
  SelfReference abs = function();
  abs.absolute = true;
  EXPECT_EQ(why(abs, {self()}), "absolute, or value 0 (glibc's lookup skips it)");
  SelfReference zero = function();
  zero.zeroValue = true;
  EXPECT_EQ(why(zero, {self()}), "absolute, or value 0 (glibc's lookup skips it)");
  SelfReference pc = function();
  pc.relocationTypes = {R_X86_64_JUMP_SLOT, R_X86_64_PC32};
  EXPECT_EQ(why(pc, {self()}), "a relocation type other than GLOB_DAT, JUMP_SLOT and R_X86_64_64");
}

TEST(SelfBinding, WeakDefinitionWithALaterDefinerIsKept) {
  SelfReference weak = function();
  weak.weak = true;
  EXPECT_EQ(why(weak, {self()}), "bound");
  EXPECT_EQ(why(weak, {self(), definition(4, 2)}),
            "weak, and defined again later in the scope (LD_DYNAMIC_WEAK=1 would pick that)");
}

TEST(SelfBinding, SymbolicObjectsAndUndefinedEntries) {
  EXPECT_EQ(why(function(), {self()}, /*symbolic=*/true), "the object is DT_SYMBOLIC: it answers itself first already");
  SelfReference undefined = function();
  undefined.defined = false;
  EXPECT_EQ(why(undefined, {self()}), "not defined by the object");
}

TEST(SelfBinding, WeakReferenceNobodyDefinesIsBoundToZero) {
  // __gmon_start__: weak, undefined, read through the GOT.
  SelfReference weak;
  weak.name = "__gmon_start__";
  weak.symbol = 3;
  weak.weak = true;
  weak.relocationTypes = {R_X86_64_GLOB_DAT};
  weak.relocations = 1;
  auto why0 = [](const SelfReference &r, bool held) { return whyNotUnresolvedBound(r, held).value_or("bound"); };
  EXPECT_EQ(why0(weak, false), "bound");
  weak.relocationTypes = {R_X86_64_GLOB_DAT, R_X86_64_64};
  EXPECT_EQ(why0(weak, false), "bound");
  // Someone in the scope holds the name: its lookup finds it.
  EXPECT_EQ(why0(weak, true), "an object of the scope holds the name");
  // A lazy PLT slot looks up at the first call, after a dlopen may have
  // added a definer.
  weak.relocationTypes = {R_X86_64_JUMP_SLOT};
  EXPECT_EQ(why0(weak, false), "weak and defined nowhere, but a relocation other than GLOB_DAT and R_X86_64_64 (a "
                               "lazy PLT slot looks up later) is against it");
  weak.relocationTypes = {R_X86_64_GLOB_DAT};
  // Not weak: a start with no definer fails; TLS: never.
  SelfReference strong = weak;
  strong.weak = false;
  EXPECT_EQ(why0(strong, false), "not weak: the start fails without a definer");
  SelfReference tls = weak;
  tls.tls = true;
  EXPECT_EQ(why0(tls, false), "thread-local: never bound here");
  SelfReference defined = weak;
  defined.defined = true;
  EXPECT_EQ(why0(defined, false), "defined by the object");
}
