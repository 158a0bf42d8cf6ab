//===- Constructors.h - which constructors and destructors can be seen -*- C++ -*-===//
//
// Whether an object's constructors (DT_INIT, DT_INIT_ARRAY) and destructors
// (DT_FINI_ARRAY, DT_FINI) can have an effect another object sees. When
// they cannot, the order glibc runs them in does not matter, and the scope
// order may change it. The proof is x86_64::whyNotInert's, over a world
// built from the file and from who answers its imports:
//   - a word the loader fills (an allocated relocation) reads as the loader
//     fills it when it is read-only after relocation (RELRO) or hidden (no
//     dynamic symbol covers it); an import that nobody in the scope defines
//     reads as 0 when it is weak;
//   - read-only data reads as the file holds it; other writable memory is
//     unknown; an address outside the object's sections cannot be read;
//   - a store is private when it falls in writable, non-RELRO memory that
//     no dynamic symbol covers and no relocation fills;
//   - a hidden word read, or a private byte written, must be named by no
//     code of the object outside the instructions the proof went through
//     (every 4 bytes of code read as a displacement) and by no relocated
//     pointer: C code reaches a static variable through its own address;
//   - the only import that may be called is glibc's __cxa_finalize, with an
//     address inside the object as its handle, by an object that imports
//     none of the functions that register a handler under a handle
//     (__cxa_atexit, atexit, __cxa_at_quick_exit, at_quick_exit,
//     __register_atfork, pthread_atfork, __cxa_thread_atexit_impl): with
//     nothing registered under it, __cxa_finalize runs nothing.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "elfopt/Elf/ElfFile.h"

#include <functional>
#include <optional>
#include <string>

namespace elfopt {

struct ConstructorEffects {
  bool hasInit = false, hasFini = false;  ///< DT_INIT or DT_INIT_ARRAY; DT_FINI or DT_FINI_ARRAY
  std::optional<std::string> initEffect;  ///< why its constructors may be seen; nullopt: proved not
  std::optional<std::string> finiEffect;  ///< the same for its destructors
};

/// \p definer: the soname (else file name) of the object that answers
/// \p object's dynamic symbol number \p symbol, or nullopt when none does.
ConstructorEffects constructorEffects(
    const ElfFile &object, const std::function<std::optional<std::string>(uint64_t symbol)> &definer);

} // namespace elfopt
