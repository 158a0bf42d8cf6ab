// The inertness proof on the start-file code of Debian 12's zlib (GCC 12's
// crti, crtbeginS and a .plt.got stub), in a world the test spells out.
#include "elfopt/Target/InertCode.h"

#include <gtest/gtest.h>

#include <map>
#include <vector>

using namespace elfopt::x86_64;

namespace {

// Code at its link-time addresses.
struct Code {
  std::map<uint64_t, std::vector<uint8_t>> pieces;
  std::span<const uint8_t> at(uint64_t a) const {
    for (const auto &[start, bytes] : pieces)
      if (a >= start && a < start + bytes.size())
        return std::span<const uint8_t>(bytes).subspan(a - start);
    return {};
  }
};

// libz.so.1's _init (0x3000), __cxa_finalize@plt (.plt.got, 0x3330),
// deregister_tm_clones (0x3340), register_tm_clones (0x3370),
// __do_global_dtors_aux (0x33b0) and frame_dummy (0x33f0).
Code zlib() {
  Code c;
  c.pieces[0x3000] = {0x48, 0x83, 0xec, 0x08, 0x48, 0x8b, 0x05, 0xbd, 0xaf, 0x01, 0x00, 0x48, 0x85, 0xc0,
                      0x74, 0x02, 0xff, 0xd0, 0x48, 0x83, 0xc4, 0x08, 0xc3};
  c.pieces[0x3330] = {0xff, 0x25, 0xa2, 0xac, 0x01, 0x00, 0x66, 0x90};
  c.pieces[0x3340] = {
      0x48, 0x8d, 0x3d, 0x41, 0xae, 0x01, 0x00, 0x48, 0x8d, 0x05, 0x3a, 0xae, 0x01, 0x00, 0x48, 0x39, 0xf8, 0x74,
      0x15, 0x48, 0x8b, 0x05, 0x66, 0xac, 0x01, 0x00, 0x48, 0x85, 0xc0, 0x74, 0x09, 0xff, 0xe0, 0x0f, 0x1f, 0x80,
      0x00, 0x00, 0x00, 0x00, 0xc3, 0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00,
      // 0x3370
      0x48, 0x8d, 0x3d, 0x11, 0xae, 0x01, 0x00, 0x48, 0x8d, 0x35, 0x0a, 0xae, 0x01, 0x00, 0x48, 0x29, 0xfe, 0x48,
      0x89, 0xf0, 0x48, 0xc1, 0xee, 0x3f, 0x48, 0xc1, 0xf8, 0x03, 0x48, 0x01, 0xc6, 0x48, 0xd1, 0xfe, 0x74, 0x14,
      0x48, 0x8b, 0x05, 0x35, 0xac, 0x01, 0x00, 0x48, 0x85, 0xc0, 0x74, 0x08, 0xff, 0xe0, 0x66, 0x0f, 0x1f, 0x44,
      0x00, 0x00, 0xc3, 0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00,
      // 0x33b0
      0xf3, 0x0f, 0x1e, 0xfa, 0x80, 0x3d, 0xcd, 0xad, 0x01, 0x00, 0x00, 0x75, 0x2b, 0x55, 0x48, 0x83, 0x3d, 0x12,
      0xac, 0x01, 0x00, 0x00, 0x48, 0x89, 0xe5, 0x74, 0x0c, 0x48, 0x8b, 0x3d, 0xae, 0xad, 0x01, 0x00, 0xe8, 0x59,
      0xff, 0xff, 0xff, 0xe8, 0x64, 0xff, 0xff, 0xff, 0xc6, 0x05, 0xa5, 0xad, 0x01, 0x00, 0x01, 0x5d, 0xc3, 0x0f,
      0x1f, 0x00, 0xc3, 0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00,
      // 0x33f0
      0xf3, 0x0f, 0x1e, 0xfa, 0xe9, 0x77, 0xff, 0xff, 0xff};
  return c;
}

constexpr uint64_t ItmDeregister = 0x1dfc0, GmonStart = 0x1dfc8, ItmRegister = 0x1dfd0, CxaFinalizeGot = 0x1dfd8;
constexpr uint64_t DsoHandle = 0x1e180, Completed = 0x1e188;
constexpr uint64_t Unmapped = 0x100000; // the object ends below
constexpr uint64_t CxaFinalize = 22; // its dynamic symbol number

struct Fixture {
  Code code = zlib();
  std::map<uint64_t, Value> words{{ItmDeregister, Value::constant(0)},
                                  {GmonStart, Value::constant(0)},
                                  {ItmRegister, Value::constant(0)},
                                  {CxaFinalizeGot, Value::import(CxaFinalize)},
                                  {DsoHandle, Value::constant(DsoHandle)}};
  bool completedIsPrivate = true, finalizeIsInert = true;
  std::vector<Value> finalizeArguments;

