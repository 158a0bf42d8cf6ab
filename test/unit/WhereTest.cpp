//===- WhereTest.cpp - ElfFile::where and whereAddress --------------------===//
//
// Places in messages, as lld writes them: "file:(.section+0xOFF)", then
// " in FUNCTION" when a function applies.
//
//===----------------------------------------------------------------------===//
#include "Support.h"

#include <vector>

using namespace llvm::ELF;

namespace elfopt {
namespace {

using test::elfHeader;

struct Input {
  const char *name;
  uint32_t type;
  uint64_t flags, addr, size;
};

// Section headers only (no program headers); each section's bytes, zero,
// at its own offset from 0x100 (none for SHT_NOBITS).
std::unique_ptr<ElfFile> fileWith(const std::vector<Input> &inputs) {
  std::vector<uint8_t> out(0x100, 0);
  std::string names(1, '\0');
  std::vector<Shdr> headers(1);
  for (const Input &in : inputs) {
    Shdr s{};
    s.sh_name = uint32_t(names.size());
    names += in.name + std::string(1, '\0');
    s.sh_type = in.type;
    s.sh_flags = in.flags;
    s.sh_addr = in.addr;
    s.sh_offset = out.size();
    s.sh_size = in.size;
    s.sh_addralign = 1;
    if (in.type != SHT_NOBITS)
      out.resize(out.size() + in.size, 0);
    headers.push_back(s);
  }
  Shdr strtab{};
  strtab.sh_name = uint32_t(names.size());
  names += ".shstrtab";
  names += '\0';
  strtab.sh_type = SHT_STRTAB;
  strtab.sh_offset = out.size();
  strtab.sh_size = names.size();
  strtab.sh_addralign = 1;
  out.insert(out.end(), names.begin(), names.end());
  out.resize((out.size() + 7) & ~size_t(7), 0);
  headers.push_back(strtab);
  Ehdr eh = elfHeader(ET_DYN);
  eh.e_shoff = out.size();
  eh.e_shnum = uint16_t(headers.size());
  eh.e_shstrndx = uint16_t(headers.size() - 1);
  std::memcpy(out.data(), &eh, sizeof eh);
  size_t at = out.size();
  out.resize(at + headers.size() * sizeof(Shdr));
  std::memcpy(out.data() + at, headers.data(), headers.size() * sizeof(Shdr));
  return ElfFile::fromBytes("app", out);
}

std::unique_ptr<ElfFile> usualFile() {
  return fileWith({
      {".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, 0x1000, 0x100},
      {".tdata", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE | SHF_TLS, 0x2000, 0x10},
      {".tbss", SHT_NOBITS, SHF_ALLOC | SHF_WRITE | SHF_TLS, 0x2010, 0x20},
      {".data", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, 0x2010, 0x40},
      {".bss", SHT_NOBITS, SHF_ALLOC | SHF_WRITE, 0x2050, 0x30},
      {".comment", SHT_PROGBITS, 0, 0, 0x40},
  });
}

TEST(Where, SectionOffsetAndFunction) {
  auto f = usualFile();
  const Section &text = *f->findSection(".text");
  EXPECT_EQ(f->where(text), "app:(.text)");
  EXPECT_EQ(f->where(text, 0), "app:(.text+0x0)");
  EXPECT_EQ(f->where(text, 0x4a1), "app:(.text+0x4a1)");
  EXPECT_EQ(f->where(text, 0x4a1, "bar"), "app:(.text+0x4a1) in bar");
  EXPECT_EQ(f->where(text, {}, "bar"), "app:(.text) in bar");
  EXPECT_EQ(f->where(*f->findSection(".comment"), 0x10), "app:(.comment+0x10)");
}

TEST(Where, AnAddressIsNamedByTheSectionHoldingIt) {
  auto f = usualFile();
  EXPECT_EQ(f->whereAddress(0x1000), "app:(.text+0x0)");
  EXPECT_EQ(f->whereAddress(0x10ff, "main"), "app:(.text+0xff) in main");
  EXPECT_EQ(f->whereAddress(0x2008), "app:(.tdata+0x8)");
  EXPECT_EQ(f->whereAddress(0x2010), "app:(.data+0x0)"); // not .tbss, which takes no addresses
  EXPECT_EQ(f->whereAddress(0x2060), "app:(.bss+0x10)");
}

TEST(Where, AnAddressNoSectionHoldsIsPrintedAsIs) {
  auto f = usualFile();
  EXPECT_EQ(f->whereAddress(0x1100), "app:(0x1100)"); // one past .text
  EXPECT_EQ(f->whereAddress(0x10), "app:(0x10)");     // .comment is not loaded
  EXPECT_EQ(f->whereAddress(0x9000, "f"), "app:(0x9000) in f");
}

} // namespace
} // namespace elfopt
