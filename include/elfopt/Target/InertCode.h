//===- InertCode.h - prove that a function does nothing others can see -*- C++ -*-===//
//
// glibc runs each object's constructors and destructors in an order that a
// new DT_NEEDED order can change, so objects that have them cannot swap.
// Almost every library has some from the toolchain's start files: crti's
// _init (DT_INIT), frame_dummy (.init_array), __do_global_dtors_aux
// (.fini_array). At run time most do nothing: no profiler defines
// __gmon_start__, no transactional-memory clones are registered, nothing
// was registered with __cxa_atexit. Proving that frees the library to move.
//
// The proof runs the function over abstract values. A register holds a
// known constant, an address in the function's own stack frame, the address
// of an imported symbol, the caller's value of a register, or something
// unknown. A conditional branch on a known comparison goes one way; on an
// unknown one, both ways. The function is inert when every path returns to
// its caller with the stack and the callee-saved registers as they were,
// having written only its own frame and bytes the world calls private, and
// having called only imports the world calls inert. Anything else (an
// instruction the interpreter does not know, an unknown call or jump
// target, a store elsewhere, more paths or steps than a small budget) is a
// reason, and the function is not proved inert.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "elfopt/Target/X86Decoder.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace elfopt::x86_64 {

struct Value {
  enum Kind : uint8_t {
    Unknown,
    Constant, ///< n: the value (addresses are link-time addresses)
    Stack,    ///< n: offset from the stack pointer at entry (two's complement)
    Import,   ///< n: the world's number for an imported symbol; never 0
    Entry,    ///< n: the caller's value of register family n
  };
  Kind kind = Unknown;
  uint64_t n = 0;
  static Value constant(uint64_t v) { return {Constant, v}; }
  static Value import(uint64_t i) { return {Import, i}; }
  bool operator==(const Value &) const = default;
};

/// What the interpreter knows of the object around the function.
struct InertWorld {
  /// Executable bytes from \p address to the end of its section; empty when
  /// \p address is not code of the object.
  std::function<std::span<const uint8_t>(uint64_t address)> code;
  /// The value a load of \p size bytes at \p address reads whenever the
  /// function could run: what the loader put there, read-only data, or
  /// Unknown; nullopt when the address may not be mapped (the load could
  /// fault).
  std::function<std::optional<Value>(uint64_t address, unsigned size)> load;
  /// Whether a store there can only be seen by this object's own code.
  std::function<bool(uint64_t address, unsigned size)> privateStore;
  /// Why calling import \p import with first argument \p rdi could have an
  /// effect; nullopt when it has none.
  std::function<std::optional<std::string>(uint64_t import, const Value &rdi)> whyCallHasEffect;
};

/// Why the function at \p entry may have an effect, or nullopt when it is
/// proved inert. \p visited, when given, gets the [start, end) of every
/// instruction the proof went through: what the world called private must
/// not be used by code outside them.
std::optional<std::string> whyNotInert(const Decoder &decoder, uint64_t entry, const InertWorld &world,
                                       std::vector<std::pair<uint64_t, uint64_t>> *visited = nullptr);

} // namespace elfopt::x86_64