  InertWorld world() {
    InertWorld w;
    w.code = [this](uint64_t a) { return code.at(a); };
    w.load = [this](uint64_t a, unsigned size) -> std::optional<Value> {
      if (a >= Unmapped)
        return std::nullopt;
      auto it = words.find(a);
      return it != words.end() && size == 8 ? it->second : Value{};
    };
    w.privateStore = [this](uint64_t a, unsigned size) { return completedIsPrivate && a == Completed && size == 1; };
    w.whyCallHasEffect = [this](uint64_t import, const Value &rdi) -> std::optional<std::string> {
      finalizeArguments.push_back(rdi);
      if (import == CxaFinalize && finalizeIsInert)
        return std::nullopt;
      return std::string("a call to import ") + std::to_string(import);
    };
    return w;
  }
  std::optional<std::string> why(uint64_t entry) {
    Decoder decoder;
    InertWorld w = world();
    return whyNotInert(decoder, entry, w);
  }
};

} // namespace

TEST(InertCode, StartFilesOfALibraryDoNothing) {
  Fixture f;
  EXPECT_EQ(f.why(0x3000), std::nullopt); // _init: no __gmon_start__
  EXPECT_EQ(f.why(0x33f0), std::nullopt); // frame_dummy: no clones to register
  EXPECT_EQ(f.why(0x33b0), std::nullopt); // __do_global_dtors_aux
  // __cxa_finalize was asked about with the object's own handle.
  ASSERT_FALSE(f.finalizeArguments.empty());
  EXPECT_EQ(f.finalizeArguments.back(), Value::constant(DsoHandle));
}

TEST(InertCode, AProfilerMakesInitCallIt) {
  Fixture f;
  f.words[GmonStart] = Value::import(13); // some object defines __gmon_start__
  EXPECT_EQ(f.why(0x3000), "a call to import 13 at 0x3010");
  f.words[GmonStart] = Value{}; // unknown: both paths, one calls an unknown target
  EXPECT_EQ(f.why(0x3000), "a call to an unknown target at 0x3010");
}

TEST(InertCode, TransactionalCloneTablesAreCalledWhenPresent) {
  Fixture f;
  // __TMC_LIST__ and __TMC_END__ are equal here, so the table is never
  // looked at: even a defined _ITM_registerTMCloneTable is not called.
  f.words[ItmRegister] = Value::import(5);
  EXPECT_EQ(f.why(0x33f0), std::nullopt);
  // Once the list is not empty, it would be.
  // lea __TMC_END__ 16 bytes further: one entry (a pair of pointers).
  f.code.pieces[0x3340][0x3370 - 0x3340 + 10] = 0x1a;
  EXPECT_EQ(f.why(0x33f0), "a call to import 5 at 0x33a0");
}

TEST(InertCode, DestructorsNeedAPrivateFlagAndAnInertFinalize) {
  Fixture f;
  f.finalizeIsInert = false;
  EXPECT_EQ(f.why(0x33b0), "a call to import 22 at 0x3330");
  f.finalizeIsInert = true;
  f.completedIsPrivate = false;
  EXPECT_EQ(f.why(0x33b0), "a store the proof cannot show private at 0x33dc");
}

TEST(InertCode, WhatItDoesNotModelIsNotProved) {
  Fixture f;
  // Control leaves the known code.
  EXPECT_EQ(f.why(0x5000), "control leaves the object's code at 0x5000");
  // An instruction outside the model: cpuid.
  f.code.pieces[0x6000] = {0x0f, 0xa2, 0xc3};
  EXPECT_EQ(f.why(0x6000), "an instruction the proof does not model (CPUID) at 0x6000");
  // A store to the caller's frame: mov %rax, 8(%rsp); ret.
  f.code.pieces[0x6100] = {0x48, 0x89, 0x44, 0x24, 0x08, 0xc3};
  EXPECT_EQ(f.why(0x6100), "a store the proof cannot show private at 0x6100");
  // A clobbered callee-saved register: xor %ebx, %ebx; ret.
  f.code.pieces[0x6200] = {0x31, 0xdb, 0xc3};
  EXPECT_EQ(f.why(0x6200), "a callee-saved register not restored at 0x6202");
  // A load that could fault: mov 0x100000(%rip), %rax; ret.
  f.code.pieces[0x6400] = {0x48, 0x8b, 0x05, 0x00, 0x00, 0x10, 0x00, 0xc3};
  EXPECT_EQ(f.why(0x6400), "a load from an address the proof cannot follow at 0x6400");
  // An endless loop: jmp .
  f.code.pieces[0x6300] = {0xeb, 0xfe};
  EXPECT_EQ(f.why(0x6300), "more than 2000 instructions to follow");
}
