//===- Support.h - helpers the unit tests share -----------------*- C++ -*-===//
//
// What more than one test file needs: the message of the error a call
// stops with, and the ELF header of a file built here byte by byte.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "elfopt/Elf/ElfFile.h"
#include "elfopt/Support/Diagnostics.h"

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <optional>
#include <string>

namespace elfopt::test {

/// The message of the FatalError \p f stops with, or "no error". With
/// \p code, the error's exit code is expected to be that one.
inline std::string messageOf(const std::function<void()> &f, std::optional<ExitCode> code = {}) {
  try {
    f();
  } catch (const FatalError &e) {
    if (code) {
      EXPECT_EQ(e.code, *code);
    }
    return e.what();
  }
  return "no error";
}

/// An ELF64 little-endian x86-64 header of type \p type (ET_EXEC, ET_DYN)
/// with the sizes of its own tables' entries; the caller sets the entry
/// point, the tables' offsets and counts.
inline Ehdr elfHeader(uint16_t type) {
  Ehdr eh{};
  std::memcpy(eh.e_ident, "\x7f" "ELF\x02\x01\x01", 7);
  eh.e_type = type;
  eh.e_machine = llvm::ELF::EM_X86_64;
  eh.e_version = 1;
  eh.e_ehsize = sizeof(Ehdr);
  eh.e_phentsize = sizeof(Phdr);
  eh.e_shentsize = sizeof(Shdr);
  return eh;
}

} // namespace elfopt::test
